package breaker

// Do, Execute and ExecuteWithFallback over both implementations. Do is a
// method of *Breaker only (ARCHITECTURE §4); it is run wherever the circuit has
// it, and Execute everywhere. Misuse (a nil Circuit, a nil fn or
// fallback) gets an error saying what is nil, never a panic
// (TestRegressionMisuseGetsAClearError).

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlabs/breaker/events"
)

// callRunner runs fn through a circuit and returns its error.
type callRunner struct {
	name string
	run  func(ctx context.Context, c Circuit, fn func(context.Context) error) error
}

type callDoer interface {
	Do(ctx context.Context, fn func(context.Context) error) error
}

// callRunners returns the ways to run a call through c: Execute, and Do if
// c has it.
func callRunners(c Circuit) []callRunner {
	rs := []callRunner{{"Execute", func(ctx context.Context, c Circuit, fn func(context.Context) error) error {
		_, err := Execute(ctx, c, func(ctx context.Context) (struct{}, error) { return struct{}{}, fn(ctx) })
		return err
	}}}
	if _, ok := c.(callDoer); ok {
		rs = append(rs, callRunner{"Do", func(ctx context.Context, c Circuit, fn func(context.Context) error) error {
			return c.(callDoer).Do(ctx, fn)
		}})
	}
	return rs
}

// forEachImplRunner runs f as a subtest for every implementation and every
// runner that implementation has.
func forEachImplRunner(t *testing.T, f func(t *testing.T, im impl, r callRunner)) {
	forEachImpl(t, func(t *testing.T, im impl) {
		c, _ := newMocked(t, im, testConfig())
		for _, r := range callRunners(c) {
			t.Run(r.name, func(t *testing.T) { f(t, im, r) })
		}
	})
}

// forEachRunner is forEachImplRunner with a fresh circuit of cfg.
func forEachRunner(t *testing.T, cfg Config, f func(t *testing.T, c Circuit, r callRunner)) {
	forEachImplRunner(t, func(t *testing.T, im impl, r callRunner) {
		c, _ := newMocked(t, im, cfg)
		f(t, c, r)
	})
}

// The actor breaker has Do (ARCHITECTURE §4), so every call test runs it.
var _ callDoer = (*Breaker)(nil)

func TestCallReturnsFnResultUnchanged(t *testing.T) {
	errBoom := errors.New("boom")
	wrapped := fmt.Errorf("query: %w", errBoom)
	tests := []struct {
		name  string
		err   error
		count func(Metrics) uint64
	}{
		{"nil", nil, func(m Metrics) uint64 { return m.Successes }},
		{"error", errBoom, func(m Metrics) uint64 { return m.Failures }},
		{"wrapped error", wrapped, func(m Metrics) uint64 { return m.Failures }},
		{"canceled", context.Canceled, func(m Metrics) uint64 { return m.Ignored }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forEachRunner(t, testConfig(), func(t *testing.T, c Circuit, r callRunner) {
				err := r.run(context.Background(), c, func(context.Context) error { return tt.err })
				if err != tt.err {
					t.Errorf("returned %v, want %v itself", err, tt.err)
				}
				settle(c)
				m := c.Metrics()
				if tt.count(m) != 1 || m.Successes+m.Failures+m.Ignored != 1 || m.Timeouts != 0 {
					t.Errorf("counted as %+v", m)
				}
			})
		})
	}
	t.Run("value", func(t *testing.T) {
		forEachImpl(t, func(t *testing.T, im impl) {
			c, _ := newMocked(t, im, testConfig())
			v, err := Execute(context.Background(), c, func(context.Context) (int, error) { return 42, nil })
			if v != 42 || err != nil {
				t.Errorf("Execute = %v, %v; want 42, nil", v, err)
			}
			v, err = Execute(context.Background(), c, func(context.Context) (int, error) { return 7, errBoom })
			if v != 7 || err != errBoom {
				t.Errorf("Execute = %v, %v; want 7, boom (fn's own result)", v, err)
			}
		})
	})
	t.Run("IsFailure", func(t *testing.T) {
		errNotFound := errors.New("not found")
		cfg := testConfig(func(c *Config) { c.IsFailure = func(err error) bool { return !errors.Is(err, errNotFound) } })
		forEachRunner(t, cfg, func(t *testing.T, c Circuit, r callRunner) {
			for i := 0; i < 5; i++ {
				if err := r.run(context.Background(), c, func(context.Context) error { return errNotFound }); err != errNotFound {
					t.Fatalf("returned %v", err)
				}
			}
			requireState(t, c, Closed)
			if m := c.Metrics(); m.Ignored != 5 || m.Failures != 0 {
				t.Errorf("%d ignored, %d failures; want 5, 0", m.Ignored, m.Failures)
			}
		})
	})
}

