//go:build unix

package filestore

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// fileLock is an exclusive flock(2) on a lock file. The kernel releases it
// when the descriptor is closed, also when the process dies.
type fileLock struct{ f *os.File }

// lockFile creates (if needed) and locks path without waiting.
func lockFile(path string) (*fileLock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("filestore: creating the lock file: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (%s is locked)", ErrLocked, path)
		}
		return nil, fmt.Errorf("filestore: locking %s: %w", path, err)
	}
	return &fileLock{f: f}, nil
}

// release unlocks (by closing the descriptor). The lock file stays:
// removing it would let two processes lock two different files.
func (l *fileLock) release() { l.f.Close() }
