package breakerhttp_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test must leave no goroutine behind: no breaker actor, no
// connection, no server.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
