package breaker

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"go.uber.org/goleak"
)

// The actor arms a state's timer before it publishes the state (ARCHITECTURE §2),
// so a test that sees State() == Open and at once advances a mock clock
// always fires the open timer. Nothing here sends the actor a message after
// the trip (no settle, no Metrics): only the timer can move it on. Seeded
// bug publish_first (scripts/mutants: publish, then arm) makes the timer miss the
// advance and the breaker stay Open.
func TestActorArmsTimerBeforePublishing(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ConsecutiveFailures = 1
	cfg.HalfOpen.MaxWait = 0
	for round := range 30 {
		mk := clock.NewMock()
		b, err := New("timer-first", cfg, WithClock(mk))
		if err != nil {
			t.Fatal(err)
		}
		p, err := b.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		reported := make(chan struct{})
		go func() { // the crossing report trips (it runs the idle actor itself)
			p.Failure()
			close(reported)
		}()
		for b.State() != Open {
			runtime.Gosched() // react to the publication as fast as a caller can
		}
		mk.Add(cfg.OpenTimeout)
		eventually(t, fmt.Sprintf("round %d: half-open after the clock passed the open deadline (a timer armed after the state was published misses the advance)", round),
			func() bool { return b.State() == HalfOpen })
		<-reported
		b.Close()
	}
}

// The report that crosses a trip threshold shuts admission before it
// returns, even while another goroutine owns the actor and cannot make the
// trip formal: State() still reads Closed, yet every Acquire, from any
// goroutine, is rejected with an *OpenError carrying the deadline the
// trip will have, and counted as rejected. Once the owner lets go, the
// trip is published at the time of the crossing report.
func TestActorLatchShutsAdmissionBeforeTheTripIsPublished(t *testing.T) {
	var armed atomic.Bool
	gate := make(chan struct{})
	mk := clock.NewMock()
	cfg := oneFailureConfig(10 * time.Second)
	cfg.ConsecutiveFailures = 2
	b, err := New("latch", cfg, WithClock(mk), blockFirstMessage(&armed, gate))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	p1, _ := b.Acquire(ctx)
	p2, _ := b.Acquire(ctx)
	p1.Failure()

	armed.Store(true)
	held := make(chan struct{})
	go func() { b.settle(); close(held) }() // owns the actor, held by the hook
	eventually(t, "the actor to be owned", func() bool { return !b.mb.idle() })

	mk.Add(time.Second)
	tripAt := mk.Now()
	p2.Failure() // crosses ConsecutiveFailures; the actor is busy
	if s := b.State(); s != Closed {
		t.Fatalf("State() = %v before the owner let go; the test means to see the latch alone", s)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			_, err := b.Acquire(ctx)
			var oe *OpenError
			if !errors.As(err, &oe) || !errors.Is(err, ErrOpen) {
				t.Errorf("Acquire after the crossing report: %v, want an *OpenError", err)
				return
			}
			if want := tripAt.Add(10 * time.Second); !oe.Until.Equal(want) {
				t.Errorf("latched rejection Until = %v, want %v", oe.Until, want)
			}
		})
	}
	wg.Wait()
	mk.Add(time.Second) // the formal trip keeps the latched time
	close(gate)
	<-held
	m := b.Metrics()
	if m.State != Open || m.Rejected != 4 || m.Trips != 1 {
		t.Fatalf("after the owner let go: %v, %d rejected, %d trips; want open, 4, 1", m.State, m.Rejected, m.Trips)
	}
	if !m.Since.Equal(tripAt) || !m.OpenUntil.Equal(tripAt.Add(10*time.Second)) {
		t.Fatalf("trip at %v until %v; want the crossing report's time %v", m.Since, m.OpenUntil, tripAt)
	}
}

// A trip needs no other goroutine: with the actor idle, the crossing
// report itself makes it formal, so State() reads Open when it returns,
// even with GOMAXPROCS goroutines spinning on other breakers' fast paths.
func TestActorTripPublishedWithinTheCrossingReport(t *testing.T) {
	cfg := oneFailureConfig(time.Hour)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		other, err := New("busy", DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				p, _ := other.Acquire(context.Background())
				p.Success()
			}
		})
	}
	defer wg.Wait()
	defer close(stop)
	for round := range 50 {
		b, err := New("trip", cfg)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := b.Acquire(context.Background())
		p.Failure()
		if s := b.State(); s != Open {
			t.Fatalf("round %d: State() = %v right after the crossing report returned, want open", round, s)
		}
		b.Close()
	}
}

