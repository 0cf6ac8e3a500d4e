package breakerredis

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any goroutine outlives the tests: a Watch
// session, its receiver, a client's pool. Each test closes its stores and
// clients (and stops its redis-server) in t.Cleanup.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
