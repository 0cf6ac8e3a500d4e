package breaker

// Events (ARCHITECTURE §6): what breakers and supervisors publish (kinds,
// reasons and the figure that decided a trip, Seq order, From/To chains,
// Attempt and Until), filtering, a full buffer dropping for its own
// subscriber only, subscribers that call back into the breaker, ordering
// across many breakers, subscriptions closed while events flow, leaks, and
// the allocation-free fast path.
//
// Tests of one circuit run over both implementations, driven by a mock
// clock; tests through a Supervisor use its actor breakers, some on the
// real clock. TestRegressionSubscriberCallbackNoDeadlock guards against
// sony/gobreaker #37, hashicorp/golang-lru #230 and gascity PR #4839
// (callbacks run under the breaker's lock deadlocked, and moved out of it
// lost their order): it races subscribers that call back against goroutines
// tripping and resetting, on purpose, with a hang guard that fails with
// every goroutine's stack.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlabs/breaker/events"
	"go.uber.org/goleak"
)

// evCounts tallies events by breaker and kind.
func evCounts(evs []events.Event) map[string]int {
	m := map[string]int{}
	for _, ev := range evs {
		m[ev.Breaker+"/"+ev.Kind.String()]++
	}
	return m
}

func TestEventTransitionsCarryReasonAndFigure(t *testing.T) {
	s, mk := newTestSupervisor(t)
	mk.Add(time.Hour)
	sub := s.Subscribe(events.WithBuffer(256))
	ctx := context.Background()

	// settleAll settles every breaker, so that the events of the
	// timeouts the mock just passed are all published.
	settleAll := func() {
		for _, b := range s.all() {
			b.settle()
		}
	}
	check := func(name string, from, to State, r Reason, rate float64, count int) events.Event {
		t.Helper()
		ev := expectTransition(t, sub, name, from, to, r)
		if ev.Rate != rate || ev.Count != count {
			t.Fatalf("%v: Rate %v Count %d, want Rate %v Count %d", ev, ev.Rate, ev.Count, rate, count)
		}
		if !ev.Time.Equal(mk.Now()) {
			t.Fatalf("%v: Time %v, want the mock's %v", ev, ev.Time, mk.Now())
		}
		return ev
	}

	// Consecutive failures: the count that tripped.
	cons := mustGetOrCreate(t, s, "consecutive", supervisorConfig())
	failCalls(t, cons, 3)
	if ev := check("consecutive", Closed, Open, ReasonConsecutiveFailures, 0, 3); ev.Seq != 1 {
		t.Fatalf("first event of a breaker has Seq %d, want 1", ev.Seq)
	}

	// Failure rate: the rate that tripped (3 of 4 calls).
	rc := supervisorConfig()
	rc.ConsecutiveFailures = 0
	rc.FailureRate = 0.5
	rc.Window = CountWindow(4)
	rc.MinimumCalls = 4
	rate := mustGetOrCreate(t, s, "rate", rc)
	for _, fail := range []bool{false, true, true, true} {
		p, err := rate.Acquire(ctx)
		if err != nil {
			t.Fatalf("Acquire: %v", err)
		}
		if fail {
			p.Failure()
		} else {
			p.Success()
		}
	}
	rate.settle()
	check("rate", Closed, Open, ReasonFailureRate, 0.75, 0)

	// Slow-call rate: both calls took 2s ≥ 1s.
	sc := supervisorConfig()
	sc.ConsecutiveFailures = 0
	sc.SlowCallDuration = time.Second
	sc.SlowCallRate = 0.5
	sc.Window = CountWindow(2)
	sc.MinimumCalls = 2
	slow := mustGetOrCreate(t, s, "slow", sc)
	p1, _ := slow.Acquire(ctx)
	p2, _ := slow.Acquire(ctx)
	mk.Add(2 * time.Second)
	p1.Success()
	p2.Success()
	slow.settle()
	check("slow", Closed, Open, ReasonSlowCallRate, 1, 0)

	// Recovery, strict: open timeout, then SuccessThreshold successes.
	hc := supervisorConfig()
	hc.HalfOpen = HalfOpenPolicy{MaxProbes: 2, Mode: Strict, SuccessThreshold: 2, MaxWait: 5 * time.Second}
	h := mustGetOrCreate(t, s, "strict", hc)
	failCalls(t, h, 3)
	check("strict", Closed, Open, ReasonConsecutiveFailures, 0, 3)
	mk.Add(10 * time.Second)
	settleAll() // the other three half-open too
	evs := drain(sub)
	var sawStrict bool
	for _, ev := range evs {
		if ev.Breaker == "strict" {
			if ev.From != Open || ev.To != HalfOpen || ev.Reason != ReasonOpenTimeout || ev.Rate != 0 || ev.Count != 0 {
				t.Fatalf("strict: got %v, want open → half-open (open-timeout)", ev)
			}
			sawStrict = true
		}
	}
	if !sawStrict || len(evs) != 4 {
		t.Fatalf("after the open timeout: %v, want four open → half-open events", evs)
	}
	pa, _ := h.Acquire(ctx)
	pb, _ := h.Acquire(ctx)
	pa.Success()
	pb.Success()
	h.settle()
	check("strict", HalfOpen, Closed, ReasonProbesSucceeded, 0, 2)

	// A failed probe after one success: the count is the successes so far.
	failCalls(t, h, 3)
	check("strict", Closed, Open, ReasonConsecutiveFailures, 0, 3)
	mk.Add(10 * time.Second)
	settleAll()
	drain(sub)
	pa, _ = h.Acquire(ctx)
	pb, _ = h.Acquire(ctx)
	pa.Success()
	pb.Failure()
	h.settle()
	check("strict", HalfOpen, Open, ReasonProbeFailed, 0, 1)

	// No decision within MaxWait: the count is the probes still in flight.
	mk.Add(10 * time.Second)
	settleAll()
	drain(sub)
	if _, err := h.Acquire(ctx); err != nil {
		t.Fatalf("probe: %v", err)
	}
	mk.Add(5 * time.Second)
	settleAll()
	evs = drain(sub)
	found := false
	for _, ev := range evs {
		if ev.Breaker == "strict" {
			if ev.From != HalfOpen || ev.To != Open || ev.Reason != ReasonHalfOpenTimeout || ev.Count != 1 {
				t.Fatalf("got %v (count %d), want half-open → open (half-open-timeout 1)", ev, ev.Count)
			}
			found = true
		}
	}
	if !found {
		t.Fatalf("no half-open timeout event in %v", evs)
	}

	// Recovery by rate: the success rate and the probes it was judged on.
	bc := supervisorConfig()
	bc.HalfOpen = HalfOpenPolicy{MaxProbes: 4, Mode: ByRate, MinimumProbes: 4, SuccessRate: 0.5}
	br := mustGetOrCreate(t, s, "byrate", bc)
	failCalls(t, br, 3)
	check("byrate", Closed, Open, ReasonConsecutiveFailures, 0, 3)
	mk.Add(10 * time.Second)
	settleAll()
	drain(sub)
	var ps []Permit
	for range 4 {
		p, err := br.Acquire(ctx)
		if err != nil {
			t.Fatalf("probe: %v", err)
		}
		ps = append(ps, p)
	}
	ps[0].Success()
	ps[1].Success()
	ps[2].Success()
	ps[3].Failure()
	br.settle()
	check("byrate", HalfOpen, Closed, ReasonProbesSucceeded, 0.75, 4)

	// Manual transitions.
	br.ForceOpen()
	check("byrate", Closed, ForcedOpen, ReasonManual, 0, 0)
	br.Disable()
	check("byrate", ForcedOpen, Disabled, ReasonManual, 0, 0)
	br.Reset()
	check("byrate", Disabled, Closed, ReasonManual, 0, 0)
	noEventOrClosed(t, sub)
	sub.Close()
}

