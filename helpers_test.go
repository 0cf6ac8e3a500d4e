package breaker

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlabs/breaker/engine"
	"github.com/breakerlabs/breaker/events"
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

// acquireStorm releases n goroutines together on c. Each spins on Acquire
// while c rejects with ErrOpen (for at most 10 s: a hang guard, not
// synchronisation) and stops at its first admission or ErrTooManyProbes.
// release runs right after the start signal, while they spin (it moves a
// mock clock past the open deadline, say). It returns the admitted permits
// and how many goroutines ended with ErrTooManyProbes or any other error.
func acquireStorm(t *testing.T, c Circuit, n int, release func()) (admitted []Permit, tooMany, other int64) {
	t.Helper()
	var (
		start           = make(chan struct{})
		wg              sync.WaitGroup
		mu              sync.Mutex
		nTooMany, nElse atomic.Int64
	)
	for range n {
		wg.Go(func() {
			<-start
			giveUp := time.Now().Add(10 * time.Second)
			for {
				p, err := c.Acquire(context.Background())
				switch {
				case err == nil:
					mu.Lock()
					admitted = append(admitted, p)
					mu.Unlock()
					return
				case errors.Is(err, ErrTooManyProbes):
					nTooMany.Add(1)
					return
				case errors.Is(err, ErrOpen) && time.Now().Before(giveUp):
					runtime.Gosched() // the deadline has not passed yet
				default:
					nElse.Add(1)
					return
				}
			}
		})
	}
	close(start)
	if release != nil {
		release()
	}
	waitFor(t, "the latched Acquires", 20*time.Second, wg.Wait)
	return admitted, nTooMany.Load(), nElse.Load()
}

// checkDistinctProbes fails the test unless every permit is a half-open
// probe and no two share an epoch and probe number.
func checkDistinctProbes(t *testing.T, what string, permits []Permit) {
	t.Helper()
	seen := map[engine.Ticket]bool{}
	for _, p := range permits {
		k := p.ticket()
		if p.probe == 0 || seen[k] {
			t.Errorf("%s: admitted permit %+v is not a distinct probe", what, p)
		}
		seen[k] = true
	}
}

// subscriber is implemented by both breakers (Subscribe is not part of
// Circuit).
type subscriber interface {
	Subscribe(opts ...events.Option) *events.Subscription
}
