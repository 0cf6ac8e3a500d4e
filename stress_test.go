package breaker

// The whole breaker under load, meant for `go test -race`: TestRaceStress
// runs, over both implementations, 64 workers with random outcomes and
// slow calls, concurrent Reset/ForceOpen/Disable, Metrics and State
// samplers, and a moving clock (a mock advanced by one goroutine, or the
// real clock), and checks every sample, every admission and every event
// while they run, instead of only looking at the end state.
//
// The race tests of one subject live with it: the half-open admission race
// in halfopen_test.go, failure storms and trip latency in trip_test.go,
// stale outcomes during half-open in permit_test.go, concurrent
// GetOrCreate in supervisor_test.go. Goroutines meant to race start on a
// spinBarrier, not on a closed channel, so that they overlap on two cores
// too. The default run is short; stressScale (helpers_test.go) says how
// BREAKER_STRESS and -stress.scale lengthen it: `BREAKER_STRESS=1 go test
// -race -run 'Race|Stress' .` (make stress).

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlabs/breaker/events"
)

// eventWatcher checks a subscription's events in its own goroutine until the
// subscription is closed (by closing the breaker).
type eventWatcher struct {
	sub  *events.Subscription
	tc   transitionChecker
	errs []error
	done chan struct{}
}

func watchEvents(sub *events.Subscription) *eventWatcher {
	w := &eventWatcher{sub: sub, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for ev := range sub.C() {
			if err := w.tc.check(ev); err != nil && len(w.errs) < maxReported {
				w.errs = append(w.errs, err)
			}
		}
	}()
	return w
}

// wait waits until the subscription is closed and reports what was wrong.
func (w *eventWatcher) wait(t *testing.T) {
	t.Helper()
	waitFor(t, "event watcher", 10*time.Second, func() { <-w.done })
	for _, err := range w.errs {
		t.Error(err)
	}
	if d := w.sub.Dropped(); d != 0 {
		t.Errorf("subscriber dropped %d events with a buffer of %d", d, 1<<16)
	}
}

// probeTracker counts, per epoch, the half-open probe permits the test
// holds at once. It increments after Acquire returned a probe and
// decrements before the probe is reported, so its count never exceeds the
// breaker's own: more than MaxProbes here is an over-admission.
type probeTracker struct {
	max      int
	mu       sync.Mutex
	inFlight map[uint64]int
	seen     map[[2]uint64]bool
}

func newProbeTracker(max int) *probeTracker {
	return &probeTracker{max: max, inFlight: map[uint64]int{}, seen: map[[2]uint64]bool{}}
}

func (pt *probeTracker) admit(p Permit, f *failures) {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	k := [2]uint64{p.epoch, p.ticket().Probe}
	if pt.seen[k] {
		f.errorf("probe %d of epoch %d granted twice", p.ticket().Probe, p.epoch)
	}
	pt.seen[k] = true
	pt.inFlight[p.epoch]++
	if n := pt.inFlight[p.epoch]; n > pt.max {
		f.errorf("%d probes of epoch %d held at once; HalfOpen.MaxProbes is %d", n, p.epoch, pt.max)
	}
}

func (pt *probeTracker) release(p Permit) {
	pt.mu.Lock()
	pt.inFlight[p.epoch]--
	pt.mu.Unlock()
}

// pickOutcome draws an outcome: nil (success), errBoom (failure) or
// context.Canceled (ignored by the default IsFailure).
func pickOutcome(rng *rand.Rand, failRate float64) error {
	r := rng.Float64()
	switch {
	case r < 0.05:
		return context.Canceled
	case r < 0.05+0.95*failRate:
		return errBoom
	}
	return nil
}

type stressVariant struct {
	name string
	mock bool // a mock clock advanced by one goroutine; else the real clock
	cfg  Config
}

