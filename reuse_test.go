package breaker

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/benbjohnson/clock"
	"github.com/breakerlabs/breaker/events"
)

// Regression tests for what the actor reuses or leaves unmade so that a
// recovery cycle and an idle breaker cost little (see period.go, liveRing
// in livewindow.go, timers.go): each reuse keeps its guarantee.

// churnConfig trips on one failure, half-opens after openTimeout and closes
// on one successful probe: bench/ "churn".
func churnConfig(openTimeout time.Duration) Config {
	cfg := DefaultConfig()
	cfg.ConsecutiveFailures, cfg.FailureRate = 1, 0
	cfg.OpenTimeout, cfg.MaxOpenTimeout, cfg.BackoffMultiplier = openTimeout, openTimeout, 1
	cfg.HalfOpen = HalfOpenPolicy{MaxProbes: 1, Mode: Strict, SuccessThreshold: 1}
	return cfg
}

// A ring handed to the next window: a writer of the retired window that
// reaches its slot after the hand-over (its add on the packed word came
// before the retirement) changes nothing, and the new window starts empty
// whatever the old one held.
func TestRingHandedOnStaleWriterChangesNothing(t *testing.T) {
	b, err := New("ring", DefaultConfig(), WithClock(clock.NewMock()))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	cfg := DefaultConfig()
	win := cfg.settings().Window
	old := newLiveWindowOf(b, true, win)
	r := old.loadRing()
	for i := range uint64(20) {
		if _, changed := old.setSlot(r, i, bitFailure|bitSlow); !changed {
			t.Fatalf("slot %d of the ring's first window: not written", i)
		}
	}
	nw := newLiveWindowOf(b, true, win)
	nw.handRing(r, 7)
	for i := range nw.size {
		if s := nw.slot(r, i); s != 0 {
			t.Fatalf("slot %d of the new window holds %b, want empty", i, s)
		}
	}
	// The stale writer of the old window, on a slot the new one has not
	// written and on one it has.
	if _, changed := nw.setSlot(r, 3, bitFailure); !changed {
		t.Fatal("the new window cannot write its own ring")
	}
	for _, i := range []uint64{3, 40, 99} {
		want := nw.slot(r, i)
		if old, changed := old.setSlot(r, i, bitSlow); changed || old != 0 {
			t.Errorf("stale writer on slot %d: changed %v (old %b); want no change", i, changed, old)
		}
		if s := nw.slot(r, i); s != want {
			t.Errorf("slot %d: %b after the stale write, want %b", i, s, want)
		}
	}
}

