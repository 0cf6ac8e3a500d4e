package breaker

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's test run if any goroutine is still running
// once every test has finished (and passed): an actor, a timer callback, a
// coarse-clock refresher or a test helper that outlived its Close. It does
// not say which test leaked; the serial goleak tests in close_test.go check the
// lifecycles one at a time with goleak.VerifyNone.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
