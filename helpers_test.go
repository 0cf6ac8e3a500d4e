package breaker

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
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

// testOpenTimeout is testConfig's open period.
const testOpenTimeout = 10 * time.Second

// testConfig is the configuration the behavioural tests start from: a
// count window of 10, MinimumCalls 1, tripping on 3 failures in a row,
// open for testOpenTimeout with no backoff, one strict probe that closes
// on its first success. Each non-nil mod then changes it, in order; a
// file's variant (threeInARowConfig, migConfig, stConfig, oneFailureConfig) is
// testConfig with its differences spelled out.
func testConfig(mods ...func(*Config)) Config {
	c := Config{
		Window:              CountWindow(10),
		MinimumCalls:        1,
		ConsecutiveFailures: 3,
		OpenTimeout:         testOpenTimeout,
		BackoffMultiplier:   1,
		MaxOpenTimeout:      testOpenTimeout,
		HalfOpen:            HalfOpenPolicy{MaxProbes: 1, Mode: Strict, SuccessThreshold: 1},
	}
	for _, mod := range mods {
		if mod != nil {
			mod(&c)
		}
	}
	return c
}

// mustAcquire acquires a permit on c, failing the test on a rejection.
func mustAcquire(t *testing.T, c Circuit) Permit {
	t.Helper()
	p, err := c.Acquire(context.Background())
	if err != nil {
		t.Fatalf("Acquire in %v: %v", c.State(), err)
	}
	return p
}

// reportOutcome reports o on p: 'S' success, 'F' failure, 'I' ignore.
func reportOutcome(t *testing.T, p Permit, o rune) {
	t.Helper()
	switch o {
	case 'S':
		p.Success()
	case 'F':
		p.Failure()
	case 'I':
		p.Ignore()
	default:
		t.Fatalf("bad outcome %q", o)
	}
}

// runOutcomes acquires a permit and reports it for each outcome in seq, then
// settles.
func runOutcomes(t *testing.T, c Circuit, seq string) {
	t.Helper()
	for _, o := range seq {
		reportOutcome(t, mustAcquire(t, c), o)
	}
	settle(c)
}

// requireState settles c and fails the test unless it is in want.
func requireState(t *testing.T, c Circuit, want State) {
	t.Helper()
	settle(c)
	if got := c.State(); got != want {
		t.Fatalf("State() = %v, want %v", got, want)
	}
}

// tripWithFailures trips a breaker of testConfig (3 failures in a row).
func tripWithFailures(t *testing.T, c Circuit) {
	t.Helper()
	runOutcomes(t, c, "FFF")
	requireState(t, c, Open)
}

// toHalfOpen trips c and lets its open timeout (d) elapse.
func toHalfOpen(t *testing.T, c Circuit, mk *clock.Mock, d time.Duration) {
	t.Helper()
	tripWithFailures(t, c)
	advance(c, mk, d)
	requireState(t, c, HalfOpen)
}

// subscribeAll subscribes to every kind of c's events.
func subscribeAll(t *testing.T, c Circuit) *events.Subscription {
	t.Helper()
	s, ok := c.(subscriber)
	if !ok {
		t.Fatalf("%T has no Subscribe method", c)
	}
	sub := s.Subscribe(events.WithKinds(events.AllKinds()...), events.WithBuffer(4096))
	t.Cleanup(sub.Close)
	return sub
}

// drain returns the events buffered in sub, without waiting, stopping at
// the end of a closed subscription.
func drain(sub *events.Subscription) []events.Event {
	var evs []events.Event
	for {
		select {
		case e, ok := <-sub.C():
			if !ok {
				return evs
			}
			evs = append(evs, e)
		default:
			return evs
		}
	}
}

// stateChanges returns the StateChanged events of evs.
func stateChanges(evs []events.Event) []events.Event {
	var out []events.Event
	for _, e := range evs {
		if e.Kind == events.StateChanged {
			out = append(out, e)
		}
	}
	return out
}

// formatEvents lists evs one per line, for failure messages.
func formatEvents(evs []events.Event) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "\n\t%v", e)
	}
	return b.String()
}

