package filestore

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain runs the child side of the restart test when asked to (see
// restart_test.go), and otherwise the tests, failing if any goroutine is
// left when they end.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" || os.Getenv(readOnlyEnv) != "" {
		os.Exit(runChild())
	}
	goleak.VerifyTestMain(m)
}