// A window that reuses a ring counts exactly what its own permits report,
// while permits of earlier windows (of the same ring) report concurrently:
// its failure count equals the failures in its ring, and it holds none of
// the stale outcomes. Run under -race: the hand-over and stale writers
// share words.
func TestRingReuseStaleWritersUnderLoad(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Window = CountWindow(32)
	b, err := New("ring-load", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	b.Disable() // counts, never trips: the periods end by ForceOpen
	var (
		wg    sync.WaitGroup
		stop  atomic.Bool
		stale = make(chan Permit, 4096)
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				p, err := b.Acquire(context.Background())
				if err != nil {
					continue
				}
				select {
				case stale <- p: // reported later, from another period
				default:
					p.Failure()
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			select {
			case p := <-stale:
				p.Failure()
			default:
			}
		}
	}()
	for range 300 {
		b.ForceOpen()
		b.Disable()
	}
	stop.Store(true)
	wg.Wait()
	// Quiet now: a new period, then only stale reports into it.
	b.ForceOpen()
	b.Disable()
	v := b.view.Load()
	for len(stale) > 0 {
		(<-stale).Failure()
	}
	if c := v.win.counts(0); c.Calls != 0 || c.Failures != 0 {
		t.Fatalf("stale reports counted in the new window: %+v", c)
	}
	// The last busy windows: their counters match their rings (a stale
	// writer that changed a slot of a later window would leave a failure
	// its counter does not know of, or the reverse).
	for range 20 {
		p, _ := b.Acquire(context.Background())
		p.Failure()
	}
	r := v.win.ring.Load()
	fails := 0
	for i := range uint64(20) {
		if v.win.slot(r, i)&bitFailure != 0 {
			fails++
		}
	}
	if c := v.win.counts(0); c.Failures != fails || c.Failures != 20 {
		t.Fatalf("window counts %+v, ring holds %d failures; want 20 and 20", c, fails)
	}
}

// A recovery cycle (trip, half-open, probe, close) allocates two objects:
// the latch (with the open period and the half-open period that follows it
// in it) and the closed period. It allocated 15 before views shared their
// period's allocation, the ring was reused, a due deadline stopped arming a
// timer and drain stopped moving its message to the heap.
func TestRecoveryCycleAllocs(t *testing.T) {
	b, err := New("cycle", churnConfig(time.Nanosecond))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	cycle := func() {
		p, err := b.Acquire(ctx)
		if err != nil {
			t.Fatalf("closed breaker: %v", err)
		}
		p.Failure()
		deadline := time.Now().Add(5 * time.Second)
		for {
			p, err := b.Acquire(ctx)
			if err == nil {
				p.Success()
				if b.State() == Closed {
					return
				}
				continue
			}
			if time.Now().After(deadline) {
				t.Fatalf("no recovery: %v", err)
			}
		}
	}
	cycle() // the ring is made at the first call, and the breaker's tables
	if n := testing.AllocsPerRun(100, cycle); n > 2 {
		t.Fatalf("%.0f allocations per recovery cycle, want at most 2", n)
	}
}

// The latch and the open period it turns into reject with one *OpenError:
// made by the report that latched, whose Until is the deadline the trip
// then has.
func TestLatchRejectionIsTheOpenPeriods(t *testing.T) {
	var blocking atomic.Bool
	hold, held := make(chan struct{}), make(chan struct{})
	b, err := New("latch", churnConfig(time.Second), WithClock(clock.NewMock()), withTestHooks(&testHooks{panicOnMessage: func() bool {
		if blocking.CompareAndSwap(true, false) {
			held <- struct{}{}
			<-hold
		}
		return false
	}}))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	// Hold the actor: the crossing report latches, queues its trip and
	// returns.
	blocking.Store(true)
	go b.settle()
	<-held
	p, _ := b.Acquire(context.Background())
	p.Failure()
	_, latched := b.Acquire(context.Background())
	if b.State() != Closed || !errors.Is(latched, ErrOpen) {
		t.Fatalf("latched: state %v, Acquire %v; want Closed and an ErrOpen", b.State(), latched)
	}
	close(hold)
	b.settle()
	_, open := b.Acquire(context.Background())
	if b.State() != Open || open != latched {
		t.Fatalf("after the trip: state %v, rejection %p (%v); want Open and the latch's %p", b.State(), open, open, latched)
	}
	if until := open.(*OpenError).Until; !until.Equal(b.Metrics().OpenUntil) {
		t.Fatalf("the rejection says until %v, the open period ends %v", until, b.Metrics().OpenUntil)
	}
}

// A trip whose open deadline has already passed when the actor makes it
// formal goes on to HalfOpen in the same step, without arming (and then
// stopping) a timer, and both transitions keep their own times.
func TestDueOpenDeadlineArmsNoTimer(t *testing.T) {
	mk := clock.NewMock()
	start := mk.Now()
	var late atomic.Bool
	b, err := New("due", churnConfig(time.Second), WithClock(mk), withTestHooks(&testHooks{panicOnMessage: func() bool {
		if late.CompareAndSwap(true, false) {
			mk.Add(2 * time.Second) // the actor handles the trip 2 s after the latch
		}
		return false
	}}))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	sub := b.Subscribe()
	late.Store(true)
	p, _ := b.Acquire(context.Background())
	p.Failure()
	b.settle()
	if s := b.State(); s != HalfOpen {
		t.Fatalf("state %v, want HalfOpen", s)
	}
	if b.act.node != nil {
		t.Fatal("a timer node was made for a deadline already due")
	}
	for _, want := range []struct {
		to State
		at time.Time
	}{{Open, start}, {HalfOpen, start.Add(time.Second)}} {
		ev := <-sub.C()
		if ev.Kind != events.StateChanged || ev.To != want.to || !ev.Time.Equal(want.at) {
			t.Fatalf("event %v → %v at %v, want → %v at %v", ev.From, ev.To, ev.Time, want.to, want.at)
		}
	}
}

// A breaker made and never used has no actor, no hub of its own and no
// ring; the first call makes the ring, the first message the actor, the
// first Subscribe the hub. A Subscribe after Close (the hub made then, or
// before) gets a closed subscription.
func TestIdleBreakerMakesNothingUntilUsed(t *testing.T) {
	b, err := New("idle", DefaultConfig(), WithClock(clock.NewMock()))
	if err != nil {
		t.Fatal(err)
	}
	v := b.view.Load()
	if b.act != nil || b.emitter.hub.Load() != nil || v.win.ring.Load() != nil {
		t.Fatalf("idle breaker: actor %v, hub %v, ring %v; want none", b.act, b.emitter.hub.Load(), v.win.ring.Load())
	}
	p, _ := b.Acquire(context.Background())
	p.Success()
	if b.act != nil || v.win.ring.Load() == nil {
		t.Fatalf("after a call: actor %v, ring %v; want no actor and a ring", b.act, v.win.ring.Load())
	}
	sub := b.Subscribe()
	b.Reset()
	if b.act == nil || b.emitter.hub.Load() == nil {
		t.Fatal("no actor or hub after Subscribe and Reset")
	}
	if ev := <-sub.C(); ev.To != Closed || ev.Reason != ReasonManual {
		t.Fatalf("subscriber got %+v, want the Reset", ev)
	}
	b.Close()
	if _, ok := <-sub.C(); ok {
		t.Fatal("subscription open after Close")
	}
	c, err := New("idle-closed", DefaultConfig(), WithClock(clock.NewMock()))
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if _, ok := <-c.Subscribe().C(); ok {
		t.Fatal("Subscribe after Close: subscription open")
	}
}

// The live window keeps the words calls write (n, and consec and the
// counters after it) off every cache line that holds latch, which every
// Acquire reads, whatever the window's alignment: at least 64 bytes from
// latch's last byte to n's first. The read-only fields between them are
// the spacing (there is no padding); reordering them must keep it.
func TestLiveWindowLayoutKeepsLatchOffWrittenLines(t *testing.T) {
	var w liveWindow
	latchEnd := unsafe.Offsetof(w.latch) + unsafe.Sizeof(w.latch) - 1
	for name, off := range map[string]uintptr{"n": unsafe.Offsetof(w.n), "consec": unsafe.Offsetof(w.consec), "fails": unsafe.Offsetof(w.fails)} {
		if off < latchEnd+64 {
			t.Errorf("%s at offset %d, latch ends at %d: they may share a cache line", name, off, latchEnd)
		}
	}
}

// Transitions made while nobody listens (no subscriber, no supervisor)
// are not built or published, but take their Seq: the first event a later
// subscriber sees carries the Seq it would have had.
func TestUnheardTransitionsKeepTheirSeq(t *testing.T) {
	b, err := New("unheard", DefaultConfig(), WithClock(clock.NewMock()))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	b.ForceOpen()
	b.Reset()
	sub := b.Subscribe()
	b.Disable()
	if ev := <-sub.C(); ev.To != Disabled || ev.Seq != 3 {
		t.Fatalf("first event heard: → %v with Seq %d, want → disabled with Seq 3", ev.To, ev.Seq)
	}
}

// Each half-open period has its own probe table, also when it is the one
// made with the open period before it: a probe of the first half-open
// period, reclaimed by MaxWait and reported during the second, does not
// count there (it would close the breaker: one success is enough).
func TestHalfOpenPeriodsMadeWithTheirOpenPeriodAreDistinct(t *testing.T) {
	mk := clock.NewMock()
	cfg := churnConfig(time.Second)
	cfg.HalfOpen.MaxWait = time.Second
	b, err := New("halves", cfg, WithClock(mk))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	p, _ := b.Acquire(context.Background())
	p.Failure()
	advance(b, mk, time.Second)
	first := b.view.Load().probes
	lost, err := b.Acquire(context.Background())
	if err != nil || b.State() != HalfOpen {
		t.Fatalf("first half-open period: %v, %v", b.State(), err)
	}
	advance(b, mk, time.Second) // MaxWait: Open again
	advance(b, mk, time.Second) // the second half-open period
	if s := b.State(); s != HalfOpen {
		t.Fatalf("state %v, want HalfOpen", s)
	}
	if b.view.Load().probes == first {
		t.Fatal("the second half-open period reuses the first one's probe table")
	}
	lost.Success()
	if m := b.Metrics(); m.State != HalfOpen || m.HalfOpenInFlight != 0 {
		t.Fatalf("after the stale probe's report: %v with %d in flight; want HalfOpen, 0", m.State, m.HalfOpenInFlight)
	}
}