func TestCallFailuresTrip(t *testing.T) {
	forEachRunner(t, testConfig(), func(t *testing.T, c Circuit, r callRunner) {
		for i := 0; i < 3; i++ {
			r.run(context.Background(), c, func(context.Context) error { return errors.New("down") })
		}
		requireState(t, c, Open)
	})
}

// callRejections put a breaker of testConfig where it rejects calls.
var callRejections = []struct {
	name  string
	reach func(t *testing.T, c Circuit, mk *clock.Mock)
	want  error
}{
	{"open", func(t *testing.T, c Circuit, _ *clock.Mock) { tripWithFailures(t, c) }, ErrOpen},
	{"forced open", func(t *testing.T, c Circuit, _ *clock.Mock) { c.ForceOpen() }, ErrOpen},
	{"too many probes", func(t *testing.T, c Circuit, mk *clock.Mock) {
		toHalfOpen(t, c, mk, testOpenTimeout)
		mustAcquire(t, c) // the only probe slot
	}, ErrTooManyProbes},
}

func TestCallRejectedWithoutRunningFn(t *testing.T) {
	for _, tt := range callRejections {
		t.Run(tt.name, func(t *testing.T) {
			forEachImplRunner(t, func(t *testing.T, im impl, r callRunner) {
				c, mk := newMocked(t, im, testConfig())
				tt.reach(t, c, mk)
				before := c.Metrics()
				ran := false
				err := r.run(context.Background(), c, func(context.Context) error { ran = true; return nil })
				if !errors.Is(err, tt.want) {
					t.Errorf("returned %v, want %v", err, tt.want)
				}
				if ran {
					t.Errorf("fn ran although the call was rejected")
				}
				settle(c)
				if m := c.Metrics(); m.Rejected != before.Rejected+1 || m.Successes != before.Successes || m.State != before.State {
					t.Errorf("Rejected %d→%d, Successes %d→%d, State %v→%v; want one more rejection only",
						before.Rejected, m.Rejected, before.Successes, m.Successes, before.State, m.State)
				}
			})
		})
	}
	t.Run("closed breaker", func(t *testing.T) {
		forEachImplRunner(t, func(t *testing.T, im impl, r callRunner) {
			c, _ := newMocked(t, im, testConfig())
			c.Close()
			ran := false
			err := r.run(context.Background(), c, func(context.Context) error { ran = true; return nil })
			if !errors.Is(err, ErrStopped) || ran {
				t.Errorf("after Close: %v, fn ran %v; want ErrStopped, false", err, ran)
			}
		})
	})
}

// callBlocked starts a call that signals it started and then blocks until
// its context is done, returning what ret makes of that context.
func callBlocked(ctx context.Context, c Circuit, r callRunner, ret func(ctx context.Context) error) (started <-chan struct{}, result <-chan error) {
	s, res := make(chan struct{}), make(chan error, 1)
	go func() {
		res <- r.run(ctx, c, func(ctx context.Context) error {
			close(s)
			<-ctx.Done()
			return ret(ctx)
		})
	}()
	return s, res
}

func callWait(t *testing.T, what string, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(5 * time.Second): // a hang guard, not synchronisation
		t.Fatalf("%s: the call never returned", what)
		return nil
	}
}