// oneStateChange asserts that evs hold exactly one StateChanged event and
// returns it.
func oneStateChange(t *testing.T, evs []events.Event) events.Event {
	t.Helper()
	ch := stateChanges(evs)
	if len(ch) != 1 {
		t.Fatalf("got %d StateChanged events, want 1:%s", len(ch), formatEvents(evs))
	}
	return ch[0]
}

// subscribe subscribes to c's default kinds (no per-call events) with a
// buffer large enough for a stress run.
func subscribe(t *testing.T, c Circuit) *events.Subscription {
	t.Helper()
	s, ok := c.(subscriber)
	if !ok {
		t.Fatalf("%T has no Subscribe method", c)
	}
	return s.Subscribe(events.WithBuffer(1 << 16))
}

// waitFor runs wait (a WaitGroup's Wait, say) and fails the test with every
// goroutine's stack if it does not return within d: a deadlock shows up as
// a failure with the evidence rather than as a hung test binary.
func waitFor(t *testing.T, what string, d time.Duration, wait func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(d):
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		t.Fatalf("%s: still waiting after %v; goroutines:\n%s", what, d, buf[:n])
	}
}

// within runs fn and fails the test if it has not returned after 5 s.
func within(t *testing.T, what string, fn func()) {
	t.Helper()
	waitFor(t, what, 5*time.Second, fn)
}

// nextEvent returns the next event of sub, failing the test if none comes
// within 5 s or the subscription closes.
func nextEvent(t *testing.T, sub *events.Subscription) events.Event {
	t.Helper()
	select {
	case ev, ok := <-sub.C():
		if !ok {
			t.Fatal("subscription closed while waiting for an event")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5 s")
	}
	return events.Event{}
}

// supervisorConfig trips after 3 consecutive failures, stays open 10s, and closes
// after one successful probe (one probe at a time, no MaxWait).
func supervisorConfig() Config {
	c := DefaultConfig()
	c.Window = CountWindow(10)
	c.MinimumCalls = 10
	c.FailureRate = 0
	c.ConsecutiveFailures = 3
	c.OpenTimeout = 10 * time.Second
	c.BackoffMultiplier = 1
	c.MaxOpenTimeout = 10 * time.Second
	c.HalfOpen = HalfOpenPolicy{MaxProbes: 1, Mode: Strict, SuccessThreshold: 1}
	return c
}

// newTestSupervisor returns a supervisor on a fresh mock clock, closed at
// the end of the test.
func newTestSupervisor(t *testing.T, opts ...Option) (*Supervisor, *clock.Mock) {
	t.Helper()
	mk := clock.NewMock()
	s := NewSupervisor(append([]Option{WithClock(mk)}, opts...)...)
	t.Cleanup(func() { s.Close() })
	return s, mk
}

// mustGetOrCreate is GetOrCreate that fails the test on error.
func mustGetOrCreate(t *testing.T, s *Supervisor, name string, cfg Config) *Breaker {
	t.Helper()
	b, err := s.GetOrCreate(name, cfg)
	if err != nil {
		t.Fatalf("GetOrCreate(%q): %v", name, err)
	}
	return b
}

// failCalls reports n failures through the fast path and settles the breaker,
// so a trip they cause is published (and its event emitted) on return.
func failCalls(t *testing.T, b *Breaker, n int) {
	t.Helper()
	for range n {
		p, err := b.Acquire(context.Background())
		if err != nil {
			t.Fatalf("Acquire: %v", err)
		}
		p.Failure()
	}
	b.settle()
}

// noEventOrClosed fails the test if sub has an event buffered.
func noEventOrClosed(t *testing.T, sub *events.Subscription) {
	t.Helper()
	select {
	case ev, ok := <-sub.C():
		if ok {
			t.Fatalf("unexpected event %v", ev)
		}
	default:
	}
}

// expectTransition receives the next event of sub and checks that it is
// the StateChanged from → to of breaker name.
func expectTransition(t *testing.T, sub *events.Subscription, name string, from, to State, r Reason) events.Event {
	t.Helper()
	ev := nextEvent(t, sub)
	if ev.Kind != events.StateChanged || ev.Breaker != name || ev.From != from || ev.To != to || ev.Reason != r {
		t.Fatalf("got %v (kind %v, breaker %q), want %s state-changed %v → %v (%v)",
			ev, ev.Kind, ev.Breaker, name, from, to, r)
	}
	return ev
}

// expectRestart receives the next event of sub and checks that it is an
// ActorRestarted of breaker name in state st.
func expectRestart(t *testing.T, sub *events.Subscription, name string, st State) events.Event {
	t.Helper()
	ev := nextEvent(t, sub)
	if ev.Kind != events.ActorRestarted || ev.Breaker != name || ev.To != st {
		t.Fatalf("got %v, want %s actor-restarted (%v)", ev, name, st)
	}
	return ev
}

// subscriptionClosed reports whether sub's channel is closed (after draining it).
func subscriptionClosed(sub *events.Subscription) bool {
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-sub.C():
			if !ok {
				return true
			}
		case <-deadline:
			return false
		}
	}
}

