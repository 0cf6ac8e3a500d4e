//go:build !unix

package filestore

import (
	"fmt"
	"runtime"
)

// fileLock would lock the state file; this platform has no flock(2).
type fileLock struct{}

// lockFile fails: without a lock, two processes could overwrite each
// other's state unnoticed.
func lockFile(string) (*fileLock, error) {
	return nil, fmt.Errorf("filestore: file locking is not implemented on %s", runtime.GOOS)
}

func (*fileLock) release() {}