func TestCallTimeout(t *testing.T) {
	const timeout = 2 * time.Second
	tests := []struct {
		name string
		ret  func(ctx context.Context) error
		fnIs error // fn's own error, also matched by the result; nil if none
	}{
		{"fn returns ctx.Err()", func(ctx context.Context) error { return ctx.Err() }, context.DeadlineExceeded},
		{"fn returns its own error", func(ctx context.Context) error { return fmt.Errorf("rpc: %w", errBoom) }, errBoom},
		{"fn returns nil after the deadline", func(context.Context) error { return nil }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forEachImplRunner(t, func(t *testing.T, im impl, r callRunner) {
				c, mk := newMocked(t, im, testConfig(func(c *Config) {
					c.CallTimeout = timeout
					c.ConsecutiveFailures = 1
				}))
				started, result := callBlocked(context.Background(), c, r, tt.ret)
				<-started
				mk.Add(timeout - time.Nanosecond)
				select {
				case err := <-result:
					t.Fatalf("returned %v before CallTimeout", err)
				default:
				}
				mk.Add(time.Nanosecond)
				err := callWait(t, "CallTimeout", result)
				if !errors.Is(err, ErrTimeout) {
					t.Errorf("returned %v, want ErrTimeout", err)
				}
				if tt.fnIs != nil && !errors.Is(err, tt.fnIs) {
					t.Errorf("returned %v, want it to match fn's error %v too", err, tt.fnIs)
				}
				settle(c)
				m := c.Metrics()
				if m.Timeouts != 1 || m.Failures != 1 || m.Successes != 0 {
					t.Errorf("Timeouts %d Failures %d Successes %d; want 1, 1, 0", m.Timeouts, m.Failures, m.Successes)
				}
				if m.State != Open { // ConsecutiveFailures 1
					t.Errorf("State %v after a timed-out call, want open", m.State)
				}
			})
		})
	}
	t.Run("no deadline without CallTimeout", func(t *testing.T) {
		forEachRunner(t, testConfig(), func(t *testing.T, c Circuit, r callRunner) {
			deadline := true
			r.run(context.Background(), c, func(ctx context.Context) error {
				_, deadline = ctx.Deadline()
				return nil
			})
			if deadline {
				t.Errorf("fn's context has a deadline with CallTimeout 0")
			}
		})
	})
	t.Run("the caller's cancellation is not a timeout", func(t *testing.T) {
		cfg := testConfig(func(c *Config) { c.CallTimeout = timeout })
		forEachRunner(t, cfg, func(t *testing.T, c Circuit, r callRunner) {
			ctx, cancel := context.WithCancel(context.Background())
			started, result := callBlocked(ctx, c, r, func(ctx context.Context) error { return ctx.Err() })
			<-started
			cancel()
			err := callWait(t, "cancel", result)
			if !errors.Is(err, context.Canceled) || errors.Is(err, ErrTimeout) {
				t.Errorf("returned %v, want context.Canceled and not ErrTimeout", err)
			}
			settle(c)
			if m := c.Metrics(); m.Timeouts != 0 || m.Failures != 0 || m.Ignored != 1 {
				t.Errorf("Timeouts %d Failures %d Ignored %d; want 0, 0, 1", m.Timeouts, m.Failures, m.Ignored)
			}
		})
	})
}

func TestCallPanic(t *testing.T) {
	tests := []struct {
		name     string
		probe    bool // run the call as the only half-open probe
		reason   Reason
		failures uint64
	}{
		{"closed", false, ReasonConsecutiveFailures, 1},
		{"half-open probe", true, ReasonProbeFailed, 2}, // the trip's failure, then the probe's
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forEachImplRunner(t, func(t *testing.T, im impl, r callRunner) {
				c, mk := newMocked(t, im, testConfig(func(c *Config) { c.ConsecutiveFailures = 1 }))
				if tt.probe {
					runOutcomes(t, c, "F")
					advance(c, mk, testOpenTimeout)
					requireState(t, c, HalfOpen)
				}
				sub := subscribeAll(t, c)
				var recovered any
				func() {
					defer func() { recovered = recover() }()
					r.run(context.Background(), c, func(context.Context) error { panic("kaboom") })
				}()
				if recovered != "kaboom" {
					t.Fatalf("recovered %v, want the panic re-raised", recovered)
				}
				requireState(t, c, Open)
				if e := oneStateChange(t, drain(sub)); e.Reason != tt.reason {
					t.Errorf("event %v, want reason %v", e, tt.reason)
				}
				if m := c.Metrics(); m.Failures != tt.failures || m.HalfOpenInFlight != 0 {
					t.Errorf("Failures %d HalfOpenInFlight %d; want %d, 0", m.Failures, m.HalfOpenInFlight, tt.failures)
				}
			})
		})
	}
}