func stressVariants() []stressVariant {
	countStrict := Config{
		Window:              CountWindow(20),
		MinimumCalls:        10,
		ConsecutiveFailures: 6,
		FailureRate:         0.5,
		SlowCallDuration:    2 * time.Millisecond,
		SlowCallRate:        0.9,
		OpenTimeout:         3 * time.Millisecond,
		BackoffMultiplier:   2,
		MaxOpenTimeout:      12 * time.Millisecond,
		HalfOpen: HalfOpenPolicy{
			MaxProbes: 3, Mode: Strict, SuccessThreshold: 3, MaxWait: 8 * time.Millisecond,
		},
	}
	timeByRate := Config{
		Window:            TimeWindow(20*time.Millisecond, 4),
		MinimumCalls:      10,
		FailureRate:       0.4,
		SlowCallDuration:  2 * time.Millisecond,
		SlowCallRate:      0.8,
		OpenTimeout:       2 * time.Millisecond,
		BackoffMultiplier: 1.5,
		MaxOpenTimeout:    10 * time.Millisecond,
		HalfOpen: HalfOpenPolicy{
			MaxProbes: 4, Mode: ByRate, MinimumProbes: 4, SuccessRate: 0.5, MaxWait: 6 * time.Millisecond,
		},
	}
	return []stressVariant{
		{"mock-clock/count-window/strict", true, countStrict},
		{"mock-clock/time-window/by-rate", true, timeByRate},
		{"real-clock/count-window/strict", false, countStrict},
		{"real-clock/time-window/by-rate", false, timeByRate},
	}
}

// TestRaceStress hammers one breaker from 64 workers (random outcomes,
// reported through every Permit method and through Execute, some calls
// slow, the failure rate alternating between healthy and sick so the
// breaker keeps cycling), a chaos goroutine (Reset, ForceOpen, Disable),
// four samplers (Metrics, State) and, with the mock clock, one goroutine
// advancing time. It checks, while running:
//
//   - every Metrics sample: HalfOpenInFlight ≤ MaxProbes (and 0 outside
//     HalfOpen), OpenUntil set exactly in Open, lifetime counters never
//     decreasing and never ahead of the reports made, Trips ≤ Transitions;
//   - every admission: the probes the test holds per epoch never exceed
//     MaxProbes, no probe number is granted twice, a goroutine's permits
//     never go back an epoch, and nothing is admitted before the deadline
//     of an open period the same goroutine was just rejected by (unless a
//     manual transition happened in between);
//   - after ForceOpen/Disable return, State shows it;
//   - every event: one legal path (see transitionChecker);
//
// and at the end: Successes, Failures and Ignored equal the reports made
// (each permit reported exactly once), Rejected equals the rejections seen,
// and the events match Transitions and Trips.
func TestRaceStress(t *testing.T) {
	scale := stressScale()
	dur := time.Duration(scale) * 120 * time.Millisecond
	forEachImpl(t, func(t *testing.T, im impl) {
		for _, v := range stressVariants() {
			t.Run(v.name, func(t *testing.T) { runStress(t, im, v, dur) })
		}
	})
}

