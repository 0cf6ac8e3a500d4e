package breaker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlabs/breaker/engine"
	"github.com/breakerlabs/breaker/events"
	"go.uber.org/goleak"
)

// Adversarial tests of the actor's allocation-saving mechanisms (period.go,
// the ring hand-over of livewindow.go, the latch's open period, due
// deadlines applied without a timer, the lazily made actor and hub): each
// test states the invariant it attacks. The race tests race on purpose
// and are bounded in time; run them under -race.

// rvQuietConfig is a count window of size that never trips on its own
// (ConsecutiveFailures beyond any test's calls, no rate condition).
func rvQuietConfig(size int) Config {
	cfg := DefaultConfig()
	cfg.Window = CountWindow(size)
	cfg.FailureRate, cfg.ConsecutiveFailures, cfg.MinimumCalls = 0, 1<<30, 1
	return cfg
}

// rvNew makes an actor breaker on a mock clock, closed at the test's end.
func rvNew(t *testing.T, name string, cfg Config, opts ...Option) (*Breaker, *clock.Mock) {
	t.Helper()
	mk := clock.NewMock()
	b, err := New(name, cfg, append([]Option{WithClock(mk)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, mk
}

// rvRingMatches checks that w's counters agree with its ring and that the
// ring holds want: slot i holds want[i], the rest are empty; calls is the
// number of calls the window should hold.
func rvRingMatches(t *testing.T, what string, w *liveWindow, want []uint32, calls int) {
	t.Helper()
	r := w.ring.Load()
	if r == nil {
		t.Fatalf("%s: the window has no ring", what)
	}
	fails, slow := 0, 0
	for i := range w.size {
		var wb uint32
		if i < uint64(len(want)) {
			wb = want[i]
		}
		if s := w.slot(r, i); s != wb {
			t.Errorf("%s: slot %d holds %02b, want %02b", what, i, s, wb)
		}
		if wb&bitFailure != 0 {
			fails++
		}
		if wb&bitSlow != 0 {
			slow++
		}
	}
	if c := w.counts(0); c.Calls != calls || c.Failures != fails || c.SlowCalls != slow {
		t.Errorf("%s: counts %+v, want %d calls, %d failures, %d slow", what, c, calls, fails, slow)
	}
	if word := ringWord(r, 0).Load(); uint32(word>>32) != w.tag {
		t.Errorf("%s: ring word tagged %d, window's tag %d", what, word>>32, w.tag)
	}
}

// rvSlots returns every slot of w's ring.
func rvSlots(w *liveWindow) []uint32 {
	r := w.ring.Load()
	out := make([]uint32, w.size)
	for i := range out {
		out[i] = w.slot(r, uint64(i))
	}
	return out
}

// rvStraddle is a report of window w that passed the retired check (its
// add on the packed word, done now) and writes its ring slot later
// (finish): what liveWindow.record does with a retirement, and any number
// of ring hand-overs, between the two.
type rvStraddle struct {
	w *liveWindow
	n uint64
}

func rvBeginReport(w *liveWindow) rvStraddle {
	n := w.n.Add(nCalls + nFails)
	if n&nRetired != 0 {
		panic("rvBeginReport on a retired window")
	}
	return rvStraddle{w, n}
}

// finish writes the straddling report's slot, as record does, and then
// latches a trip on its window as a crossing report would: the window is
// retired, so neither may touch the current period.
func (s rvStraddle) finish() {
	w := s.w
	if old, changed := w.setSlot(w.loadRing(), (nCallsOf(s.n)-1)%w.size, bitFailure); changed {
		w.adjust(old, bitFailure)
	}
	w.shut(w.counts(0))
}

// Invariant: a stale Closed permit never counts in a later period, whether
// its report lands after the ring was handed to period N+1, to N+2 (the
// same ring comes back every other period in a chain of Closed periods),
// or across a Reconfigure that reshapes the window and back; and a latch it
// sets on its retired window trips nothing. Its outcome counts once in the
// lifetime counters (it was added to the packed word before the
// retirement, which folded it).
func TestReviewStaleWriterAcrossRingHandOvers(t *testing.T) {
	const size = 20
	b, _ := rvNew(t, "stale-ring", rvQuietConfig(size))
	ctx := context.Background()
	reported := uint64(0)
	call := func(o rune) {
		t.Helper()
		p, err := b.Acquire(ctx)
		if err != nil {
			t.Fatalf("Acquire: %v", err)
		}
		reported++
		if o == 'F' {
			p.Failure()
		} else {
			p.Success()
		}
	}
	fill := func(pattern string) []uint32 {
		var want []uint32
		for _, o := range pattern {
			call(o)
			if o == 'F' {
				want = append(want, bitFailure)
			} else {
				want = append(want, 0)
			}
		}
		return want
	}
	cur := func() *liveWindow { return b.view.Load().win }

	var stale []rvStraddle
	rings := map[*atomic.Uint64]bool{}
	// Six Closed periods in a chain (Reset), each with calls and a report
	// straddling its end; from the third on each reuses a ring.
	for period := range 6 {
		w := cur()
		want := fill("SSFSS")
		rings[w.ring.Load()] = true
		rvRingMatches(t, fmt.Sprintf("period %d before the stale writers", period), w, want, len(want))
		for _, s := range stale {
			s.finish()
		}
		b.settle()
		if s := b.State(); s != Closed {
			t.Fatalf("period %d: state %v after stale reports, want Closed", period, s)
		}
		rvRingMatches(t, fmt.Sprintf("period %d after the stale writers", period), w, want, len(want))
		stale = append(stale, rvBeginReport(w))
		reported++
		b.Reset()
	}
	if len(rings) > 2 {
		t.Fatalf("%d rings for 6 periods of one size: the ring was not handed on", len(rings))
	}

	// Reshape the current window (its own new ring) and back, then more
	// periods: the stale writers of every earlier period report into each.
	for _, sz := range []int{10, size, size} {
		w := cur()
		fill("SF")
		stale = append(stale, rvBeginReport(w))
		reported++
		cfg := rvQuietConfig(sz)
		if err := b.Reconfigure(cfg); err != nil {
			t.Fatal(err)
		}
		if sz == size {
			b.Reset() // a Closed period with a handed ring
		}
		w = cur()
		fill("FSS")
		// The reshaped window holds calls carried over: what it holds
		// before the stale writers is what it must hold after.
		want, calls := rvSlots(w), w.counts(0).Calls
		for _, s := range stale {
			s.finish()
		}
		b.settle()
		if s := b.State(); s != Closed {
			t.Fatalf("size %d: state %v after stale reports, want Closed", sz, s)
		}
		if w != cur() {
			t.Fatal("a stale latch retired the current window")
		}
		rvRingMatches(t, fmt.Sprintf("size %d after the stale writers", sz), w, want, calls)
	}
	m := b.Metrics()
	if got := m.Successes + m.Failures; got != reported {
		t.Fatalf("lifetime successes+failures %d, want %d (each report once)", got, reported)
	}
	if m.Trips != 0 {
		t.Fatalf("%d trips: a stale latch tripped the breaker", m.Trips)
	}
}

// rvRaceFor is how long each race test races.
const rvRaceFor = 1200 * time.Millisecond

// rvChain collects a subscription's events until it is closed, or stop is
// closed and the channel is empty, and returns them.
func rvChain(sub *events.Subscription, stop <-chan struct{}) <-chan []events.Event {
	out := make(chan []events.Event, 1)
	go func() {
		var evs []events.Event
		for {
			select {
			case ev, ok := <-sub.C():
				if !ok {
					out <- evs
					return
				}
				evs = append(evs, ev)
			case <-stop:
				for {
					select {
					case ev, ok := <-sub.C():
						if ok {
							evs = append(evs, ev)
							continue
						}
					default:
					}
					out <- evs
					return
				}
			}
		}
	}()
	return out
}

// rvCheckChain checks that a breaker's events (StateChanged and
// ActorRestarted), from its first, form one chain: consecutive Seq, each
// transition's From the previous To (a transition lost or applied twice
// breaks it), a restart in the state it found, transition times that
// never go back (the clock is the real one), and as many transitions and
// trips as the breaker counted.
func rvCheckChain(t *testing.T, evs []events.Event, m Metrics) {
	t.Helper()
	prev := Closed
	var trips, transitions uint64
	var last time.Time
	for i, ev := range evs {
		if ev.Seq != uint64(i+1) {
			t.Fatalf("event %d has Seq %d: %s", i, ev.Seq, ev)
		}
		if ev.From != prev || (ev.Kind == events.ActorRestarted && ev.To != prev) {
			t.Fatalf("event %d goes %v → %v after a transition to %v (lost or doubled): %s", i, ev.From, ev.To, prev, ev)
		}
		if ev.Kind != events.StateChanged {
			continue // a restart is stamped when it happens, a trip at its latch
		}
		if ev.Time.Before(last) {
			t.Fatalf("event %d, %s, at %v: before the transition it follows, at %v", i, ev, ev.Time, last)
		}
		last = ev.Time
		transitions++
		if ev.To == Open {
			trips++
		}
		prev = ev.To
	}
	if transitions != m.Transitions || trips != m.Trips || prev != m.State {
		t.Fatalf("%d transitions (%d trips, last to %v); the breaker counts %d transitions, %d trips, state %v",
			transitions, trips, prev, m.Transitions, m.Trips, m.State)
	}
}

// Invariants, racing on purpose (a breaker recovering in a nanosecond, so
// transitions are applied by due() with no timer, count windows whose ring
// is handed from period to period and reshaped, commands, stale permits
// reported from later periods, probes reported twice or never):
//   - every report counts once in the lifetime counters (a Closed permit
//     each time it is reported, a probe at its first report only): at the
//     end the totals are exact;
//   - the lifetime counters are monotonic to every reader, and cover every
//     report that returned before Metrics was called (a goroutine's
//     Metrics reflects its own earlier reports, and those it has heard of);
//   - no transition is lost or doubled: the events form one chain, as many
//     as Transitions.
func TestReviewRaceLifetimeExactUnderChurn(t *testing.T) { rvChurn(t, false) }

// The same invariants while the actor panics on one message in 64 (an
// injected fault) and restarts from the published view in a new epoch:
// probes in flight become stale and count once, the window carries on.
func TestReviewRaceLifetimeExactUnderActorRestarts(t *testing.T) { rvChurn(t, true) }

func rvChurn(t *testing.T, faults bool) {
	var opts []Option
	if faults {
		var n atomic.Uint64
		opts = append(opts, withTestHooks(&testHooks{panicOnMessage: func() bool {
			return n.Add(1)%64 == 0
		}}))
	}
	cfg := DefaultConfig()
	cfg.Window = CountWindow(32)
	cfg.ConsecutiveFailures, cfg.FailureRate, cfg.MinimumCalls = 3, 0.5, 8
	cfg.OpenTimeout, cfg.MaxOpenTimeout, cfg.BackoffMultiplier = time.Nanosecond, time.Nanosecond, 1
	cfg.HalfOpen = HalfOpenPolicy{MaxProbes: 3, Mode: Strict, SuccessThreshold: 2, MaxWait: time.Millisecond}
	b, err := New("churn", cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	sub := b.Subscribe(events.WithKinds(events.StateChanged, events.ActorRestarted), events.WithBuffer(4096))
	stopEvents := make(chan struct{})
	chain := rvChain(sub, stopEvents)

	var (
		counted  atomic.Uint64 // reports that returned and count
		stop     atomic.Bool
		wg       sync.WaitGroup
		stale    = make(chan Permit, 256)
		failures = make(chan string, 16)
	)
	fail := func(format string, args ...any) {
		select {
		case failures <- fmt.Sprintf(format, args...):
		default:
		}
		stop.Store(true)
	}
	report := func(p Permit, r *rand.Rand) {
		switch x := r.IntN(100); {
		case x < 60:
			p.Success()
		case x < 92:
			p.Failure()
		default:
			p.Ignore()
		}
		counted.Add(1)
		if p.probe != 0 && r.IntN(4) == 0 {
			p.Failure() // a second report of a probe counts nothing
		}
	}
	start := make(chan struct{})
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 1))
			<-start
			for !stop.Load() {
				p, err := b.Acquire(context.Background())
				if err != nil {
					continue
				}
				switch x := r.IntN(100); {
				case p.probe != 0 && x < 2:
					// a probe never reported: MaxWait reclaims it
				case p.probe == 0 && x < 10:
					select {
					case stale <- p:
					default:
						report(p, r)
					}
				default:
					report(p, r)
				}
				if r.IntN(8) == 0 {
					select {
					case q := <-stale:
						report(q, r) // from a later period, most likely
					default:
					}
				}
			}
		}()
	}
	// Readers: the lifetime counters never go down and cover every report
	// that returned before the read.
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			var last, lastTrans uint64
			for !stop.Load() {
				floor := counted.Load()
				m := b.Metrics()
				total := m.Successes + m.Failures + m.Ignored
				if total < floor {
					fail("Metrics counts %d reports, %d had returned before it was called", total, floor)
				}
				if total < last || m.Transitions < lastTrans {
					fail("lifetime counters went down: %d → %d reports, %d → %d transitions", last, total, lastTrans, m.Transitions)
				}
				last, lastTrans = total, m.Transitions
			}
		}()
	}
	// Commands and reshapes. Each pair is sent back to back: the goroutine
	// may be descheduled between them, and the breaker should spend most
	// of the run cycling through Closed, Open and HalfOpen.
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := rand.New(rand.NewPCG(9, 9))
		<-start
		for !stop.Load() {
			switch x := r.IntN(40); {
			case x == 0:
				b.ForceOpen()
				b.Reset()
			case x == 1:
				b.Disable() // counts, never trips, until the Reset
				b.Reset()
			case x < 8:
				b.Reset()
			case x < 20:
				c := cfg
				c.Window = CountWindow([]int{16, 32, 48}[r.IntN(3)])
				if err := b.Reconfigure(c); err != nil {
					fail("Reconfigure: %v", err)
				}
			default:
				runtime.Gosched()
			}
		}
	}()
	close(start)
	deadline := time.Now().Add(rvRaceFor)
	for time.Now().Before(deadline) && !stop.Load() {
		time.Sleep(10 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	close(failures)
	for f := range failures {
		t.Error(f)
	}
	r := rand.New(rand.NewPCG(7, 7))
	for len(stale) > 0 {
		report(<-stale, r)
	}
	b.settle()
	m := b.Metrics()
	if total := m.Successes + m.Failures + m.Ignored; total != counted.Load() {
		t.Errorf("lifetime counts %d reports (%d successes, %d failures, %d ignored), want %d",
			total, m.Successes, m.Failures, m.Ignored, counted.Load())
	}
	close(stopEvents)
	evs := <-chain
	if sub.Dropped() != 0 {
		t.Fatalf("the subscription dropped %d events", sub.Dropped())
	}
	rvCheckChain(t, evs, m)
	t.Logf("%d reports, %d transitions, %d trips, %d events", counted.Load(), m.Transitions, m.Trips, len(evs))
}

// rvHold is a test hook that holds the actor on the message during which
// armed is set, until release is closed: the message's handler then runs
// with whatever was latched meanwhile.
type rvHold struct {
	armed   atomic.Bool
	held    chan struct{}
	release chan struct{}
}

func newRVHold() *rvHold {
	return &rvHold{held: make(chan struct{}), release: make(chan struct{})}
}

func (h *rvHold) hooks() *testHooks {
	return &testHooks{panicOnMessage: func() bool {
		if h.armed.CompareAndSwap(true, false) {
			close(h.held)
			<-h.release
		}
		return false
	}}
}

// Invariant: a trip latched is made formal exactly once, at the latched
// time and from the latched counts, before the command that raced it
// (Reset, ForceOpen, Disable, a Reconfigure that reshapes the window,
// Close) is applied; the command then applies at its own time. The
// command's message is the one the actor is held on while the trip
// latches, so it is the message that finds the latch; reports of permits
// granted before the latch add to the window, not to the trip's counts.
func TestReviewCommandRacingLatchedTrip(t *testing.T) {
	cmds := []struct {
		name string
		run  func(b *Breaker)
		to   State // the command's transition after the trip; Open: none
	}{
		{"Reset", (*Breaker).Reset, Closed},
		{"ForceOpen", (*Breaker).ForceOpen, ForcedOpen},
		{"Disable", (*Breaker).Disable, Disabled},
		{"Reconfigure", func(b *Breaker) {
			cfg := rvTripConfig()
			cfg.Window = CountWindow(10)
			if err := b.Reconfigure(cfg); err != nil {
				panic(err)
			}
		}, Open},
		{"Close", func(b *Breaker) { b.Close() }, Open},
	}
	for _, cmd := range cmds {
		t.Run(cmd.name, func(t *testing.T) {
			h := newRVHold()
			b, mk := rvNew(t, "latched", rvTripConfig(), withTestHooks(h.hooks()))
			sub := b.Subscribe(events.WithBuffer(64))
			t0 := mk.Now()
			ctx := context.Background()
			var ps []Permit
			for range 5 {
				p, err := b.Acquire(ctx)
				if err != nil {
					t.Fatal(err)
				}
				ps = append(ps, p)
			}
			h.armed.Store(true)
			done := make(chan struct{})
			go func() { defer close(done); cmd.run(b) }()
			<-h.held
			for _, p := range ps[:3] {
				p.Failure() // the third latches the trip; its message queues
			}
			_, latched := b.Acquire(ctx)
			if b.State() != Closed || !errors.Is(latched, ErrOpen) {
				t.Fatalf("while held: state %v, Acquire %v; want Closed and the latch's rejection", b.State(), latched)
			}
			mk.Add(time.Second)
			for _, p := range ps[3:] {
				p.Failure() // granted before the latch: counts in the window only
			}
			close(h.release)
			<-done
			if cmd.name != "Close" {
				b.settle()
			}
			var evs []events.Event
			for len(sub.C()) > 0 {
				evs = append(evs, <-sub.C())
			}
			changes := stateChangesOf(evs)
			if len(changes) == 0 || changes[0].To != Open {
				t.Fatalf("events %v: want the trip first", changes)
			}
			trip := changes[0]
			if trip.From != Closed || !trip.Time.Equal(t0) || trip.Reason != ReasonConsecutiveFailures || trip.Count != 3 {
				t.Errorf("trip %s: want Closed → Open at the latch's time %v from the latched count 3", trip, t0)
			}
			want := 1
			if cmd.to != Open {
				want = 2
				if c := changes[1]; c.From != Open || c.To != cmd.to || !c.Time.Equal(t0.Add(time.Second)) {
					t.Errorf("after the trip %s; want Open → %v at %v", c, cmd.to, t0.Add(time.Second))
				}
			}
			if len(changes) != want {
				t.Fatalf("%d state changes %v, want %d", len(changes), changes, want)
			}
			m := b.Metrics()
			if m.Trips != 1 || m.Failures != 5 {
				t.Fatalf("Trips %d, Failures %d; want 1 and 5", m.Trips, m.Failures)
			}
			if cmd.to == Open && cmd.name != "Close" {
				if _, err := b.Acquire(ctx); err != latched {
					t.Fatalf("the open period rejects with %p (%v), the latch did with %p: one *OpenError a period", err, err, latched)
				}
			}
		})
	}
}

// rvTripConfig trips on 3 failures in a row, stays open 30 s.
func rvTripConfig() Config {
	cfg := DefaultConfig()
	cfg.Window = CountWindow(20)
	cfg.ConsecutiveFailures, cfg.FailureRate = 3, 0
	return cfg
}

// stateChangesOf returns the StateChanged events of evs.
func stateChangesOf(evs []events.Event) []events.Event {
	var out []events.Event
	for _, ev := range evs {
		if ev.Kind == events.StateChanged {
			out = append(out, ev)
		}
	}
	return out
}

// rvArmedForDeadline checks, once b is settled, that the machine's
// deadline (if any) is armed in the timer service: a deadline publish left
// unarmed because it was due must have been applied by due(), never left
// waiting for a timer that does not exist.
func rvArmedForDeadline(t *testing.T, b *Breaker) {
	t.Helper()
	b.settle()
	a := b.act
	d := a.m.Deadline()
	if d.IsZero() {
		return
	}
	b.timers.mu.Lock()
	defer b.timers.mu.Unlock()
	n := a.node
	if n == nil || !n.when.Equal(d) || n.epoch != a.m.Epoch() || (b.timers.exact && n.own == nil) || (!b.timers.exact && n.index < 0) {
		t.Fatalf("the machine's deadline %v (epoch %d) is not armed (node %+v)", d, a.m.Epoch(), n)
	}
}

type rvChange struct {
	to State
	at time.Duration // after the test's start
}

// rvExpectChanges checks the StateChanged events queued on sub are want,
// and form a chain from Closed.
func rvExpectChanges(t *testing.T, sub *events.Subscription, t0 time.Time, from State, want ...rvChange) State {
	t.Helper()
	var got []events.Event
	for len(sub.C()) > 0 {
		if ev := <-sub.C(); ev.Kind == events.StateChanged {
			got = append(got, ev)
		}
	}
	ok, to := len(got) == len(want), from
	for i := 0; ok && i < len(got); i++ {
		ok = got[i].From == to && got[i].To == want[i].to && got[i].Time.Equal(t0.Add(want[i].at))
		to = got[i].To
	}
	if !ok {
		var desc []string
		for _, ev := range got {
			desc = append(desc, fmt.Sprintf("%v → %v at +%v", ev.From, ev.To, ev.Time.Sub(t0)))
		}
		t.Fatalf("state changes from %v: %v, want %+v", from, desc, want)
	}
	return to
}

// Invariant: no transition is lost or doubled when a deadline is already
// due as the actor publishes the state that has it (publish arms no such
// deadline; due() applies it before the actor lets go): each due
// transition happens once, at its own deadline, and whatever deadline is
// left is armed. Cases: a trip made formal exactly at, and well after, its
// open deadline; a never-reported probe reclaimed by MaxWait; a
// Reconfigure that moves the open deadline into the past; an adopted open
// period with nothing left.
func TestReviewDueDeadlineAtPublish(t *testing.T) {
	const ot, mw = 5 * time.Second, 2 * time.Second
	cfg := rvTripConfig()
	cfg.OpenTimeout, cfg.MaxOpenTimeout, cfg.BackoffMultiplier = ot, ot, 1
	cfg.HalfOpen = HalfOpenPolicy{MaxProbes: 1, Mode: Strict, SuccessThreshold: 1, MaxWait: mw}
	ctx := context.Background()
	// latchLate latches a trip at the clock's reading while the actor is
	// held, and lets the actor make it formal late after moving the clock.
	latchLate := func(t *testing.T, late time.Duration) (*Breaker, *clock.Mock, *events.Subscription, time.Time) {
		h := newRVHold()
		b, mk := rvNew(t, "due", cfg, withTestHooks(h.hooks()))
		sub := b.Subscribe(events.WithBuffer(64))
		t0 := mk.Now()
		h.armed.Store(true)
		go b.settle()
		<-h.held
		for range 3 {
			p, _ := b.Acquire(ctx)
			p.Failure()
		}
		mk.Add(late)
		close(h.release)
		b.settle()
		return b, mk, sub, t0
	}

	t.Run("trip formal at its deadline", func(t *testing.T) {
		b, mk, sub, t0 := latchLate(t, ot)
		s := rvExpectChanges(t, sub, t0, Closed, rvChange{Open, 0}, rvChange{HalfOpen, ot})
		rvArmedForDeadline(t, b)
		advance(b, mk, mw) // MaxWait with no probe: the period restarts, no transition
		rvExpectChanges(t, sub, t0, s)
		rvArmedForDeadline(t, b)
	})

	t.Run("trip formal after MaxWait too; probe reclaimed", func(t *testing.T) {
		b, mk, sub, t0 := latchLate(t, ot+mw*5/2)
		s := rvExpectChanges(t, sub, t0, Closed, rvChange{Open, 0}, rvChange{HalfOpen, ot})
		rvArmedForDeadline(t, b)
		lost, err := b.Acquire(ctx) // never reported in time
		if err != nil || lost.probe == 0 {
			t.Fatalf("probe: %v", err)
		}
		// The half-open period restarted at each MaxWait deadline that
		// passed with no probe (ot+mw, ot+2mw): the probe is reclaimed at
		// the next one.
		reclaimed := ot + 3*mw
		advance(b, mk, mw)
		s = rvExpectChanges(t, sub, t0, s, rvChange{Open, reclaimed})
		advance(b, mk, ot)
		s = rvExpectChanges(t, sub, t0, s, rvChange{HalfOpen, reclaimed + ot})
		rvArmedForDeadline(t, b)
		before := b.Metrics()
		lost.Success() // stale: counts once in the lifetime counters, closes nothing
		lost.Success()
		m := b.Metrics()
		if m.State != HalfOpen || m.Successes != before.Successes+1 || m.HalfOpenInFlight != 0 {
			t.Fatalf("after the reclaimed probe's reports: %+v (before %+v)", m, before)
		}
		rvExpectChanges(t, sub, t0, s)
	})

	t.Run("Reconfigure moves the open deadline into the past", func(t *testing.T) {
		b, mk := rvNew(t, "due", cfg)
		sub := b.Subscribe(events.WithBuffer(64))
		t0 := mk.Now()
		for range 3 {
			p, _ := b.Acquire(ctx)
			p.Failure()
		}
		advance(b, mk, 3*time.Second)
		short := cfg
		short.OpenTimeout, short.MaxOpenTimeout = time.Second, time.Second
		if err := b.Reconfigure(short); err != nil {
			t.Fatal(err)
		}
		// The engine puts a deadline the new timeout has passed at the
		// reconfiguration's time: due as the actor applies it.
		s := rvExpectChanges(t, sub, t0, Closed, rvChange{Open, 0}, rvChange{HalfOpen, 3 * time.Second})
		rvArmedForDeadline(t, b)
		advance(b, mk, ot) // past the old deadline and MaxWait: nothing more
		rvExpectChanges(t, sub, t0, s)
		rvArmedForDeadline(t, b)
	})

	t.Run("adopted open period with nothing left", func(t *testing.T) {
		b, mk := rvNew(t, "due", cfg)
		sub := b.Subscribe(events.WithBuffer(64))
		t0 := mk.Now()
		b.adopt(engine.Remote{State: Open, Remaining: 0, Origin: "elsewhere"}, true)
		// The machine adopts it as HalfOpen (its open period is over).
		s := rvExpectChanges(t, sub, t0, Closed, rvChange{HalfOpen, 0})
		rvArmedForDeadline(t, b)
		advance(b, mk, ot)
		rvExpectChanges(t, sub, t0, s)
	})
}

// Invariants: nothing is emitted for a breaker once its Close has returned
// (not to its own subscribers, whose subscriptions are all closed, made
// before, during or after Close, and not to its supervisor's hub, which
// stays open), though reports, commands, Metrics, Reconfigure and
// Subscribe keep coming, racing Close while the breaker recovers in a
// nanosecond; and no goroutine outlives it.
func TestReviewRaceCloseEmitsNothingAfter(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	sv := NewSupervisor()
	defer sv.Close()
	cfg := DefaultConfig()
	cfg.Window = CountWindow(16)
	cfg.ConsecutiveFailures, cfg.FailureRate = 2, 0
	cfg.OpenTimeout, cfg.MaxOpenTimeout, cfg.BackoffMultiplier = time.Nanosecond, time.Nanosecond, 1
	cfg.HalfOpen = HalfOpenPolicy{MaxProbes: 2, Mode: Strict, SuccessThreshold: 1, MaxWait: time.Millisecond}
	b, err := sv.GetOrCreate("victim", cfg)
	if err != nil {
		t.Fatal(err)
	}
	svSub := sv.Subscribe(events.WithKinds(events.AllKinds()...), events.WithBuffer(1024), events.WithBreakers("victim"))
	var (
		maxSeq   atomic.Uint64 // the highest Seq the supervisor's subscriber saw
		received = make(chan struct{})
	)
	go func() {
		defer close(received)
		for ev := range svSub.C() {
			if ev.Seq > maxSeq.Load() {
				maxSeq.Store(ev.Seq)
			}
		}
	}()

	var (
		stop   atomic.Bool
		closed atomic.Bool
		wg     sync.WaitGroup
		subsMu sync.Mutex
		subs   []*events.Subscription
		stale  = make(chan Permit, 64)
		bad    atomic.Value
	)
	start := make(chan struct{})
	for g := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 2))
			<-start
			for !stop.Load() {
				switch x := r.IntN(100); {
				case x < 70:
					after := closed.Load()
					p, err := b.Acquire(context.Background())
					if after && !errors.Is(err, ErrStopped) {
						bad.Store(fmt.Sprintf("Acquire after Close returned: %v, want ErrStopped", err))
					}
					if err != nil {
						continue
					}
					select {
					case stale <- p:
					default:
						if r.IntN(3) == 0 {
							p.Failure()
						} else {
							p.Success()
						}
					}
				case x < 80:
					select {
					case p := <-stale:
						p.Failure()
					default:
					}
				case x < 85:
					s := b.Subscribe(events.WithKinds(events.AllKinds()...), events.WithBuffer(1))
					subsMu.Lock()
					subs = append(subs, s)
					subsMu.Unlock()
				case x < 88:
					[]func(){b.Reset, b.ForceOpen, b.Disable}[r.IntN(3)]()
				case x < 92:
					c := cfg
					c.Window = CountWindow(8 + 8*r.IntN(3))
					if err := b.Reconfigure(c); err != nil && !errors.Is(err, ErrStopped) {
						bad.Store(fmt.Sprintf("Reconfigure: %v", err))
					}
				default:
					b.Metrics()
				}
			}
		}()
	}
	close(start)
	// Race for a while, then Close while everything goes on.
	time.Sleep(rvRaceFor / 3)
	b.Close()
	closed.Store(true)
	b.emitter.mu.Lock()
	seqAtClose := b.emitter.seq
	b.emitter.mu.Unlock()
	time.Sleep(rvRaceFor / 3)
	stop.Store(true)
	wg.Wait()
	if msg := bad.Load(); msg != nil {
		t.Error(msg)
	}
	for len(stale) > 0 {
		(<-stale).Success()
	}
	b.Metrics()
	b.Reset()
	b.emitter.mu.Lock()
	seqAfter := b.emitter.seq
	b.emitter.mu.Unlock()
	if seqAfter != seqAtClose {
		t.Errorf("%d events emitted after Close returned (Seq %d then %d)", seqAfter-seqAtClose, seqAtClose, seqAfter)
	}
	sv.Close()
	<-received
	if got := maxSeq.Load(); got > seqAtClose || seqAtClose == 0 {
		t.Errorf("the supervisor's subscriber saw Seq %d; Close returned at Seq %d", got, seqAtClose)
	}
	subs = append(subs, b.Subscribe())
	for i, s := range subs {
		timeout := time.After(5 * time.Second)
	drain:
		for {
			select {
			case _, ok := <-s.C():
				if !ok {
					break drain
				}
			case <-timeout:
				t.Fatalf("subscription %d of %d still open after Close", i, len(subs))
			}
		}
	}
	if m := b.Metrics(); m.Transitions < 2 {
		t.Fatalf("only %d transitions before Close: the race did not race", m.Transitions)
	}
}