func TestEventFilteringThroughSupervisor(t *testing.T) {
	s, _ := newTestSupervisor(t)
	all := s.Subscribe(events.WithKinds(events.AllKinds()...), events.WithBuffer(256))
	def := s.Subscribe(events.WithBuffer(256))
	failed := s.Subscribe(events.WithKinds(events.CallFailed), events.WithBuffer(256))
	onlyA := s.Subscribe(events.WithBreakers("a"), events.WithBuffer(256))
	aCalls := s.Subscribe(events.WithBreakers("a"), events.WithKinds(events.CallSucceeded, events.CallRejected, events.FallbackUsed), events.WithBuffer(256))
	bOrC := s.Subscribe(events.WithBreakers("b"), events.WithBreakers("c"), events.WithKinds(events.CallIgnored, events.StateChanged), events.WithBuffer(256))
	subs := []*events.Subscription{all, def, failed, onlyA, aCalls, bOrC}
	ctx := context.Background()

	drive := func(br *Breaker) {
		p, _ := br.Acquire(ctx)
		p.Success()
		p, _ = br.Acquire(ctx)
		p.Ignore()
		failCalls(t, br, 3)
		if _, err := br.Acquire(ctx); !errors.Is(err, ErrOpen) {
			t.Fatalf("%s: Acquire = %v, want ErrOpen", br.Name(), err)
		}
		v, err := ExecuteWithFallback(ctx, br,
			func(context.Context) (int, error) { return 1, nil },
			func(context.Context, error) (int, error) { return 2, nil })
		if v != 2 || err != nil {
			t.Fatalf("%s: ExecuteWithFallback = %d, %v; want the fallback", br.Name(), v, err)
		}
		br.Reset()
	}
	a := mustGetOrCreate(t, s, "a", supervisorConfig())
	b := mustGetOrCreate(t, s, "b", supervisorConfig())
	drive(a)
	drive(b)

	got := make([]map[string]int, len(subs))
	for i, sub := range subs {
		got[i] = evCounts(drain(sub))
		if d := sub.Dropped(); d != 0 {
			t.Fatalf("subscription %d dropped %d", i, d)
		}
	}
	per := func(name string, kinds map[string]int) map[string]int {
		m := map[string]int{}
		for k, n := range kinds {
			m[name+"/"+k] = n
		}
		return m
	}
	merge := func(ms ...map[string]int) map[string]int {
		out := map[string]int{}
		for _, m := range ms {
			for k, n := range m {
				out[k] += n
			}
		}
		return out
	}
	every := map[string]int{"call-succeeded": 1, "call-ignored": 1, "call-failed": 3,
		"call-rejected": 2, "fallback-used": 1, "state-changed": 2}
	want := []map[string]int{
		merge(per("a", every), per("b", every)),
		merge(per("a", map[string]int{"state-changed": 2}), per("b", map[string]int{"state-changed": 2})),
		merge(per("a", map[string]int{"call-failed": 3}), per("b", map[string]int{"call-failed": 3})),
		per("a", map[string]int{"state-changed": 2}),
		per("a", map[string]int{"call-succeeded": 1, "call-rejected": 2, "fallback-used": 1}),
		per("b", map[string]int{"call-ignored": 1, "state-changed": 2}),
	}
	for i := range subs {
		if fmt.Sprint(got[i]) != fmt.Sprint(want[i]) {
			t.Errorf("subscription %d got %v, want %v", i, got[i], want[i])
		}
	}
	// The breaker's own subscription filters the same way.
	own := a.Subscribe(events.WithKinds(events.CallFailed))
	defer own.Close()
	failCalls(t, a, 1)
	if evs := drain(own); len(evs) != 1 || evs[0].Kind != events.CallFailed || evs[0].Breaker != "a" {
		t.Fatalf("breaker subscription got %v, want one call-failed", evs)
	}
	for _, sub := range subs {
		sub.Close()
	}
}