// spinBarrier releases a fixed number of goroutines together. Closing a
// channel does not: on two cores the woken goroutines mostly run one after
// another, each finishing its racy step before the next starts, so a race
// test built on it catches a missing re-check only now and then. Here each
// goroutine checks in and spins until all have, yielding so that the ones
// still to arrive get a processor; the last to arrive and the ones spinning
// on other processors then leave within nanoseconds of each other.
type spinBarrier struct {
	n       int64
	arrived atomic.Int64
}

func newSpinBarrier(n int) *spinBarrier { return &spinBarrier{n: int64(n)} }

// wait checks in and returns once all n goroutines have.
func (b *spinBarrier) wait() {
	b.arrived.Add(1)
	for b.arrived.Load() < b.n {
		runtime.Gosched()
	}
}

// backoffConfig is testConfig with backoff on (×2, up to 10 open periods)
// and a half-open MaxWait of 3 open periods.
func backoffConfig() Config {
	return testConfig(func(c *Config) {
		c.BackoffMultiplier, c.MaxOpenTimeout = 2, 10*testOpenTimeout
		c.HalfOpen.MaxWait = 3 * testOpenTimeout
	})
}

// oneFailureConfig trips on the first failure and probes with up to three calls.
func oneFailureConfig(openTimeout time.Duration) Config {
	return testConfig(func(c *Config) {
		c.MinimumCalls, c.ConsecutiveFailures = 0, 1
		c.OpenTimeout, c.MaxOpenTimeout = openTimeout, openTimeout
		c.HalfOpen.MaxProbes, c.HalfOpen.SuccessThreshold = 3, 3
	})
}

// blockFirstMessage is a test hook that holds the actor on the first
// message it receives once armed, until gate is closed.
func blockFirstMessage(armed *atomic.Bool, gate <-chan struct{}) Option {
	return optionFunc(func(o *options) {
		o.hooks = &testHooks{panicOnMessage: func() bool {
			if armed.Load() {
				<-gate
			}
			return false
		}}
	})
}

// coarseRefs returns how many breakers hold the shared coarse clock, and
// the channel its refresher closes when it exits.
func coarseRefs() (int, chan struct{}) {
	sharedCoarse.mu.Lock()
	defer sharedCoarse.mu.Unlock()
	return sharedCoarse.refs, sharedCoarse.done
}

// reachStates puts a breaker of testConfig(backoff) into a state, with
// something in its window, probes in flight or backoff attempts to clear.
var reachStates = []struct {
	state State
	reach func(t *testing.T, c Circuit, mk *clock.Mock)
}{
	{Closed, func(t *testing.T, c Circuit, mk *clock.Mock) { runOutcomes(t, c, "SFF") }},
	{Open, func(t *testing.T, c Circuit, mk *clock.Mock) {
		toHalfOpen(t, c, mk, testOpenTimeout)
		runOutcomes(t, c, "F") // a failed probe: attempt 1
	}},
	{HalfOpen, func(t *testing.T, c Circuit, mk *clock.Mock) {
		toHalfOpen(t, c, mk, testOpenTimeout)
		runOutcomes(t, c, "F")
		advance(c, mk, 2*testOpenTimeout)
		requireState(t, c, HalfOpen)
		mustAcquire(t, c) // a probe in flight
	}},
	{ForcedOpen, func(t *testing.T, c Circuit, mk *clock.Mock) { tripWithFailures(t, c); c.ForceOpen() }},
	{Disabled, func(t *testing.T, c Circuit, mk *clock.Mock) { c.Disable(); runOutcomes(t, c, "SFF") }},
}