// Invariants for what is made lazily, under concurrent first messages:
// the actor made at a breaker's first message is made once and owned by
// one goroutine at a time (-race), and the hub made at the first
// Subscribe is made once: every subscriber, however its Subscribe raced
// the others and the first transitions, receives every event emitted
// after its Subscribe returned, in Seq order with no gap, and the Seq of
// the last event is the number of transitions (nothing emitted twice or
// skipped).
func TestReviewRaceLazyActorAndHub(t *testing.T) {
	deadline := time.Now().Add(rvRaceFor)
	rounds := 0
	for ; rounds < 400 && time.Now().Before(deadline); rounds++ {
		b, err := New("lazy", rvTripConfig())
		if err != nil {
			t.Fatal(err)
		}
		var (
			ready atomic.Int32
			wg    sync.WaitGroup
			subs  [3]*events.Subscription
		)
		ops := []func(){
			func() { subs[0] = b.Subscribe(events.WithBuffer(64)) },
			func() { subs[1] = b.Subscribe(events.WithBuffer(64)) },
			func() { subs[2] = b.Subscribe(events.WithBuffer(64)) },
			b.ForceOpen,
			b.Reset,
			func() { b.Metrics() },
			func() {
				for range 3 {
					if p, err := b.Acquire(context.Background()); err == nil {
						p.Failure()
					}
				}
			},
		}
		if rounds%2 == 0 {
			// Two first Subscribes alone, one per core, released by a
			// spin barrier: the hub's creation races itself.
			ops = []func(){ops[0], ops[1], ops[3]}
		}
		for _, op := range ops {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ready.Add(1)
				for ready.Load() < int32(len(ops)) { // spin: start together
					if len(ops) > runtime.GOMAXPROCS(0) {
						runtime.Gosched()
					}
				}
				op()
			}()
		}
		wg.Wait()
		b.Reset() // after every Subscribe returned: each must receive it
		b.settle()
		m := b.Metrics()
		b.emitter.mu.Lock()
		seq := b.emitter.seq
		b.emitter.mu.Unlock()
		if seq != m.Transitions {
			t.Fatalf("round %d: %d transitions took Seq up to %d", rounds, m.Transitions, seq)
		}
		for i, s := range subs {
			if s == nil {
				continue
			}
			var last events.Event
			n := 0
			for len(s.C()) > 0 {
				ev := <-s.C()
				if n > 0 && (ev.Seq != last.Seq+1 || ev.From != last.To) {
					t.Fatalf("round %d, subscriber %d: %s after %s", rounds, i, ev, last)
				}
				last, n = ev, n+1
			}
			if n == 0 || last.Seq != seq || last.To != Closed || last.Reason != ReasonManual {
				t.Fatalf("round %d, subscriber %d: %d events, last %s; want the final Reset, Seq %d", rounds, i, n, last, seq)
			}
		}
		b.Close()
		for i, s := range subs {
			if s == nil {
				continue
			}
			if _, ok := <-s.C(); ok {
				t.Fatalf("round %d: subscription %d open after Close", rounds, i)
			}
		}
	}
	t.Logf("%d rounds", rounds)
}