// TestEventFullBufferDropsForThatSubscriberOnly: a subscriber that never
// reads neither blocks nor slows the breaker; it loses events, counted in
// its Dropped, while another subscriber sees them all.
func TestEventFullBufferDropsForThatSubscriberOnly(t *testing.T) {
	s, _ := newTestSupervisor(t)
	b := mustGetOrCreate(t, s, "busy", supervisorConfig())
	stuck := s.Subscribe(events.WithBuffer(1))
	stuckOwn := b.Subscribe(events.WithBuffer(1), events.WithKinds(events.AllKinds()...))
	seen := s.Subscribe(events.WithBuffer(4096))
	defer stuck.Close()
	defer stuckOwn.Close()
	defer seen.Close()

	const cycles = 1000
	ctx := context.Background()
	done := make(chan time.Duration, 1)
	go func() {
		start := time.Now()
		for range cycles {
			b.ForceOpen()
			b.Reset()
			p, _ := b.Acquire(ctx) // a per-call event, wanted by stuckOwn only
			p.Success()
		}
		done <- time.Since(start)
	}()
	select {
	case d := <-done:
		t.Logf("%d cycles with two stuck subscribers: %v", cycles, d)
	case <-time.After(10 * time.Second):
		t.Fatal("a subscriber that never reads blocks the breaker")
	}

	if got, want := stuck.Dropped(), uint64(2*cycles-1); got != want {
		t.Errorf("stuck supervisor subscriber dropped %d, want %d", got, want)
	}
	if got, want := stuckOwn.Dropped(), uint64(3*cycles-1); got != want {
		t.Errorf("stuck breaker subscriber dropped %d, want %d", got, want)
	}
	evs := drain(seen)
	if seen.Dropped() != 0 || len(evs) != 2*cycles {
		t.Fatalf("reading subscriber: %d events, %d dropped; want %d, 0", len(evs), seen.Dropped(), 2*cycles)
	}
	var last uint64
	for i, ev := range evs {
		if ev.Seq <= last {
			t.Fatalf("event %d: Seq %d after %d", i, ev.Seq, last)
		}
		last = ev.Seq
	}
	// The first event of the stuck subscriber is the first one published.
	if ev := <-stuck.C(); ev.Seq != 1 || ev.To != ForcedOpen {
		t.Fatalf("stuck subscriber's buffered event: %v, want #1 → forced-open", ev)
	}
}

// TestEventSubscriberCallsBack: a subscriber may call into the breaker and
// the supervisor from its receive loop (reads, Reset, ForceOpen, Names,
// Metrics, even Subscribe and Remove) without deadlocking either side.
func TestEventSubscriberCallsBack(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	s := NewSupervisor(WithClock(clock.NewMock()))
	names := []string{"a", "b", "c"}
	for _, n := range names {
		mustGetOrCreate(t, s, n, supervisorConfig())
	}
	a, _ := s.Get("a")

	const reactions = 300
	var (
		wg      sync.WaitGroup
		reacted atomic.Int64 // calls back that changed something
	)
	react := func(sub *events.Subscription) {
		wg.Go(func() {
			n := 0
			for ev := range sub.C() {
				br, ok := s.Get(ev.Breaker)
				if !ok {
					continue
				}
				_ = br.State()
				_ = br.Metrics()
				_ = s.Names()
				_ = s.Metrics()
				n++
				if n > reactions {
					continue // keep draining, stop feeding back
				}
				reacted.Add(1)
				switch {
				case ev.To == Open:
					br.Reset()
				case ev.To == Closed && n%3 == 0:
					br.ForceOpen()
				case ev.To == ForcedOpen:
					br.Reset()
				case n%50 == 0:
					s.ResetAll()
					tmp := br.Subscribe()
					tmp.Close()
					if _, err := s.GetOrCreate(fmt.Sprintf("tmp%d", n), supervisorConfig()); err == nil {
						s.Remove(fmt.Sprintf("tmp%d", n))
					}
				}
			}
		})
	}
	react(s.Subscribe(events.WithBuffer(1)))
	react(s.Subscribe(events.WithKinds(events.AllKinds()...), events.WithBuffer(4)))
	react(a.Subscribe(events.WithKinds(events.AllKinds()...), events.WithBuffer(2)))

	drivers := make(chan struct{})
	go func() {
		defer close(drivers)
		var dw sync.WaitGroup
		for _, n := range names {
			br, _ := s.Get(n)
			dw.Go(func() {
				ctx := context.Background()
				deadline := time.Now().Add(5 * time.Second)
				for i := 0; reacted.Load() < 200 && time.Now().Before(deadline); i++ {
					if p, err := br.Acquire(ctx); err == nil {
						if i%4 == 0 {
							p.Success()
						} else {
							p.Failure()
						}
					}
					if i%25 == 0 {
						br.ForceOpen()
						br.Reset()
					}
				}
				br.settle()
			})
		}
		dw.Wait()
	}()
	select {
	case <-drivers:
	case <-time.After(10 * time.Second):
		t.Fatal("a subscriber calling back into the breaker deadlocked it")
	}
	closed := make(chan struct{})
	go func() {
		s.Close()
		wg.Wait()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close deadlocked with a subscriber calling back")
	}
	if reacted.Load() < 200 {
		t.Fatalf("subscribers called back only %d times", reacted.Load())
	}
	goleak.VerifyNone(t, ignore)
}