// threeInARowConfig trips on 3 failures in a row (count window of 20), stays open
// testOpenTimeout with no backoff, and closes on one strict probe; mod adjusts it.
func threeInARowConfig(mod func(*Config)) Config {
	return testConfig(func(c *Config) { c.Window = CountWindow(20) }, mod)
}

// transitionsIn returns the StateChanged events buffered in sub, without
// waiting, as "from→to/reason".
func transitionsIn(sub *events.Subscription) []string {
	var out []string
	for _, e := range drain(sub) {
		if e.Kind == events.StateChanged {
			out = append(out, fmt.Sprintf("%v→%v/%v", e.From, e.To, e.Reason))
		}
	}
	return out
}

// wantTransitions fails the test unless the transitions buffered in sub
// are exactly want.
func wantTransitions(t *testing.T, sub *events.Subscription, want ...string) {
	t.Helper()
	if got := transitionsIn(sub); !slices.Equal(got, want) {
		t.Errorf("transitions %q; want exactly %q", got, want)
	}
}

// wantTooManyProbes fails the test unless an Acquire now is refused with
// ErrTooManyProbes; a permit wrongly granted is released with Ignore.
func wantTooManyProbes(t *testing.T, c Circuit, what string) {
	t.Helper()
	p, err := c.Acquire(context.Background())
	if !errors.Is(err, ErrTooManyProbes) {
		t.Errorf("%s: Acquire = %+v, %v; want ErrTooManyProbes", what, p, err)
		p.Ignore()
	}
}

// lifetimeCalls is the sum of the lifetime outcome counters.
func lifetimeCalls(m Metrics) uint64 { return m.Successes + m.Failures + m.Ignored }

// releasedTogether runs f(0..n-1) in n goroutines released together by a
// spin barrier and waits for them, failing the test with every goroutine's
// stack after 5 s.
func releasedTogether(t *testing.T, n int, f func(i int)) {
	t.Helper()
	bar := newSpinBarrier(n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			bar.wait()
			f(i)
		})
	}
	waitFor(t, "the latched goroutines", 5*time.Second, wg.Wait)
}

// errUserPanic is what the user callbacks below panic with; the tests
// check that exactly this value reaches the caller.
var errUserPanic = errors.New("user callback panicked")

// panicValue runs f and returns what it panicked with (nil if nothing).
func panicValue(f func()) (r any) {
	defer func() { r = recover() }()
	f()
	return nil
}

var stressScaleFlag = flag.Int("stress.scale", 0,
	"multiply the durations and iteration counts of the stress tests (0: from BREAKER_STRESS, else 1)")

// stressScale is the factor the stress tests scale their work by. The
// default run is short. BREAKER_STRESS=1 (or true) multiplies durations
// and iteration counts by 20, BREAKER_STRESS=N (N ≥ 2) by N, and the flag
// -stress.scale=N overrides both: `BREAKER_STRESS=1 go test -race -run
// 'Race|Stress' .` (make stress).
func stressScale() int {
	if *stressScaleFlag > 0 {
		return *stressScaleFlag
	}
	switch v := os.Getenv("BREAKER_STRESS"); v {
	case "", "0", "false":
		return 1
	default:
		if n, err := strconv.Atoi(v); err == nil && n >= 2 {
			return n
		}
		return 20
	}
}

// failures reports errors from any goroutine, but only the first few of
// them, so a broken invariant in a 64-goroutine loop does not flood the log.
type failures struct {
	t *testing.T
	n atomic.Int64
}

const maxReported = 10

func (f *failures) errorf(format string, args ...any) {
	if f.n.Add(1) <= maxReported {
		f.t.Errorf(format, args...)
	}
}

