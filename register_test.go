package breaker

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/benbjohnson/clock"
	"github.com/breakerlabs/breaker/events"
)

// Supervisor.Register and Supervisor.Clear (ARCHITECTURE §5): the seed's
// registry verbs.

// newRegistrable returns a breaker made by New on mk, closed at the end of
// the test (a second Close by a supervisor is harmless).
func newRegistrable(t *testing.T, name string, mk *clock.Mock, opts ...Option) *Breaker {
	t.Helper()
	b, err := New(name, supervisorConfig(), append([]Option{WithClock(mk)}, opts...)...)
	if err != nil {
		t.Fatalf("New(%q): %v", name, err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func mustRegister(t *testing.T, s *Supervisor, b *Breaker) {
	t.Helper()
	if err := s.Register(b); err != nil {
		t.Fatalf("Register(%q): %v", b.Name(), err)
	}
}

// A registered breaker is one of the supervisor's: Get and GetOrCreate
// return it, Names and Metrics show it, ResetAll resets it, its events go
// to the supervisor's subscribers, and Remove closes it.
func TestRegisterAdopts(t *testing.T) {
	s, mk := newTestSupervisor(t)
	sub := s.Subscribe()
	defer sub.Close()
	mustGetOrCreate(t, s, "made", supervisorConfig())
	b := newRegistrable(t, "adopted", mk)
	failCalls(t, b, 1) // before Register: not the supervisor's business
	mustRegister(t, s, b)

	if got, ok := s.Get("adopted"); !ok || got != b {
		t.Fatalf("Get = %p, %v; want %p, true", got, ok, b)
	}
	if got := mustGetOrCreate(t, s, "adopted", Config{}); got != b {
		t.Fatalf("GetOrCreate of the registered name = %p, want %p", got, b)
	}
	if n := s.Names(); !slices.Equal(n, []string{"adopted", "made"}) {
		t.Fatalf("Names() = %v", n)
	}
	failCalls(t, b, 2) // the third failure in a row trips it
	ev := expectTransition(t, sub, "adopted", Closed, Open, ReasonConsecutiveFailures)
	if ev.Seq != 1 {
		t.Fatalf("first event Seq %d, want 1 (the breaker's own numbering)", ev.Seq)
	}
	if ms := s.Metrics(); len(ms) != 2 || ms[0].Name != "adopted" || ms[0].State != Open || ms[0].Failures != 3 {
		t.Fatalf("Metrics() = %+v", ms)
	}
	s.ResetAll() // in name order
	expectTransition(t, sub, "adopted", Open, Closed, ReasonManual)
	expectTransition(t, sub, "made", Closed, Closed, ReasonManual)
	if b.State() != Closed {
		t.Fatalf("State after ResetAll = %v", b.State())
	}

	own := b.Subscribe()
	if !s.Remove("adopted") {
		t.Fatal("Remove(adopted) = false")
	}
	if _, err := b.Acquire(context.Background()); !errors.Is(err, ErrStopped) {
		t.Fatalf("Acquire after Remove: %v, want ErrStopped", err)
	}
	if !subscriptionClosed(own) {
		t.Fatal("the breaker's own subscription stays open after Remove")
	}
	noEventOrClosed(t, sub) // the supervisor's subscription stays, and hears nothing more of it
	// The name is free again; a new breaker, not the removed one.
	if got := mustGetOrCreate(t, s, "adopted", supervisorConfig()); got == b || got.State() != Closed {
		t.Fatalf("GetOrCreate after Remove = %p in %v", got, got.State())
	}
}

// Register refuses, with a clear error, and changes nothing: a taken name
// (ErrExists), a nil or closed breaker, one that belongs to another
// supervisor, and any breaker after Close (ErrStopped).
func TestRegisterErrors(t *testing.T) {
	s, mk := newTestSupervisor(t)
	other, _ := newTestSupervisor(t)
	sub := s.Subscribe()
	defer sub.Close()

	mustGetOrCreate(t, s, "taken", supervisorConfig())
	registered := newRegistrable(t, "registered", mk)
	mustRegister(t, s, registered)
	fromOther := mustGetOrCreate(t, other, "elsewhere", supervisorConfig())
	registeredElsewhere := newRegistrable(t, "registered-elsewhere", mk)
	mustRegister(t, other, registeredElsewhere)
	closed := newRegistrable(t, "closed", mk)
	closed.Close()
	clash := newRegistrable(t, "taken", mk)

	tests := []struct {
		name   string
		b      *Breaker
		exists bool // errors.Is(err, ErrExists)
		stop   bool // errors.Is(err, ErrStopped)
		adopt  *Breaker
	}{
		{"name taken by GetOrCreate", clash, true, false, nil},
		{"the same breaker twice", registered, true, false, nil},
		{"nil", nil, false, false, nil},
		{"closed breaker", closed, false, true, nil},
		{"made by another supervisor", fromOther, false, false, nil},
		{"registered with another supervisor", registeredElsewhere, false, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := s.Names()
			err := s.Register(tt.b)
			if err == nil {
				t.Fatal("Register succeeded")
			}
			if errors.Is(err, ErrExists) != tt.exists || errors.Is(err, ErrStopped) != tt.stop {
				t.Fatalf("Register = %q: matches ErrExists %v, ErrStopped %v; want %v, %v",
					err, errors.Is(err, ErrExists), errors.Is(err, ErrStopped), tt.exists, tt.stop)
			}
			if tt.b != nil && !strings.Contains(err.Error(), strconv.Quote(tt.b.Name())) {
				t.Errorf("error %q does not name the breaker", err)
			}
			if after := s.Names(); !slices.Equal(before, after) {
				t.Fatalf("Names %v → %v after a refused Register", before, after)
			}
		})
	}
	if got, _ := s.Get("taken"); got == clash {
		t.Fatal("a refused Register replaced the breaker of the name")
	}
	// A refused breaker is not adopted: its events do not reach s.
	failCalls(t, clash, 3)
	failCalls(t, fromOther, 3)
	noEventOrClosed(t, sub)
	// Closing s leaves a refused breaker running.
	s.Close()
	if _, err := clash.Acquire(context.Background()); errors.Is(err, ErrStopped) {
		t.Fatal("closing the supervisor closed a breaker it refused")
	}
	fresh := newRegistrable(t, "fresh", mk)
	if err := s.Register(fresh); !errors.Is(err, ErrStopped) {
		t.Fatalf("Register after Close = %v, want ErrStopped", err)
	}
	if _, err := fresh.Acquire(context.Background()); err != nil {
		t.Fatalf("a breaker refused after Close was touched: %v", err)
	}
}

// Close and Clear close registered breakers like the ones the supervisor
// made; Clear leaves the supervisor usable.
func TestRegisterClosedByCloseAndClear(t *testing.T) {
	for _, how := range []string{"Close", "Clear"} {
		t.Run(how, func(t *testing.T) {
			s, mk := newTestSupervisor(t)
			b := newRegistrable(t, "adopted", mk)
			mustRegister(t, s, b)
			if how == "Close" {
				s.Close()
			} else {
				s.Clear()
			}
			if _, err := b.Acquire(context.Background()); !errors.Is(err, ErrStopped) {
				t.Fatalf("Acquire after %s: %v, want ErrStopped", how, err)
			}
		})
	}
}

// A registered breaker's actor restarts itself after a panic, from its
// last published state, and the supervisor's subscribers see the
// ActorRestarted event.
func TestRegisterActorRestartedReachesSupervisor(t *testing.T) {
	s, mk := newTestSupervisor(t)
	var f faultHooks
	b := newRegistrable(t, "adopted", mk, withTestHooks(f.hooks()))
	mustRegister(t, s, b)
	sub := s.Subscribe()
	defer sub.Close()
	failCalls(t, b, 3)
	expectTransition(t, sub, "adopted", Closed, Open, ReasonConsecutiveFailures)
	f.arm(1)
	b.Reset() // panics once, then is handled again after the restart
	expectRestart(t, sub, "adopted", Open)
	expectTransition(t, sub, "adopted", Open, Closed, ReasonManual)
	if f.fired.Load() != 1 || b.State() != Closed {
		t.Fatalf("fired %d, state %v", f.fired.Load(), b.State())
	}
}

// Clear removes and closes every breaker and returns once they are
// closed; the supervisor goes on: its subscriptions stay open and hear
// breakers made after it, names are free again, and Clear after Close is
// a no-op.
func TestSupervisorClear(t *testing.T) {
	s, _ := newTestSupervisor(t)
	sub := s.Subscribe()
	defer sub.Close()
	var old []*Breaker
	var owns []*events.Subscription
	for _, name := range []string{"a", "b", "c"} {
		b := mustGetOrCreate(t, s, name, supervisorConfig())
		old = append(old, b)
		owns = append(owns, b.Subscribe())
	}
	s.Clear()
	if n, m := s.Names(), s.Metrics(); len(n) != 0 || len(m) != 0 {
		t.Fatalf("after Clear: Names %v, Metrics %v", n, m)
	}
	for i, b := range old {
		if _, err := b.Acquire(context.Background()); !errors.Is(err, ErrStopped) {
			t.Fatalf("%s after Clear: Acquire = %v, want ErrStopped", b.Name(), err)
		}
		if !subscriptionClosed(owns[i]) {
			t.Fatalf("%s's own subscription is open after Clear", b.Name())
		}
	}
	s.Clear() // nothing to clear
	a := mustGetOrCreate(t, s, "a", supervisorConfig())
	if a == old[0] || a.State() != Closed {
		t.Fatalf("GetOrCreate after Clear: %p in %v", a, a.State())
	}
	failCalls(t, a, 3)
	expectTransition(t, sub, "a", Closed, Open, ReasonConsecutiveFailures)
	s.Close()
	s.Clear()
	if !subscriptionClosed(sub) {
		t.Fatal("Close did not close the subscription")
	}
}

// Under concurrency: of breakers of one name registered (and made by
// GetOrCreate) at once, exactly one gets the name; of supervisors
// registering one breaker at once, exactly one gets it; and a breaker
// adopted while it is busy emitting per-call events loses none of the
// supervisor's share from the moment Register returns and never races
// (run under -race).
func TestRegisterConcurrent(t *testing.T) {
	mk := clock.NewMock()
	for round := range 50 {
		s := NewSupervisor(WithClock(mk))
		const racers = 6
		cands := make([]*Breaker, racers)
		for i := range cands {
			cands[i], _ = New("x", supervisorConfig(), WithClock(mk))
		}
		var (
			bar     = newSpinBarrier(racers + 1)
			wg      sync.WaitGroup
			errs    [racers]error
			created *Breaker
		)
		for i := range racers {
			wg.Go(func() {
				bar.wait()
				errs[i] = s.Register(cands[i])
			})
		}
		wg.Go(func() {
			bar.wait()
			created, _ = s.GetOrCreate("x", supervisorConfig())
		})
		wg.Wait()
		winner, _ := s.Get("x")
		wins := 0
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
				if winner != cands[i] {
					t.Fatalf("round %d: Register %d succeeded but Get returns another breaker", round, i)
				}
			case !errors.Is(err, ErrExists):
				t.Fatalf("round %d: Register %d: %v, want ErrExists", round, i, err)
			}
		}
		// Exactly one winner: a Register (GetOrCreate then returned its
		// breaker) or GetOrCreate (every Register then failed).
		if created != winner || wins > 1 || (wins == 1) != slices.Contains(cands, created) {
			t.Fatalf("round %d: %d registrations won, GetOrCreate got %p, Get %p", round, wins, created, winner)
		}
		s.Close()
		for _, b := range cands {
			b.Close()
		}
	}

	// One breaker, many supervisors at once.
	b, _ := New("shared", supervisorConfig(), WithClock(mk))
	defer b.Close()
	const sups = 6
	ss := make([]*Supervisor, sups)
	for i := range ss {
		ss[i] = NewSupervisor(WithClock(mk))
		defer ss[i].Close()
	}
	subs := make([]*events.Subscription, sups)
	for i, s := range ss {
		subs[i] = s.Subscribe(events.WithKinds(events.CallSucceeded), events.WithBuffer(1<<16))
	}
	own := b.Subscribe(events.WithKinds(events.CallSucceeded), events.WithBuffer(1<<16))
	bar := newSpinBarrier(sups + 1)
	var wg sync.WaitGroup
	errs := make([]error, sups)
	const calls = 2000
	for i, s := range ss {
		wg.Go(func() {
			bar.wait()
			errs[i] = s.Register(b)
		})
	}
	wg.Go(func() { // per-call events while the sink is added
		bar.wait()
		for range calls {
			p, err := b.Acquire(context.Background())
			if err != nil {
				t.Errorf("Acquire: %v", err)
				return
			}
			p.Success()
		}
	})
	wg.Wait()
	won := -1
	for i, err := range errs {
		if err == nil {
			if won >= 0 {
				t.Fatalf("supervisors %d and %d both registered one breaker", won, i)
			}
			won = i
		}
	}
	if won < 0 {
		t.Fatalf("no supervisor registered the breaker: %v", errs)
	}
	// The winner's subscriber saw a suffix of the breaker's own events:
	// consecutive Seqs ending where the breaker's own subscription ends.
	ownSeqs := drainSeqs(own)
	gotSeqs := drainSeqs(subs[won])
	if len(ownSeqs) != calls || own.Dropped() != 0 || subs[won].Dropped() != 0 {
		t.Fatalf("own subscription saw %d of %d events (%d dropped)", len(ownSeqs), calls, own.Dropped())
	}
	if len(gotSeqs) > 0 && !slices.Equal(gotSeqs, ownSeqs[len(ownSeqs)-len(gotSeqs):]) {
		t.Fatalf("the supervisor saw Seqs %v…, not a gapless suffix of the breaker's", gotSeqs[:min(5, len(gotSeqs))])
	}
	for i, sub := range subs {
		if i != won {
			if n := len(drainSeqs(sub)); n != 0 {
				t.Fatalf("losing supervisor %d saw %d events of the breaker", i, n)
			}
		}
	}
}

func drainSeqs(sub *events.Subscription) []uint64 {
	var seqs []uint64
	for _, ev := range drain(sub) {
		seqs = append(seqs, ev.Seq)
	}
	return seqs
}