// evRecorder receives one subscription's events until it is closed.
type evRecorder struct {
	sub  *events.Subscription
	slow bool
	evs  []events.Event
	done chan struct{}
}

func evRecord(sub *events.Subscription, slow bool) *evRecorder {
	r := &evRecorder{sub: sub, slow: slow, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for ev := range sub.C() {
			r.evs = append(r.evs, ev)
			if r.slow && len(r.evs)%16 == 0 {
				time.Sleep(50 * time.Microsecond)
			}
		}
	}()
	return r
}

// TestEventOrderingManyBreakers: 100 breakers trip and recover
// concurrently (real clock, 1ms open timeout, failures and successes from
// two goroutines each, manual ForceOpen/Reset). Every subscriber, fast or
// slow, on the supervisor or on one breaker, sees each breaker's events in
// strictly increasing Seq, and every event it missed is counted in its
// Dropped: received + dropped = published, exactly.
func TestEventOrderingManyBreakers(t *testing.T) {
	const (
		nBreakers = 100
		workers   = 2
		iters     = 250
	)
	cfg := DefaultConfig()
	cfg.FailureRate = 0
	cfg.ConsecutiveFailures = 2
	cfg.OpenTimeout = time.Millisecond
	cfg.BackoffMultiplier = 1
	cfg.MaxOpenTimeout = time.Millisecond
	// No MaxWait: every transition but Open → HalfOpen then follows a
	// worker's action, so the number of events is bounded by the work done
	// (at most about 3 per iteration), however slowly the machine runs.
	cfg.HalfOpen = HalfOpenPolicy{MaxProbes: 2, Mode: Strict, SuccessThreshold: 1}

	s := NewSupervisor()
	defer s.Close()
	all := events.AllKinds()
	full := evRecord(s.Subscribe(events.WithKinds(all...), events.WithBuffer(1<<18)), false)
	tiny := evRecord(s.Subscribe(events.WithKinds(all...), events.WithBuffer(1)), true)
	mid := evRecord(s.Subscribe(events.WithKinds(all...), events.WithBuffer(64)), true)
	state := evRecord(s.Subscribe(events.WithBuffer(8)), true) // StateChanged, ActorRestarted
	supRecs := []*evRecorder{full, tiny, mid}

	bs := make([]*Breaker, nBreakers)
	own := make([]*evRecorder, nBreakers)
	for i := range bs {
		bs[i] = mustGetOrCreate(t, s, fmt.Sprintf("b%03d", i), cfg)
		own[i] = evRecord(bs[i].Subscribe(events.WithKinds(all...), events.WithBuffer(8)), i%2 == 0)
	}

	var wg sync.WaitGroup
	for i, b := range bs {
		for w := range workers {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(i), uint64(w)))
				ctx := context.Background()
				for n := range iters {
					p, err := b.Acquire(ctx)
					if err != nil {
						time.Sleep(50 * time.Microsecond)
						continue
					}
					if rng.IntN(2) == 0 {
						p.Failure()
					} else {
						p.Success()
					}
					if w == 0 && n%100 == 99 {
						b.ForceOpen()
						b.Reset()
					}
				}
			})
		}
	}
	wg.Wait()
	s.Close() // stops every actor, then closes every subscription
	for _, r := range append(append(supRecs, state), own...) {
		<-r.done
	}

	// full never drops: it sees every breaker's events as Seq 1, 2, 3, …
	if d := full.sub.Dropped(); d != 0 {
		t.Fatalf("the 256Ki-buffer subscriber dropped %d events", d)
	}
	published := map[string]uint64{}
	stateEvents := map[string]uint64{}
	kinds := map[events.Kind]int{}
	for _, ev := range full.evs {
		if ev.Seq != published[ev.Breaker]+1 {
			t.Fatalf("full subscriber: %s Seq %d after %d", ev.Breaker, ev.Seq, published[ev.Breaker])
		}
		published[ev.Breaker] = ev.Seq
		kinds[ev.Kind]++
		if ev.Kind == events.StateChanged || ev.Kind == events.ActorRestarted {
			stateEvents[ev.Breaker]++
		}
	}
	if len(published) != nBreakers {
		t.Fatalf("events from %d breakers, want %d", len(published), nBreakers)
	}
	var trips, recoveries int
	for _, ev := range full.evs {
		if ev.Kind == events.StateChanged && ev.To == Open {
			trips++
		}
		if ev.Kind == events.StateChanged && ev.From == HalfOpen && ev.To == Closed {
			recoveries++
		}
	}
	if trips < nBreakers || recoveries < nBreakers/4 {
		t.Fatalf("too little happened to test anything: %d trips, %d recoveries", trips, recoveries)
	}
	t.Logf("%d events (%v); %d trips, %d recoveries; dropped: tiny %d, mid %d, state %d",
		len(full.evs), kinds, trips, recoveries, tiny.sub.Dropped(), mid.sub.Dropped(), state.sub.Dropped())

	// check verifies one subscriber's stream: strictly increasing Seq per
	// breaker, gaps only where it dropped, and nothing lost uncounted.
	// total 0: r wants only some kinds, so only the order is checked.
	check := func(what string, r *evRecorder, total uint64) {
		t.Helper()
		last := map[string]uint64{}
		var gaps uint64
		for _, ev := range r.evs {
			prev := last[ev.Breaker]
			if ev.Seq <= prev {
				t.Fatalf("%s: %s Seq %d after %d", what, ev.Breaker, ev.Seq, prev)
			}
			gaps += ev.Seq - prev - 1
			last[ev.Breaker] = ev.Seq
		}
		d := r.sub.Dropped()
		if total == 0 {
			return
		}
		if gaps > d {
			t.Fatalf("%s: Seq gaps total %d but only %d dropped", what, gaps, d)
		}
		if got := uint64(len(r.evs)) + d; got != total {
			t.Fatalf("%s: received %d + dropped %d = %d, want the %d published", what, len(r.evs), d, got, total)
		}
	}
	var total, totalState uint64
	for name, n := range published {
		total += n
		totalState += stateEvents[name]
	}
	check("full", full, total)
	check("tiny", tiny, total)
	check("mid", mid, total)
	// state wants only some kinds, so it sees gaps it did not drop; its
	// Seq still only grows, and it misses no event of its kinds uncounted.
	check("state", state, 0)
	if got := uint64(len(state.evs)) + state.sub.Dropped(); got != totalState {
		t.Fatalf("state: received %d + dropped %d, want the %d state events", len(state.evs), state.sub.Dropped(), totalState)
	}
	for i, r := range own {
		check(fmt.Sprintf("own[%d]", i), r, published[bs[i].Name()])
	}
}