func (f *failures) summary() {
	if n := f.n.Load(); n > maxReported {
		f.t.Errorf("... and %d more invariant violations", n-maxReported)
	}
}

// legalTransition reports whether a StateChanged event from → to for reason
// r is one the contract allows (ARCHITECTURE §2).
func legalTransition(from, to State, r Reason) bool {
	if r == ReasonManual {
		switch to {
		case Closed:
			return true // Reset, from any state, Closed included
		case ForcedOpen, Disabled:
			return from != to
		}
		return false
	}
	switch {
	case from == Closed && to == Open:
		return r == ReasonConsecutiveFailures || r == ReasonFailureRate || r == ReasonSlowCallRate
	case from == Open && to == HalfOpen:
		return r == ReasonOpenTimeout
	case from == HalfOpen && to == Closed:
		return r == ReasonProbesSucceeded
	case from == HalfOpen && to == Open:
		return r == ReasonProbeFailed || r == ReasonProbeSlow || r == ReasonHalfOpenTimeout
	}
	return false
}

// transitionChecker follows one subscriber's view of a breaker's events and
// checks that they form one legal path from Closed: Seq strictly increasing
// with no gaps (no per-call kinds are subscribed, and the buffer never
// fills), each From equal to the previous To, each transition legal, and
// times non-decreasing. Tests without fault injection see no other kind.
type transitionChecker struct {
	seq         uint64
	state       State // the To of the last event; Closed before any
	at          time.Time
	n, trips    uint64 // StateChanged events, and those into Open
	toOpen      uint64 // Closed → Open events
	initialized bool
}

func (c *transitionChecker) check(ev events.Event) error {
	if ev.Seq <= c.seq {
		return fmt.Errorf("event Seq %d after Seq %d: not increasing (%v)", ev.Seq, c.seq, ev)
	}
	if ev.Seq != c.seq+1 {
		return fmt.Errorf("event Seq %d after Seq %d: a gap with nothing dropped (%v)", ev.Seq, c.seq, ev)
	}
	c.seq = ev.Seq
	if ev.Kind != events.StateChanged {
		return fmt.Errorf("unexpected %v event: %v", ev.Kind, ev)
	}
	if ev.From != c.state {
		return fmt.Errorf("event %d goes from %v but the previous one went to %v: %v", ev.Seq, ev.From, c.state, ev)
	}
	if !legalTransition(ev.From, ev.To, ev.Reason) {
		return fmt.Errorf("illegal transition %v → %v (%v): %v", ev.From, ev.To, ev.Reason, ev)
	}
	if c.initialized && ev.Time.Before(c.at) {
		return fmt.Errorf("event %d at %v is earlier than the previous event at %v", ev.Seq, ev.Time, c.at)
	}
	c.at, c.initialized = ev.Time, true
	c.state = ev.To
	c.n++
	if ev.To == Open {
		c.trips++
		if ev.From == Closed {
			c.toOpen++
		}
	}
	return nil
}

// drain checks every event already buffered in sub, without waiting.
func (c *transitionChecker) drain(t *testing.T, sub *events.Subscription) {
	t.Helper()
	for {
		select {
		case ev, ok := <-sub.C():
			if !ok {
				return
			}
			if err := c.check(ev); err != nil {
				t.Error(err)
			}
		default:
			return
		}
	}
}

var errBoom = errors.New("boom")

// outcomeCounts is what the test reported on admitted permits.
type outcomeCounts struct {
	successes, failures, ignored atomic.Uint64
}

func (oc *outcomeCounts) count(err error) {
	switch {
	case err == nil:
		oc.successes.Add(1)
	case errors.Is(err, context.Canceled):
		oc.ignored.Add(1)
	default:
		oc.failures.Add(1)
	}
}

// report resolves p as err says, through Done or the matching method, and
// counts it.
func (oc *outcomeCounts) report(p Permit, err error, viaDone bool) {
	oc.count(err)
	switch {
	case viaDone:
		p.Done(err)
	case err == nil:
		p.Success()
	case errors.Is(err, context.Canceled):
		p.Ignore()
	default:
		p.Failure()
	}
}