func TestCallGoexit(t *testing.T) {
	for _, probe := range []bool{false, true} {
		t.Run(map[bool]string{false: "closed", true: "half-open probe"}[probe], func(t *testing.T) {
			forEachImplRunner(t, func(t *testing.T, im impl, r callRunner) {
				c, mk := newMocked(t, im, testConfig()) // MaxProbes 1
				if probe {
					toHalfOpen(t, c, mk, testOpenTimeout)
				}
				done := make(chan struct{})
				returned := false
				go func() {
					defer close(done)
					r.run(context.Background(), c, func(context.Context) error {
						runtime.Goexit()
						return nil
					})
					returned = true
				}()
				<-done
				if returned {
					t.Fatal("the call returned although fn called runtime.Goexit")
				}
				settle(c)
				m := c.Metrics()
				if m.Ignored != 1 || m.HalfOpenInFlight != 0 {
					t.Errorf("Ignored %d HalfOpenInFlight %d; want 1, 0", m.Ignored, m.HalfOpenInFlight)
				}
				if !probe {
					return
				}
				// The only probe slot is free again.
				requireState(t, c, HalfOpen)
				runOutcomes(t, c, "S")
				requireState(t, c, Closed)
			})
		})
	}
}

func TestCallFallback(t *testing.T) {
	fallbackFor := func(got *[]error) func(context.Context, error) (string, error) {
		return func(_ context.Context, err error) (string, error) {
			*got = append(*got, err)
			return "cached", nil
		}
	}
	for _, tt := range callRejections {
		t.Run("rejected/"+tt.name, func(t *testing.T) {
			forEachImpl(t, func(t *testing.T, im impl) {
				c, mk := newMocked(t, im, testConfig())
				tt.reach(t, c, mk)
				sub := subscribeAll(t, c)
				var got []error
				ran := false
				v, err := ExecuteWithFallback(context.Background(), c,
					func(context.Context) (string, error) { ran = true; return "fresh", nil },
					fallbackFor(&got))
				if v != "cached" || err != nil || ran {
					t.Errorf("= %q, %v (fn ran: %v); want the fallback's \"cached\", nil", v, err, ran)
				}
				if len(got) != 1 || !errors.Is(got[0], tt.want) {
					t.Errorf("fallback called with %v, want one call with %v", got, tt.want)
				}
				if m := c.Metrics(); m.Fallbacks != 1 || m.Rejected != 1 {
					t.Errorf("Fallbacks %d Rejected %d; want 1, 1", m.Fallbacks, m.Rejected)
				}
				n := 0
				for _, e := range drain(sub) {
					if e.Kind == events.FallbackUsed {
						n++
					}
				}
				if n != 1 {
					t.Errorf("%d FallbackUsed events, want 1", n)
				}
			})
		})
	}
	t.Run("fallback's own result", func(t *testing.T) {
		forEachImpl(t, func(t *testing.T, im impl) {
			c, _ := newMocked(t, im, testConfig())
			c.ForceOpen()
			errStale := errors.New("no cached value")
			v, err := ExecuteWithFallback(context.Background(), c,
				func(context.Context) (int, error) { return 1, nil },
				func(context.Context, error) (int, error) { return -1, errStale })
			if v != -1 || err != errStale {
				t.Errorf("= %v, %v; want -1, the fallback's error", v, err)
			}
		})
	})
	notRejected := []struct {
		name string
		err  error
	}{
		{"fn succeeds", nil},
		{"fn fails", errBoom},
		{"fn's error wraps ErrOpen", fmt.Errorf("downstream: %w", ErrOpen)},
		{"fn's error wraps ErrTooManyProbes", fmt.Errorf("downstream: %w", ErrTooManyProbes)},
		{"fn returns an OpenError", &OpenError{Breaker: "downstream", Until: time.Unix(99, 0)}},
	}
	for _, tt := range notRejected {
		t.Run("not rejected/"+tt.name, func(t *testing.T) {
			forEachImpl(t, func(t *testing.T, im impl) {
				c, _ := newMocked(t, im, testConfig())
				var got []error
				v, err := ExecuteWithFallback(context.Background(), c,
					func(context.Context) (string, error) { return "fresh", tt.err },
					fallbackFor(&got))
				if v != "fresh" || err != tt.err || len(got) != 0 {
					t.Errorf("= %q, %v, fallback calls %v; want \"fresh\", fn's own error, none", v, err, got)
				}
				settle(c)
				m := c.Metrics()
				if m.Fallbacks != 0 || m.Rejected != 0 {
					t.Errorf("Fallbacks %d Rejected %d; want 0, 0", m.Fallbacks, m.Rejected)
				}
				if tt.err != nil && m.Failures != 1 {
					t.Errorf("Failures %d, want 1 (fn's error is a failure)", m.Failures)
				}
			})
		})
	}
	t.Run("not rejected/stopped", func(t *testing.T) {
		forEachImpl(t, func(t *testing.T, im impl) {
			c, _ := newMocked(t, im, testConfig())
			c.Close()
			var got []error
			ran := false
			_, err := ExecuteWithFallback(context.Background(), c,
				func(context.Context) (string, error) { ran = true; return "fresh", nil },
				fallbackFor(&got))
			if !errors.Is(err, ErrStopped) || len(got) != 0 || ran {
				t.Errorf("after Close: %v, fallback calls %v, fn ran %v; want ErrStopped, none, false", err, got, ran)
			}
		})
	})
}