// TestEventNoLeakThousandBreakers creates, trips, removes and closes 1,000
// breakers (half of them on the shared coarse clock) watched by 10
// subscribers, and checks that no goroutine is left behind.
func TestEventNoLeakThousandBreakers(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	s := NewSupervisor() // the real clock: real timers, the coarse clock
	timed := supervisorConfig()
	timed.SlowCallDuration = time.Second
	timed.SlowCallRate = 1
	timed.MinimumCalls = 5

	var readers sync.WaitGroup
	subs := make([]*events.Subscription, 10)
	var received atomic.Int64
	for i := range subs {
		opts := []events.Option{events.WithBuffer(1 << i)}
		if i%3 == 0 {
			opts = append(opts, events.WithKinds(events.AllKinds()...))
		}
		subs[i] = s.Subscribe(opts...)
		readers.Go(func() {
			for range subs[i].C() {
				received.Add(1)
			}
		})
	}

	const n = 1000
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := g; i < n; i += 8 {
				cfg := supervisorConfig()
				if i%2 == 0 {
					cfg = timed
				}
				b, err := s.GetOrCreate(fmt.Sprintf("leak%04d", i), cfg)
				if err != nil {
					t.Errorf("GetOrCreate: %v", err)
					return
				}
				for range 3 {
					if p, err := b.Acquire(context.Background()); err == nil {
						p.Failure()
					}
				}
				b.settle()
				if b.State() != Open {
					t.Errorf("%s in %v, want Open", b.Name(), b.State())
				}
				if i%3 == 0 {
					s.Remove(b.Name())
				}
			}
		})
	}
	wg.Wait()
	if got := len(s.Names()); got != n-(n+2)/3 {
		t.Fatalf("%d breakers left, want %d", got, n-(n+2)/3)
	}
	// One more subscriber closed mid-way, while the rest still flow.
	subs[9].Close()
	s.ResetAll()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	readers.Wait()
	if received.Load() == 0 {
		t.Fatal("subscribers received nothing")
	}
	goleak.VerifyNone(t, ignore)
}