// Half-open admission is decided on the probe table alone: any number of
// goroutines racing for the slots get exactly MaxProbes distinct probes,
// the rest ErrTooManyProbes, with no message to the actor (which is held
// busy throughout); a probe reported twice frees its slot once.
func TestActorHalfOpenAdmissionWithoutTheActor(t *testing.T) {
	var armed atomic.Bool
	gate := make(chan struct{})
	mk := clock.NewMock()
	b, err := New("probes", oneFailureConfig(time.Second), WithClock(mk), blockFirstMessage(&armed, gate))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	trip(t, b)
	advance(b, mk, time.Second)
	armed.Store(true)
	held := make(chan struct{})
	go func() { b.settle(); close(held) }()
	eventually(t, "the actor to be owned", func() bool { return !b.mb.idle() })

	for round := range 20 {
		admitted, tooMany, other := acquireStorm(t, b, 32, nil)
		if round == 0 {
			checkDistinctProbes(t, "storm", admitted)
			if len(admitted) != 3 || tooMany != 29 || other != 0 {
				t.Fatalf("32 goroutines: %d admitted, %d too many, %d other; want 3, 29, 0", len(admitted), tooMany, other)
			}
			continue
		}
		if len(admitted) != 0 || tooMany != 32 {
			t.Fatalf("round %d with every slot held: %d admitted, %d too many", round, len(admitted), tooMany)
		}
	}
	close(gate)
	<-held
	if m := b.Metrics(); m.HalfOpenInFlight != 3 || m.Rejected != 29+19*32 {
		t.Fatalf("in flight %d, rejected %d; want 3, %d", m.HalfOpenInFlight, m.Rejected, 29+19*32)
	}
}

// A probe's permit is single-use however many copies report it at once:
// its slot is freed once, so exactly one new probe is admitted after it.
func TestActorProbeReportedConcurrentlyCountsOnce(t *testing.T) {
	mk := clock.NewMock()
	b, err := New("once", oneFailureConfig(time.Second), WithClock(mk))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	trip(t, b)
	advance(b, mk, time.Second)
	ctx := context.Background()
	var ps []Permit
	for range 3 {
		p, err := b.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { ps[0].Ignore() })
	}
	wg.Wait()
	if _, err := b.Acquire(ctx); err != nil {
		t.Fatalf("Acquire after the ignored probe: %v", err)
	}
	if _, err := b.Acquire(ctx); !errors.Is(err, ErrTooManyProbes) {
		t.Fatalf("second Acquire: %v, want ErrTooManyProbes (the probe freed two slots)", err)
	}
	if m := b.Metrics(); m.Ignored != 1 || m.HalfOpenInFlight != 3 {
		t.Fatalf("ignored %d, in flight %d; want 1, 3", m.Ignored, m.HalfOpenInFlight)
	}
}

// A quiet breaker's Metrics and State read published state and atomics:
// no message reaches the actor (the hook counts them), no goroutine runs;
// and a goroutine's own reports are in its next Metrics. An idle Closed
// breaker has no goroutine at all (passivation).
func TestActorMetricsWithoutTheActor(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	var messages atomic.Int64
	hooks := optionFunc(func(o *options) {
		o.hooks = &testHooks{panicOnMessage: func() bool { messages.Add(1); return false }}
	})
	before := runtime.NumGoroutine()
	var bs []*Breaker
	for i := range 100 {
		b, err := New(fmt.Sprintf("quiet%d", i), DefaultConfig(), hooks)
		if err != nil {
			t.Fatal(err)
		}
		bs = append(bs, b)
	}
	var wg sync.WaitGroup
	for _, b := range bs {
		wg.Go(func() {
			for i := range 50 {
				p, err := b.Acquire(context.Background())
				if err != nil {
					t.Errorf("Acquire: %v", err)
					return
				}
				if i%10 == 0 {
					p.Failure()
				} else {
					p.Success()
				}
				m := b.Metrics()
				if got := m.Successes + m.Failures; got != uint64(i+1) || m.WindowCalls != i+1 {
					t.Errorf("after %d reports Metrics shows %d (window %d)", i+1, got, m.WindowCalls)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := messages.Load(); n != 0 {
		t.Errorf("%d messages reached the actors of quiet Closed breakers", n)
	}
	// Polled: a goroutine of an earlier test may still be on its way out.
	eventually(t, "no goroutine for 100 idle Closed breakers", func() bool { return runtime.NumGoroutine() <= before })
	for _, b := range bs {
		b.Close()
	}
}
