package breaker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/benbjohnson/clock"
)

// recObserver records every observer call as one line, with the value the
// caller's context carried under obsKey.
type recObserver struct {
	mu    sync.Mutex
	calls []string
	errs  []error
}

type obsKey struct{}

func (r *recObserver) Admitted(ctx context.Context, name string, s State, probe bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, fmt.Sprintf("admitted %s %v probe=%v ctx=%v", name, s, probe, ctx.Value(obsKey{})))
}

func (r *recObserver) Rejected(ctx context.Context, name string, s State, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, fmt.Sprintf("rejected %s %v ctx=%v", name, s, ctx.Value(obsKey{})))
	r.errs = append(r.errs, err)
}

// take returns the calls recorded so far and forgets them.
func (r *recObserver) take() ([]string, []error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, e := r.calls, r.errs
	r.calls, r.errs = nil, nil
	return c, e
}

func newObserved(t *testing.T, im impl, cfg Config, o CallObserver) (Circuit, *clock.Mock) {
	t.Helper()
	mk := clock.NewMock()
	c, err := im.new("obs", cfg, WithClock(mk), WithCallObserver(o))
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c, mk
}

// TestCallObserverSeesEveryAcquire drives a breaker through every state and
// checks that each Acquire made exactly one observer call, with the
// caller's context, the state the decision was made in, the probe flag and
// the error Acquire returned.
func TestCallObserverSeesEveryAcquire(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		rec := &recObserver{}
		c, mk := newObserved(t, im, testConfig(), rec)
		ctx := context.WithValue(context.Background(), obsKey{}, "caller")
		acquire := func() (Permit, error) { return c.Acquire(ctx) }
		want := func(what string, wantCalls ...string) []error {
			t.Helper()
			got, errs := rec.take()
			if strings.Join(got, "\n") != strings.Join(wantCalls, "\n") {
				t.Fatalf("%s: observer calls\n%s\nwant\n%s", what, strings.Join(got, "\n"), strings.Join(wantCalls, "\n"))
			}
			return errs
		}

		for range 3 {
			p, err := acquire()
			if err != nil {
				t.Fatal(err)
			}
			p.Failure()
		}
		settle(c)
		want("closed", "admitted obs closed probe=false ctx=caller",
			"admitted obs closed probe=false ctx=caller", "admitted obs closed probe=false ctx=caller")

		_, err := acquire()
		errs := want("open", "rejected obs open ctx=caller")
		if !errors.Is(err, ErrOpen) || errs[0] != err {
			t.Fatalf("open: Acquire returned %v, observer saw %v", err, errs[0])
		}

		advance(c, mk, testOpenTimeout)
		probe, err := acquire()
		if err != nil {
			t.Fatal(err)
		}
		_, err = acquire()
		errs = want("half-open", "admitted obs half-open probe=true ctx=caller", "rejected obs half-open ctx=caller")
		if !errors.Is(err, ErrTooManyProbes) || errs[0] != err {
			t.Fatalf("half-open: Acquire returned %v, observer saw %v", err, errs[0])
		}
		probe.Success()
		settle(c)

		c.ForceOpen()
		_, err = acquire()
		errs = want("forced-open", "rejected obs forced-open ctx=caller")
		var oe *OpenError
		if !errors.As(errs[0], &oe) || !oe.Until.IsZero() || errs[0] != err {
			t.Fatalf("forced-open: observer saw %v, Acquire returned %v", errs[0], err)
		}

		c.Disable()
		p, err := acquire()
		if err != nil {
			t.Fatal(err)
		}
		p.Success()
		want("disabled", "admitted obs disabled probe=false ctx=caller")

		c.Close()
		_, err = acquire()
		errs = want("stopped", "rejected obs disabled ctx=caller")
		if err != ErrStopped || errs[0] != ErrStopped {
			t.Fatalf("stopped: Acquire returned %v, observer saw %v", err, errs[0])
		}
	})
}

// reentrantObserver reads the breaker from inside the observer calls.
type reentrantObserver struct {
	c     Circuit
	reads int
}

func (r *reentrantObserver) Admitted(context.Context, string, State, bool) {
	r.c.State()
	r.c.Metrics()
	r.reads++
}

func (r *reentrantObserver) Rejected(context.Context, string, State, error) {
	r.c.State()
	r.c.Metrics()
	r.reads++
}

// TestCallObserverMayCallBack: no breaker lock is held while the observer
// runs, so it may read the breaker (a deadlock here hangs the test).
func TestCallObserverMayCallBack(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		obs := &reentrantObserver{}
		c, mk := newObserved(t, im, testConfig(), obs)
		obs.c = c
		tripWithFailures(t, c)
		if _, err := c.Acquire(context.Background()); !errors.Is(err, ErrOpen) {
			t.Fatalf("Acquire in Open: %v", err)
		}
		advance(c, mk, testOpenTimeout)
		p := mustAcquire(t, c)
		p.Success()
		if obs.reads != 5 {
			t.Fatalf("observer ran %d times, want 5", obs.reads)
		}
	})
}

// TestSupervisorCallObserver: a supervisor's WithCallObserver reaches every
// breaker it creates.
func TestSupervisorCallObserver(t *testing.T) {
	rec := &recObserver{}
	s := NewSupervisor(WithClock(clock.NewMock()), WithCallObserver(rec))
	defer s.Close()
	for _, name := range []string{"a", "b"} {
		b, err := s.GetOrCreate(name, testConfig())
		if err != nil {
			t.Fatal(err)
		}
		p, err := b.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		p.Success()
	}
	got, _ := rec.take()
	want := "admitted a closed probe=false ctx=<nil>\nadmitted b closed probe=false ctx=<nil>"
	if strings.Join(got, "\n") != want {
		t.Fatalf("observer calls\n%s\nwant\n%s", strings.Join(got, "\n"), want)
	}
}

// nopObserver does nothing, without allocating.
type nopObserver struct{}

func (nopObserver) Admitted(context.Context, string, State, bool)  {}
func (nopObserver) Rejected(context.Context, string, State, error) {}

// TestCallObserverAllocs: neither no observer nor a non-allocating one makes
// the Closed fast path or the open rejection allocate.
func TestCallObserverAllocs(t *testing.T) {
	for _, o := range []CallObserver{nil, nopObserver{}} {
		forEachImpl(t, func(t *testing.T, im impl) {
			c, _ := newObserved(t, im, testConfig(), o)
			ctx := context.Background()
			if n := testing.AllocsPerRun(1000, func() {
				p, _ := c.Acquire(ctx)
				p.Success()
			}); n != 0 {
				t.Errorf("observer %T: Closed Acquire+Success allocates %v times", o, n)
			}
			c.ForceOpen()
			if n := testing.AllocsPerRun(1000, func() { _, _ = c.Acquire(ctx) }); n != 0 {
				t.Errorf("observer %T: ForcedOpen rejection allocates %v times", o, n)
			}
		})
	}
}