// TestEventSubscriptionCloseWhileFlowing closes subscriptions, from their
// own receive loop, from another goroutine and twice at once, while events
// keep flowing: no panic (a send on a closed channel would be one), no
// goroutine left behind, and C is closed afterwards.
func TestEventSubscriptionCloseWhileFlowing(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	s := NewSupervisor(WithClock(clock.NewMock()))
	bs := []*Breaker{mustGetOrCreate(t, s, "x", supervisorConfig()), mustGetOrCreate(t, s, "y", supervisorConfig())}

	stop := make(chan struct{})
	var flow sync.WaitGroup
	for i := range 4 {
		b := bs[i%2]
		flow.Go(func() {
			ctx := context.Background()
			for {
				select {
				case <-stop:
					return
				default:
				}
				b.ForceOpen()
				b.Reset()
				if p, err := b.Acquire(ctx); err == nil {
					p.Failure()
				}
			}
		})
	}

	var (
		subs     sync.WaitGroup
		received atomic.Int64
	)
	for i := range 60 {
		var sub *events.Subscription
		opts := []events.Option{events.WithBuffer(i%4 + 1)}
		if i%2 == 0 {
			opts = append(opts, events.WithKinds(events.AllKinds()...))
		}
		if i%3 == 0 {
			sub = bs[i%2].Subscribe(opts...)
		} else {
			sub = s.Subscribe(opts...)
		}
		subs.Go(func() {
			switch i % 3 {
			case 0: // close from the receive loop, then keep ranging to the end
				n := 0
				for range sub.C() {
					received.Add(1)
					if n++; n == 5 {
						sub.Close()
					}
				}
			case 1: // close from another goroutine, twice at once
				time.Sleep(time.Duration(i) * 20 * time.Microsecond)
				var both sync.WaitGroup
				both.Go(sub.Close)
				both.Go(sub.Close)
				both.Wait()
				for range sub.C() {
					received.Add(1)
				}
			default: // never read; closed from here while full
				time.Sleep(time.Duration(i) * 10 * time.Microsecond)
				sub.Close()
			}
			select {
			case _, ok := <-sub.C():
				for ok {
					_, ok = <-sub.C()
				}
			case <-time.After(5 * time.Second):
				t.Errorf("subscription %d: C not closed after Close", i)
			}
		})
	}
	subs.Wait()
	close(stop)
	flow.Wait()
	s.Close()
	if received.Load() == 0 {
		t.Fatal("no event flowed to the subscriptions")
	}
	goleak.VerifyNone(t, ignore)
}

// TestEventFastPathNoAllocs: a Closed breaker's Acquire and report, and an
// Open breaker's rejection, allocate nothing, with or without subscribers
// that want only StateChanged: per-call kinds cost nothing unless asked for.
func TestEventFastPathNoAllocs(t *testing.T) {
	cases := []struct {
		name string
		sub  func(s *Supervisor, b *Breaker) []*events.Subscription
	}{
		{"no subscriber", nil},
		{"breaker subscriber, StateChanged", func(_ *Supervisor, b *Breaker) []*events.Subscription {
			return []*events.Subscription{b.Subscribe(events.WithKinds(events.StateChanged))}
		}},
		{"supervisor subscriber, StateChanged", func(s *Supervisor, _ *Breaker) []*events.Subscription {
			return []*events.Subscription{s.Subscribe(events.WithKinds(events.StateChanged))}
		}},
		{"default subscribers on both", func(s *Supervisor, b *Breaker) []*events.Subscription {
			return []*events.Subscription{b.Subscribe(), s.Subscribe()}
		}},
	}
	ctx := context.Background()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := NewSupervisor()
			defer s.Close()
			b := mustGetOrCreate(t, s, "fast", DefaultConfig())
			var subs []*events.Subscription
			if c.sub != nil {
				subs = c.sub(s, b)
			}
			allocs := testing.AllocsPerRun(1000, func() {
				p, err := b.Acquire(ctx)
				if err != nil {
					panic(err)
				}
				p.Success()
			})
			if allocs != 0 {
				t.Errorf("Acquire+Success: %v allocs/op, want 0", allocs)
			}
			b.ForceOpen()
			allocs = testing.AllocsPerRun(1000, func() {
				if _, err := b.Acquire(ctx); err == nil {
					panic("admitted while forced open")
				}
			})
			if allocs != 0 {
				t.Errorf("rejection: %v allocs/op, want 0", allocs)
			}
			for _, sub := range subs {
				// They saw the ForceOpen and nothing per call.
				evs := drain(sub)
				if len(evs) != 1 || evs[0].Kind != events.StateChanged || sub.Dropped() != 0 {
					t.Errorf("subscriber got %v (dropped %d), want the one state change", evs, sub.Dropped())
				}
			}
		})
	}
	// Sanity: a subscriber that asks for a per-call kind does get it.
	s := NewSupervisor()
	defer s.Close()
	b := mustGetOrCreate(t, s, "asked", DefaultConfig())
	sub := s.Subscribe(events.WithKinds(events.CallSucceeded))
	for range 10 {
		p, _ := b.Acquire(ctx)
		p.Success()
	}
	if evs := drain(sub); len(evs) != 10 {
		t.Fatalf("call-succeeded subscriber got %d events, want 10", len(evs))
	}
}

