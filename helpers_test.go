package breaker

import (
	"testing"
	"time"

	"github.com/benbjohnson/clock"
)

// impl is one implementation of Circuit under test. Every behavioural test
// runs over impls, as go.uber.org/ratelimit does for its limiters.
type impl struct {
	name string
	new  func(name string, cfg Config, opts ...Option) (Circuit, error)
}

var impls = []impl{
	{"actor", func(n string, c Config, o ...Option) (Circuit, error) { return New(n, c, o...) }},
	{"mutex", func(n string, c Config, o ...Option) (Circuit, error) { return NewMutex(n, c, o...) }},
}

// forEachImpl runs f as a subtest for every implementation.
func forEachImpl(t *testing.T, f func(t *testing.T, im impl)) {
	t.Helper()
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) { f(t, im) })
	}
}

// newMocked builds a circuit of im on a fresh mock clock and closes it at
// the end of the test.
func newMocked(t *testing.T, im impl, cfg Config) (Circuit, *clock.Mock) {
	t.Helper()
	mk := clock.NewMock()
	c, err := im.new("test", cfg, WithClock(mk))
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c, mk
}

// settle waits until c has applied everything sent to it so far: for the
// actor, every message, pending trip nudge and due timeout; the mutex
// variant applies everything synchronously.
func settle(c Circuit) {
	if b, ok := c.(*Breaker); ok {
		b.settle()
	}
}

// advance moves the mock clock and settles c.
func advance(c Circuit, mk *clock.Mock, d time.Duration) {
	mk.Add(d)
	settle(c)
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