// rvStallClock is a mock clock whose next Now, once armed, reads the time
// and then waits for release before returning it: the goroutine that
// called it (the actor, in the tests) is held just after its reading.
type rvStallClock struct {
	*clock.Mock
	armed   atomic.Bool
	held    chan struct{}
	release chan struct{}
}

func (c *rvStallClock) Now() time.Time {
	now := c.Mock.Now()
	if c.armed.CompareAndSwap(true, false) {
		close(c.held)
		<-c.release
	}
	return now
}

// Invariant: a latched trip is never made formal after a transition read
// at an earlier time (the machine stamps each transition with the time
// given). The interleaving: the actor starts a command, finds no latch
// and reads the clock (t0); a report then latches a trip a second later
// (t0+1s); the actor makes the latched trip formal before the command
// (advance's checkTrip). The command's transition must not be stamped
// before the trip's, which would move the breaker's Since back, and make
// the events go back in time.
func TestRegressionLatchAfterActorReadsClock(t *testing.T) {
	for _, cmd := range []struct {
		name string
		run  func(b *Breaker)
	}{
		{"Reset", (*Breaker).Reset},
		{"ForceOpen", (*Breaker).ForceOpen},
		{"Disable", (*Breaker).Disable},
	} {
		t.Run(cmd.name, func(t *testing.T) {
			clk := &rvStallClock{Mock: clock.NewMock(), held: make(chan struct{}), release: make(chan struct{})}
			b, err := New("stall", rvTripConfig(), WithClock(clk))
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			sub := b.Subscribe(events.WithBuffer(64))
			var ps []Permit
			for range 3 {
				p, err := b.Acquire(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				ps = append(ps, p)
			}
			clk.armed.Store(true)
			done := make(chan struct{})
			go func() { defer close(done); cmd.run(b) }()
			<-clk.held // the actor has read t0 and found no latch
			clk.Add(time.Second)
			for _, p := range ps {
				p.Failure() // the third latches at t0+1s
			}
			close(clk.release)
			<-done
			b.settle()
			var last events.Event
			for len(sub.C()) > 0 {
				ev := <-sub.C()
				if ev.Time.Before(last.Time) {
					t.Errorf("%s at %v after %s at %v: a transition stamped before the one it follows",
						ev, ev.Time.Format(time.StampNano), last, last.Time.Format(time.StampNano))
				}
				last = ev
			}
			if m := b.Metrics(); m.Trips != 1 {
				t.Errorf("%d trips, want 1", m.Trips)
			}
		})
	}
}

// Invariant: one goroutine's messages are applied in the order it sent
// them, also when it does not wait for them and the owner hands the actor
// to a goroutine of its own (after inlineBudget messages) while others
// send too. The actor is held while 3×inlineBudget adopted states (each a
// transition, told apart by its Origin) queue from one goroutine, with
// another goroutine's waiting Metrics and Resets interleaved.
func TestReviewMailboxFIFOAcrossHandOff(t *testing.T) {
	h := newRVHold()
	b, _ := rvNew(t, "fifo", rvTripConfig(), withTestHooks(h.hooks()))
	sub := b.Subscribe(events.WithBuffer(256))
	h.armed.Store(true)
	go b.settle()
	<-h.held
	const n = 3 * inlineBudget
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := range n {
			st := []State{ForcedOpen, Disabled}[i%2]
			b.adopt(engine.Remote{State: st, Manual: true, Origin: fmt.Sprint(i)}, false)
		}
	}()
	go func() {
		defer wg.Done()
		var mg sync.WaitGroup
		for range 4 {
			mg.Add(1)
			go func() { defer mg.Done(); b.Metrics() }()
		}
		mg.Wait()
	}()
	// Let both senders queue before the actor goes on (polling the
	// mailbox, not sleeping).
	deadline := time.Now().Add(5 * time.Second)
	for {
		b.mb.mu.Lock()
		queued := len(b.mb.queue)
		b.mb.mu.Unlock()
		if queued >= n+4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages queued, want %d", queued, n+4)
		}
		runtime.Gosched()
	}
	close(h.release)
	wg.Wait()
	b.settle()
	next := 0
	for len(sub.C()) > 0 {
		ev := <-sub.C()
		if ev.Kind != events.StateChanged {
			continue
		}
		if ev.Origin != fmt.Sprint(next) {
			t.Fatalf("transition %s has origin %q, want %d: messages applied out of order", ev, ev.Origin, next)
		}
		next++
	}
	if next != n {
		t.Fatalf("%d adopted transitions, want %d", next, n)
	}
}