// TestStateChangedCarriesAttemptAndUntil: a StateChanged event says how many
// recoveries have failed since the breaker was last Closed (after the
// transition), and a transition to Open carries its deadline, over both
// drivers: trip (attempt 0), a failed probe (attempt 1, the backoff's next
// step), then a successful probe closes (attempt 0 again).
func TestStateChangedCarriesAttemptAndUntil(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		c, mk := newMocked(t, im, testConfig(func(c *Config) {
			c.BackoffMultiplier, c.MaxOpenTimeout = 2, 4*testOpenTimeout
		}))
		sub := subscribeAll(t, c)
		toHalfOpen(t, c, mk, testOpenTimeout)
		runOutcomes(t, c, "F") // the probe fails: reopen for twice as long
		requireState(t, c, Open)
		reopened := mk.Now()
		advance(c, mk, 2*testOpenTimeout)
		requireState(t, c, HalfOpen)
		runOutcomes(t, c, "S")
		requireState(t, c, Closed)

		type step struct {
			to      State
			attempt int
			until   time.Time
		}
		want := []step{
			{Open, 0, time.Time{}}, // the first trip's deadline is checked below
			{HalfOpen, 0, time.Time{}},
			{Open, 1, reopened.Add(2 * testOpenTimeout)},
			{HalfOpen, 1, time.Time{}},
			{Closed, 0, time.Time{}},
		}
		got := stateChanges(drain(sub))
		if len(got) != len(want) {
			t.Fatalf("got %d transitions, want %d:%s", len(got), len(want), formatEvents(got))
		}
		for i, w := range want {
			e := got[i]
			if e.To != w.to || e.Attempt != w.attempt {
				t.Errorf("transition %d: to %v attempt %d, want to %v attempt %d", i, e.To, e.Attempt, w.to, w.attempt)
			}
			switch {
			case e.To != Open && !e.Until.IsZero():
				t.Errorf("transition %d to %v has Until %v; want none", i, e.To, e.Until)
			case e.To == Open && !e.Until.Equal(e.Time.Add(testOpenTimeout<<e.Attempt)):
				t.Errorf("transition %d to open at %v: Until %v, want %v", i, e.Time, e.Until, e.Time.Add(testOpenTimeout<<e.Attempt))
			case !w.until.IsZero() && !e.Until.Equal(w.until):
				t.Errorf("transition %d: Until %v, want %v", i, e.Until, w.until)
			}
		}
	})
}

func TestConformanceEvents(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		c, mk := newMocked(t, im, testConfig())
		sub := subscribeAll(t, c)
		runOutcomes(t, c, "SFF")
		runOutcomes(t, c, "F")
		requireState(t, c, Open)
		evs := drain(sub)
		e := oneStateChange(t, evs)
		if e.Breaker != "test" || e.From != Closed || e.To != Open || e.Reason != ReasonConsecutiveFailures ||
			e.Count != 3 || e.Rate != 0 || !e.Time.Equal(mk.Now()) {
			t.Errorf("trip event %+v", e)
		}
		kinds := map[events.Kind]int{}
		for _, e := range evs {
			kinds[e.Kind]++
		}
		if kinds[events.CallSucceeded] != 1 || kinds[events.CallFailed] != 3 {
			t.Errorf("call events %v, want 1 succeeded, 3 failed:%s", kinds, formatEvents(evs))
		}

		c.Acquire(context.Background()) // rejected
		advance(c, mk, testOpenTimeout) // half-open
		runOutcomes(t, c, "S")          // closed
		c.ForceOpen()                   // forced-open
		c.Reset()                       // closed
		runOutcomes(t, c, "I")          // ignored
		settle(c)
		evs = append(evs, drain(sub)...)
		for i := 1; i < len(evs); i++ {
			if evs[i].Seq != evs[i-1].Seq+1 {
				t.Fatalf("Seq not consecutive at %d:%s", i, formatEvents(evs))
			}
		}
		var trans []string
		for _, e := range stateChanges(evs) {
			trans = append(trans, fmt.Sprintf("%v→%v %v", e.From, e.To, e.Reason))
		}
		want := []string{
			"closed→open consecutive-failures", "open→half-open open-timeout", "half-open→closed probes-succeeded",
			"closed→forced-open manual", "forced-open→closed manual",
		}
		if strings.Join(trans, ", ") != strings.Join(want, ", ") {
			t.Errorf("transitions:\n\t%v\nwant\n\t%v", trans, want)
		}
		for _, k := range []events.Kind{events.CallRejected, events.CallIgnored} {
			found := false
			for _, e := range evs {
				found = found || e.Kind == k
			}
			if !found {
				t.Errorf("no %v event:%s", k, formatEvents(evs))
			}
		}
	})
}

func TestConformanceRateEvent(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		c, _ := newMocked(t, im, testConfig(func(c *Config) {
			c.ConsecutiveFailures, c.FailureRate, c.MinimumCalls = 0, 0.6, 5
		}))
		sub := subscribeAll(t, c)
		runOutcomes(t, c, "SFSFF")
		requireState(t, c, Open)
		if e := oneStateChange(t, drain(sub)); e.Reason != ReasonFailureRate || e.Rate != 0.6 || e.Count != 0 {
			t.Errorf("trip event %v: reason %v rate %v count %d, want failure-rate 0.6", e, e.Reason, e.Rate, e.Count)
		}
	})
}