// TestRegressionMisuseGetsAClearError: Execute, ExecuteWithFallback and Do
// with a nil Circuit (or a nil *Breaker in one) or a nil fn died of a nil
// pointer dereference. They now return an error saying what is nil, and a
// nil fn takes no permit.
func TestRegressionMisuseGetsAClearError(t *testing.T) {
	ctx := context.Background()
	fn := func(context.Context) (int, error) { return 1, nil }
	fallback := func(context.Context, error) (int, error) { return 2, nil }
	for name, c := range map[string]Circuit{"nil": nil, "nil *Breaker": (*Breaker)(nil), "nil *MutexBreaker": (*MutexBreaker)(nil)} {
		var err error
		if r := panicValue(func() { _, err = Execute(ctx, c, fn) }); r != nil || err == nil || !strings.Contains(err.Error(), "nil Circuit") {
			t.Errorf("Execute with a %s Circuit: panic %v, error %v; want an error naming the nil Circuit", name, r, err)
		}
		if r := panicValue(func() { _, err = ExecuteWithFallback(ctx, c, fn, fallback) }); r != nil || err == nil || !strings.Contains(err.Error(), "nil Circuit") {
			t.Errorf("ExecuteWithFallback with a %s Circuit: panic %v, error %v; want an error naming the nil Circuit", name, r, err)
		}
	}
	forEachImpl(t, func(t *testing.T, im impl) {
		c, _ := newMocked(t, im, threeInARowConfig(nil))
		var err error
		if r := panicValue(func() { _, err = Execute[int](ctx, c, nil) }); r != nil || err == nil || !strings.Contains(err.Error(), "nil fn") {
			t.Errorf("Execute with a nil fn: panic %v, error %v; want an error naming the nil fn", r, err)
		}
		if b, ok := c.(*Breaker); ok {
			if r := panicValue(func() { err = b.Do(ctx, nil) }); r != nil || err == nil || !strings.Contains(err.Error(), "nil fn") {
				t.Errorf("Do with a nil fn: panic %v, error %v; want an error naming the nil fn", r, err)
			}
		}
		if m := c.Metrics(); lifetimeCalls(m) != 0 || m.Rejected != 0 {
			t.Errorf("a call refused for a nil fn was counted: %+v", m)
		}
		// A nil fallback: the rejection is returned as it is.
		c.ForceOpen()
		if r := panicValue(func() { _, err = ExecuteWithFallback(ctx, c, fn, nil) }); r != nil || !errors.Is(err, ErrOpen) {
			t.Errorf("ExecuteWithFallback with a nil fallback: panic %v, error %v; want the rejection", r, err)
		}
	})
}