// Invariant: the half-open period made with an open period (and the
// latch's) admits the MaxProbes configured when it is entered, not when it
// was made: a Reconfigure while Open moves MaxProbes across the number of
// inline slots both ways, and each half-open period admits exactly that
// many distinct probes, then rejects with ErrTooManyProbes.
func TestReviewHalfOpenPeriodTakesMaxProbesAtEntry(t *testing.T) {
	cfg := rvTripConfig()
	cfg.HalfOpen = HalfOpenPolicy{MaxProbes: 2, Mode: Strict, SuccessThreshold: 1, MaxWait: time.Minute}
	b, mk := rvNew(t, "probes", cfg)
	ctx := context.Background()
	for _, maxProbes := range []int{inlineProbes + 3, 1, inlineProbes, inlineProbes + 1} {
		for range 3 {
			if p, err := b.Acquire(ctx); err == nil {
				p.Failure()
			}
		}
		b.settle()
		if s := b.State(); s != Open {
			t.Fatalf("state %v, want Open", s)
		}
		c := cfg
		c.HalfOpen.MaxProbes = maxProbes
		if err := b.Reconfigure(c); err != nil {
			t.Fatal(err)
		}
		mk.Add(cfg.OpenTimeout)
		b.settle()
		var probes []Permit
		for {
			p, err := b.Acquire(ctx)
			if err != nil {
				if !errors.Is(err, ErrTooManyProbes) {
					t.Fatalf("MaxProbes %d: %v after %d probes", maxProbes, err, len(probes))
				}
				break
			}
			probes = append(probes, p)
		}
		if len(probes) != maxProbes {
			t.Fatalf("the half-open period admitted %d probes, MaxProbes is %d", len(probes), maxProbes)
		}
		slots := map[uint64]bool{}
		for _, p := range probes {
			slots[p.probe>>32] = true
		}
		if len(slots) != maxProbes {
			t.Fatalf("%d probes hold %d distinct slots", maxProbes, len(slots))
		}
		for _, p := range probes {
			p.Success()
		}
		if s := b.State(); s != Closed {
			t.Fatalf("after the probes: %v, want Closed", s)
		}
	}
}

