//go:build unix

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/breakerlabs/breaker"
)

// lockedBuffer is a bytes.Buffer safe for the reload goroutine and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// SIGHUP re-reads the -config file: a good one is applied to the live
// breaker, a bad one changes nothing and says why.
func TestReloadOnHangup(t *testing.T) {
	path := filepath.Join(t.TempDir(), "breakers.json")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	sup := breaker.NewSupervisor()
	defer sup.Close()
	b, err := sup.GetOrCreate(breakerName, breaker.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	var out lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	stop := reloadOnHangup(ctx, &out, path, sup)
	defer func() { cancel(); stop() }()

	hangup := func(want string) {
		t.Helper()
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(out.String(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q within 10s of SIGHUP; output:\n%s", want, out.String())
			}
			time.Sleep(time.Millisecond)
		}
	}
	write(`{"breakers": {"backend": {"failureRate": 0.3}}}`)
	hangup("reloaded: failure rate 30%")
	if got := b.Config().FailureRate; got != 0.3 {
		t.Fatalf("after a reload: FailureRate %v, want 0.3", got)
	}
	write(`{"breakers": {"backend": {"failureRate": 3}}}`)
	hangup("not reloaded, nothing changed")
	if got := b.Config().FailureRate; got != 0.3 {
		t.Fatalf("a bad file changed FailureRate to %v", got)
	}
	if !strings.Contains(out.String(), "breakers.backend.failureRate: must be in (0,1], got 3") {
		t.Fatalf("the error does not name the field:\n%s", out.String())
	}
}