func runStress(t *testing.T, im impl, v stressVariant, dur time.Duration) {
	const workers, samplers = 64, 4
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)

	var mk *clock.Mock
	var opts []Option
	now := time.Now
	if v.mock {
		mk = clock.NewMock()
		opts = append(opts, WithClock(mk))
		now = mk.Now
	}
	c, err := im.new("stress", v.cfg, opts...)
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	defer c.Close()
	watcher := watchEvents(subscribe(t, c))

	var (
		ctx                           = context.Background()
		f                             = &failures{t: t}
		stop                          atomic.Bool
		wg                            sync.WaitGroup
		oc                            outcomeCounts
		reports, rejections           atomic.Uint64
		manualStarted, manualDone     atomic.Uint64
		probes                        = newProbeTracker(v.cfg.HalfOpen.MaxProbes)
		maxProbes                     = v.cfg.HalfOpen.MaxProbes
		healthyFailRate, sickFailRate = 0.1, 0.7
	)
	// The backend is sick for 8 ms of every 20 ms of real time, so the
	// breaker keeps tripping and recovering.
	begin := time.Now()
	failRate := func() float64 {
		if time.Since(begin)%(20*time.Millisecond) < 8*time.Millisecond {
			return sickFailRate
		}
		return healthyFailRate
	}

	worker := func(id int) {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(seed, uint64(id)))
		var (
			lastEpoch uint64
			openUntil time.Time // Until of an Open rejection seen with no manual transition in flight
			openMark  uint64    // manualStarted when it was seen
		)
		for !stop.Load() {
			if rng.IntN(16) == 0 {
				// Through Execute: reported exactly once by the library.
				_, err := Execute(ctx, c, func(context.Context) (struct{}, error) {
					if rng.IntN(8) == 0 {
						time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond)
					}
					err := pickOutcome(rng, failRate())
					reports.Add(1)
					oc.count(err)
					return struct{}{}, err
				})
				switch {
				case isRejection(err):
					rejections.Add(1)
				case err != nil && err != errBoom && err != context.Canceled:
					f.errorf("Execute returned %v, not fn's error or a rejection", err)
				}
				continue
			}
			d0 := manualDone.Load()
			s0 := manualStarted.Load()
			p, err := c.Acquire(ctx)
			if err != nil {
				rejections.Add(1)
				var oe *OpenError
				switch {
				case errors.As(err, &oe):
					if !oe.Until.IsZero() && s0 == d0 {
						openUntil, openMark = oe.Until, s0
					}
				case errors.Is(err, ErrTooManyProbes):
				default:
					f.errorf("Acquire: unexpected error %v", err)
				}
				runtime.Gosched()
				continue
			}
			if !openUntil.IsZero() {
				if at := now(); manualStarted.Load() == openMark && at.Before(openUntil) {
					f.errorf("admitted (epoch %d) at %v, before %v, the deadline of the open period "+
						"this goroutine was last rejected by, with no manual transition in between",
						p.epoch, at, openUntil)
				}
				openUntil = time.Time{}
			}
			if p.epoch < lastEpoch {
				f.errorf("permit of epoch %d after one of epoch %d on the same goroutine", p.epoch, lastEpoch)
			}
			lastEpoch = p.epoch
			if p.probe != 0 {
				probes.admit(p, f)
			}
			if rng.IntN(12) == 0 { // a slow call
				time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond)
			}
			if p.probe != 0 {
				probes.release(p)
			}
			reports.Add(1)
			oc.report(p, pickOutcome(rng, failRate()), rng.IntN(2) == 0)
			if rng.IntN(2) == 0 {
				// Half the time, yield as a caller doing I/O would: a
				// breaker whose callers never yield has its trips delayed
				// by the scheduler (TestRaceTripLatencyBusyCaller).
				runtime.Gosched()
			}
		}
	}

	chaos := func() {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(seed, workers))
		manual := func(op func()) {
			manualStarted.Add(1)
			op()
			manualDone.Add(1)
		}
		for !stop.Load() {
			time.Sleep(time.Duration(2000+rng.IntN(8000)) * time.Microsecond)
			switch r := rng.IntN(10); {
			case r < 4:
				manual(c.Reset)
			case r < 7:
				manual(c.ForceOpen)
				if s := c.State(); s != ForcedOpen {
					f.errorf("State() = %v right after ForceOpen returned", s)
				}
				time.Sleep(500 * time.Microsecond)
				manual(c.Reset)
			default:
				manual(c.Disable)
				if s := c.State(); s != Disabled {
					f.errorf("State() = %v right after Disable returned", s)
				}
				time.Sleep(time.Millisecond)
				manual(c.Reset)
			}
		}
	}

	sampler := func() {
		defer wg.Done()
		var prev Metrics
		for !stop.Load() {
			m := c.Metrics()
			made := reports.Load()
			if s := c.State(); s > Disabled {
				f.errorf("State() = %v: not a state", s)
			}
			switch {
			case m.HalfOpenInFlight < 0 || m.HalfOpenInFlight > maxProbes:
				f.errorf("Metrics: HalfOpenInFlight = %d, MaxProbes %d (state %v)", m.HalfOpenInFlight, maxProbes, m.State)
			case m.State != HalfOpen && m.HalfOpenInFlight != 0:
				f.errorf("Metrics: HalfOpenInFlight = %d in state %v", m.HalfOpenInFlight, m.State)
			}
			if (m.State == Open) == m.OpenUntil.IsZero() {
				f.errorf("Metrics: state %v with OpenUntil %v", m.State, m.OpenUntil)
			}
			if m.Trips > m.Transitions {
				f.errorf("Metrics: Trips %d > Transitions %d", m.Trips, m.Transitions)
			}
			if got := m.Successes + m.Failures + m.Ignored; got > made {
				f.errorf("Metrics: %d outcomes counted, only %d reported so far", got, made)
			}
			if m.SlowCalls > m.Successes+m.Failures+m.Ignored {
				f.errorf("Metrics: SlowCalls %d > outcomes %d", m.SlowCalls, m.Successes+m.Failures+m.Ignored)
			}
			if m.Successes < prev.Successes || m.Failures < prev.Failures || m.Ignored < prev.Ignored ||
				m.SlowCalls < prev.SlowCalls || m.Rejected < prev.Rejected || m.Trips < prev.Trips ||
				m.Transitions < prev.Transitions {
				f.errorf("Metrics: a lifetime counter went down:\n was %+v\n now %+v", prev, m)
			}
			prev = m
			time.Sleep(200 * time.Microsecond)
		}
	}

	wg.Add(workers + 1 + samplers)
	for i := range workers {
		go worker(i)
	}
	go chaos()
	for range samplers {
		go sampler()
	}
	if mk != nil {
		wg.Add(1)
		go func() { // the one goroutine that moves the mock clock
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, workers+1))
			for !stop.Load() {
				mk.Add(time.Duration(200+rng.IntN(1800)) * time.Microsecond)
			}
		}()
	}
	time.Sleep(dur)
	// On a loaded machine the workers may not have run enough within dur
	// to trip the breaker, which the checks below need: keep them going,
	// for a bounded time, until they have.
	for giveUp := time.Now().Add(20*dur + 5*time.Second); c.Metrics().Trips == 0 && time.Now().Before(giveUp); {
		time.Sleep(dur / 4)
	}
	stop.Store(true)
	waitFor(t, "stress goroutines to stop", 20*time.Second, wg.Wait)

	// Quiescent: every permit was reported exactly once.
	settle(c)
	m := c.Metrics()
	if m.Successes != oc.successes.Load() || m.Failures != oc.failures.Load() || m.Ignored != oc.ignored.Load() {
		t.Errorf("lifetime outcomes: Successes %d, Failures %d, Ignored %d; reported %d, %d, %d",
			m.Successes, m.Failures, m.Ignored, oc.successes.Load(), oc.failures.Load(), oc.ignored.Load())
	}
	if got := m.Successes + m.Failures + m.Ignored; got != reports.Load() {
		t.Errorf("lifetime outcomes add up to %d, %d permits were reported", got, reports.Load())
	}
	if m.Rejected != rejections.Load() {
		t.Errorf("Metrics.Rejected = %d, the test saw %d rejections", m.Rejected, rejections.Load())
	}
	t.Logf("%d reports (%d ok, %d failed, %d ignored, %d slow), %d rejections, %d transitions, %d trips",
		reports.Load(), m.Successes, m.Failures, m.Ignored, m.SlowCalls, m.Rejected, m.Transitions, m.Trips)
	if m.Trips == 0 {
		t.Errorf("the breaker never tripped: the stress did not exercise Open and HalfOpen")
	}

	// Freeze (ForcedOpen has no timer), then compare the events with the
	// counters; Close ends the subscription.
	c.ForceOpen()
	m = c.Metrics()
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	watcher.wait(t)
	if watcher.tc.n != m.Transitions || watcher.tc.trips != m.Trips {
		t.Errorf("events: %d transitions, %d into Open; Metrics: Transitions %d, Trips %d",
			watcher.tc.n, watcher.tc.trips, m.Transitions, m.Trips)
	}
	if watcher.tc.state != ForcedOpen || m.State != ForcedOpen {
		t.Errorf("after ForceOpen: last event went to %v, Metrics.State %v", watcher.tc.state, m.State)
	}
	f.summary()
}