// TestRegressionSubscriberCallbackNoDeadlock guards against
// sony/gobreaker #37 (OnStateChange ran under the breaker's mutex, so a
// callback calling Counts or State deadlocked; PR #119 "dispatch
// OnStateChange outside mutex to prevent deadlock"), hashicorp/golang-lru
// #230 (the same with onEvict) and gastownhall/gascity PR #4839 (moving
// callbacks out of the lock lost their order).
//
// Subscribers call State, Metrics, Reset and ForceOpen on the breaker from
// their receive loops (and Names, Get, GetOrCreate and Metrics on a
// Supervisor) while other goroutines trip and reset it. Nothing deadlocks
// (a deadline fails the test with every goroutine's stack), and each
// subscriber sees Seq strictly increasing, with From equal to the previous
// To wherever no event was dropped in between.
func TestRegressionSubscriberCallbackNoDeadlock(t *testing.T) {
	cfg := threeInARowConfig(func(c *Config) { c.ConsecutiveFailures = 2 })
	forEachImpl(t, func(t *testing.T, im impl) {
		c, _ := newMocked(t, im, cfg)
		src := c.(subscriber)
		var subs []*regOrderChecker
		for _, buf := range []int{1, 4, 1 << 12} {
			subs = append(subs, regCheckOrder(src.Subscribe(events.WithBuffer(buf)), func(ev events.Event, n int) {
				_ = c.State()
				_ = c.Metrics()
				regReact(c, ev, n)
			}))
		}
		regDrive(t, []Circuit{c})
		c.Close() // closes the subscriptions
		for _, s := range subs {
			s.wait(t)
		}
		if n := subs[len(subs)-1].seen; n < 20 {
			t.Errorf("the subscriber with a large buffer saw %d events; want many", n)
		}
	})

	t.Run("supervisor", func(t *testing.T) {
		s, _ := newTestSupervisor(t)
		names := []string{"a", "b", "c"}
		var cs []Circuit
		for _, n := range names {
			cs = append(cs, mustGetOrCreate(t, s, n, cfg))
		}
		react := func(ev events.Event, n int) {
			_ = s.Names()
			_ = s.Metrics()
			if _, ok := s.Get(ev.Breaker); !ok {
				return
			}
			b, err := s.GetOrCreate(ev.Breaker, cfg)
			if err != nil {
				return // closed
			}
			_ = b.State()
			regReact(b, ev, n)
		}
		var subs []*regOrderChecker
		for _, buf := range []int{1, 1 << 12} {
			subs = append(subs, regCheckOrder(s.Subscribe(events.WithBuffer(buf)), react))
		}
		a, _ := s.Get("a")
		subs = append(subs, regCheckOrder(a.Subscribe(events.WithBuffer(2)), react))
		regDrive(t, cs)
		s.Close()
		for _, sc := range subs {
			sc.wait(t)
		}
		if n := subs[1].seen; n < 20 {
			t.Errorf("the supervisor subscriber with a large buffer saw %d events; want many", n)
		}
		if got := s.Names(); len(got) != 0 {
			t.Errorf("Names after Close = %v", got)
		}
	})
}

// regReact is a subscriber's feedback into breaker c: it resets an open
// breaker and force-opens a closed one now and then, for its first 200
// events.
func regReact(c Circuit, ev events.Event, n int) {
	if n > 200 || ev.Kind != events.StateChanged {
		return
	}
	switch {
	case ev.To == Open || ev.To == ForcedOpen:
		c.Reset()
	case ev.To == Closed && n%3 == 0:
		c.ForceOpen()
	}
}

// regDrive trips and resets every circuit of cs from 2 goroutines each,
// for a bounded number of calls, failing the test with every goroutine's
// stack if they do not finish within 5 s.
func regDrive(t *testing.T, cs []Circuit) {
	t.Helper()
	var wg sync.WaitGroup
	for _, c := range cs {
		for g := range 2 {
			wg.Go(func() {
				ctx := context.Background()
				for i := range 400 {
					if p, err := c.Acquire(ctx); err == nil {
						if (i+g)%5 == 0 {
							p.Success()
						} else {
							p.Failure()
						}
					}
					if i%40 == g {
						c.ForceOpen()
						_ = c.Metrics()
						c.Reset()
					}
				}
				settle(c)
			})
		}
	}
	waitFor(t, "drivers with subscribers calling back (deadlock?)", 5*time.Second, wg.Wait)
}

// regOrderChecker receives one subscription's events in its own goroutine,
// calling react for each (with its 1-based index), and checks their order
// per breaker.
type regOrderChecker struct {
	sub  *events.Subscription
	done chan struct{}
	errs []string
	seen int // events received
	gaps int // Seq gaps seen
}

func regCheckOrder(sub *events.Subscription, react func(ev events.Event, n int)) *regOrderChecker {
	r := &regOrderChecker{sub: sub, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		last := map[string]events.Event{}
		n := 0
		for ev := range sub.C() {
			n++
			r.seen = n
			if prev, ok := last[ev.Breaker]; ok && len(r.errs) < maxReported {
				switch {
				case ev.Seq <= prev.Seq:
					r.errs = append(r.errs, fmt.Sprintf("Seq %d after %d: %v after %v", ev.Seq, prev.Seq, ev, prev))
				case ev.Seq != prev.Seq+1:
					r.gaps++
				case ev.Kind == events.StateChanged && prev.Kind == events.StateChanged && ev.From != prev.To:
					r.errs = append(r.errs, fmt.Sprintf("no gap, but %v follows %v", ev, prev))
				}
			}
			last[ev.Breaker] = ev
			react(ev, n)
		}
	}()
	return r
}

// wait waits for the subscription to be closed and reports what was wrong.
func (r *regOrderChecker) wait(t *testing.T) {
	t.Helper()
	waitFor(t, "a subscriber calling back (deadlock?)", 5*time.Second, func() { <-r.done })
	for _, e := range r.errs {
		t.Error(e)
	}
	if r.gaps > 0 && r.sub.Dropped() == 0 {
		t.Errorf("%d Seq gaps with nothing dropped", r.gaps)
	}
}