// TestRegressionFirstSubscribesShareOneHub: two first Subscribes that both
// found no hub must end up on one hub, deterministically: the test holds
// the emitter's lock until both are waiting for it (seen in their stacks),
// so both have loaded a nil hub, then lets them go. Each subscriber must
// hear the next transition. (The race test above finds a missing re-check
// under the lock only now and then without -race.)
func TestRegressionFirstSubscribesShareOneHub(t *testing.T) {
	b, err := New("first-subscribes", testConfig(nil), WithClock(clock.NewMock()))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	e := &b.emitter
	e.mu.Lock()
	locked := true
	defer func() {
		if locked { // the wait below failed: let the Subscribes go
			e.mu.Unlock()
		}
	}()
	subs := make(chan *events.Subscription, 2)
	for range 2 {
		go func() { subs <- b.Subscribe() }()
	}
	eventually(t, "both first Subscribes to wait for the emitter's lock", func() bool {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		return strings.Count(stacks, "breaker.(*emitter).subscribe") == 2 &&
			strings.Count(stacks, "lockSlow") >= 2
	})
	locked = false
	e.mu.Unlock()
	a, c := <-subs, <-subs
	defer a.Close()
	defer c.Close()
	b.ForceOpen()
	for i, s := range []*events.Subscription{a, c} {
		select {
		case ev := <-s.C():
			if ev.Kind != events.StateChanged || ev.To != ForcedOpen {
				t.Errorf("subscriber %d: first event %v; want the change to forced-open", i, ev)
			}
		case <-time.After(5 * time.Second): // a hang guard: ForceOpen has published when it returns
			t.Errorf("subscriber %d heard nothing of ForceOpen: its hub is not the breaker's", i)
		}
	}
}
