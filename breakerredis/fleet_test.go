package breakerredis

// End-to-end: supervisors, each with its own client and Store, sharing a
// private redis-server.

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlabs/breaker"
	"github.com/breakerlabs/breaker/events"
)

// member is one instance of a fleet.
type member struct {
	id  string
	sup *breaker.Supervisor
	st  *Store
	ev  *events.Subscription
}

// join starts an instance: its own client, store and supervisor, closed in
// t.Cleanup (supervisor first, then store, then client).
func join(t *testing.T, srv *redisServer, id string, storeOpts []Option, supOpts ...breaker.Option) *member {
	t.Helper()
	c := srv.Client()
	st := New(c, "fleet", append([]Option{WithInstance(id)}, storeOpts...)...)
	sup := breaker.NewSupervisor(append([]breaker.Option{breaker.WithStateStore(st), breaker.WithInstance(id)}, supOpts...)...)
	m := &member{id: id, sup: sup, st: st, ev: sup.Subscribe(events.WithBuffer(4096))}
	t.Cleanup(func() {
		sup.Close()
		st.Close()
	})
	return m
}

func fleetOf(t *testing.T, srv *redisServer, storeOpts ...Option) []*member {
	t.Helper()
	return []*member{join(t, srv, "a", storeOpts), join(t, srv, "b", storeOpts), join(t, srv, "c", storeOpts)}
}

// tripping is a config that trips on one failure and closes on one
// successful probe.
func tripping(open time.Duration) breaker.Config {
	cfg := breaker.DefaultConfig()
	cfg.ConsecutiveFailures = 1
	cfg.OpenTimeout = open
	cfg.MaxOpenTimeout = 10 * open
	cfg.HalfOpen = breaker.HalfOpenPolicy{MaxProbes: 1, Mode: breaker.Strict, SuccessThreshold: 1, MaxWait: time.Minute}
	return cfg
}

func (m *member) breaker(t *testing.T, name string, cfg breaker.Config) *breaker.Breaker {
	t.Helper()
	b, err := m.sup.GetOrCreate(name, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// trip reports one failure on m's breaker name.
func (m *member) trip(t *testing.T, name string, cfg breaker.Config) {
	t.Helper()
	p, err := m.breaker(t, name, cfg).Acquire(context.Background())
	if err != nil {
		t.Fatalf("%s: Acquire before the trip: %v", m.id, err)
	}
	p.Failure()
}

// waitState polls m's breaker until it is in want, failing after d.
func (m *member) waitState(t *testing.T, name string, want breaker.State, d time.Duration) {
	t.Helper()
	b, ok := m.sup.Get(name)
	if !ok {
		t.Fatalf("%s has no breaker %q", m.id, name)
	}
	deadline := time.Now().Add(d)
	for b.State() != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %q is %v after %v, want %v", m.id, name, b.State(), d, want)
		}
		time.Sleep(time.Millisecond) // polling with a deadline
	}
}

// nextChange returns m's next StateChanged event for name within d.
func (m *member) nextChange(t *testing.T, name string, d time.Duration) events.Event {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case e := <-m.ev.C():
			if e.Kind == events.StateChanged && e.Breaker == name {
				return e
			}
		case <-timer.C:
			t.Fatalf("%s: no state change of %q within %v", m.id, name, d)
		}
	}
}

// waitSeen waits until m's store has seen gen for name (it has read the
// record, whatever it did with it).
func (m *member) waitSeen(t *testing.T, name string, gen uint64, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		m.st.mu.Lock()
		seen := m.st.seen[name]
		m.st.mu.Unlock()
		if seen >= gen {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: gen %d of %q not seen within %v (seen %d)", m.id, gen, name, d, seen)
		}
		time.Sleep(time.Millisecond) // polling with a deadline
	}
}

// stored reads what the namespace holds for name.
func stored1(t *testing.T, srv *redisServer, name string) (breaker.Record, bool) {
	t.Helper()
	st := New(srv.Client(), "fleet")
	defer st.Close()
	all, err := st.loadAll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		if s.Name == name {
			return s.Record, true
		}
	}
	return breaker.Record{}, false
}

func TestFleetTripSpreadsAndOperatorActionsSpread(t *testing.T) {
	srv := startRedis(t)
	f := fleetOf(t, srv)
	cfg := tripping(time.Minute)
	for _, m := range f {
		m.breaker(t, "pay", cfg)
	}
	f[0].trip(t, "pay", cfg)
	for _, m := range f[1:] {
		m.waitState(t, "pay", breaker.Open, 5*time.Second)
		e := m.nextChange(t, "pay", time.Second)
		if e.Reason != breaker.ReasonRemote || e.Origin != "a" || e.To != breaker.Open {
			t.Fatalf("%s adopted with %+v", m.id, e)
		}
		b, _ := m.sup.Get("pay")
		if _, err := b.Acquire(context.Background()); !errors.Is(err, breaker.ErrOpen) {
			t.Fatalf("%s admits after a's trip: %v", m.id, err)
		}
		if left := time.Until(b.Metrics().OpenUntil); left < 55*time.Second || left > time.Minute {
			t.Fatalf("%s open for %v more, want about a minute", m.id, left)
		}
	}
	// An operator's action on any instance reaches every instance.
	steps := []struct {
		on   int
		do   func(*breaker.Breaker)
		want breaker.State
	}{
		{2, (*breaker.Breaker).ForceOpen, breaker.ForcedOpen},
		{1, (*breaker.Breaker).Reset, breaker.Closed},
		{0, (*breaker.Breaker).Disable, breaker.Disabled},
		{2, (*breaker.Breaker).Reset, breaker.Closed},
	}
	for _, s := range steps {
		b, _ := f[s.on].sup.Get("pay")
		s.do(b)
		for _, m := range f {
			m.waitState(t, "pay", s.want, 5*time.Second)
		}
	}
}

// TestFleetPropagation measures how long a trip on a takes to make b and c
// reject, over 200 trips (one breaker each). Run it without -race and with
// -v for the figures in bench/RESULTS.md.
func TestFleetPropagation(t *testing.T) {
	srv := startRedis(t)
	f := fleetOf(t, srv)
	cfg := tripping(time.Minute)
	const trips = 200
	names := make([]string, trips)
	for i := range names {
		names[i] = "dep-" + itoa(uint64(i))
		for _, m := range f {
			m.breaker(t, names[i], cfg)
		}
	}
	lat := make([]time.Duration, 0, trips)
	for _, name := range names {
		start := time.Now()
		f[0].trip(t, name, cfg)
		var worst time.Duration
		for _, m := range f[1:] {
			e := m.nextChange(t, name, 5*time.Second)
			if e.To != breaker.Open || e.Reason != breaker.ReasonRemote {
				t.Fatalf("%s: %+v", m.id, e)
			}
			worst = max(worst, e.Time.Sub(start))
		}
		lat = append(lat, worst)
	}
	slices.Sort(lat)
	p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
	t.Logf("trip on a → b and c both Open (ReasonRemote), %d trips: p50 %v, p99 %v, max %v",
		trips, p50, p99, lat[len(lat)-1])
	// The target (ARCHITECTURE §7) is p99 ≤ 10 ms on loopback, recorded in
	// bench/RESULTS.md from a normal build on a quiet machine. Here, on a
	// shared machine (and under the race detector, whose hand-offs cost
	// several times more), the median is what can be held to a bound.
	bound := 10 * time.Millisecond
	if raceEnabled {
		bound = 50 * time.Millisecond
	}
	if p50 > bound {
		t.Errorf("propagation p50 %v, bound %v (race detector: %v)", p50, bound, raceEnabled)
	}
}

// TestFleetSimultaneousTripsGiveOneOpenPeriod: a and b trip the same
// breaker at once, each on its own failure, while they disagree on the open
// timeout (a config rollout in progress). The fleet ends with one open
// period, ending at the later deadline, everywhere: no instance (c included)
// half-opens while b's period runs.
//
// "At once" is made certain by freezing Redis while both trip: neither trip
// can reach the other instance before it has tripped too. Without the
// freeze, a's trip could reach b before b's call (b then adopts a's open
// and rejects the call meant to trip it: one period, a's, which is right
// but is not this test's case), and the two saves meet in the script in
// whichever order they arrive after it.
func TestFleetSimultaneousTripsGiveOneOpenPeriod(t *testing.T) {
	srv := startRedis(t)
	f := fleetOf(t, srv)
	short, long := tripping(3*time.Second), tripping(6*time.Second)
	// The remaining time travels: an instance's deadline for the merged
	// period is its own clock plus what Redis's clock says is left, so it
	// can be below b's own deadline only by rounding (µs) and the wall
	// clock's slew against the monotonic one over a few seconds.
	const slack = 20 * time.Millisecond
	for round := range 3 {
		name := "dep-" + itoa(uint64(round))
		ba := f[0].breaker(t, name, short)
		bb := f[1].breaker(t, name, long)
		f[2].breaker(t, name, short)
		want := func() time.Time {
			srv.Stop()
			defer srv.Cont()
			pa, errA := ba.Acquire(context.Background())
			pb, errB := bb.Acquire(context.Background())
			if errA != nil || errB != nil {
				t.Fatalf("round %d: Acquire before the trips: a %v, b %v", round, errA, errB)
			}
			if round%2 == 0 {
				pa.Failure()
				pb.Failure()
			} else {
				pb.Failure()
				pa.Failure()
			}
			f[0].waitState(t, name, breaker.Open, 5*time.Second)
			f[1].waitState(t, name, breaker.Open, 5*time.Second)
			ua, ub := ba.Metrics().OpenUntil, bb.Metrics().OpenUntil
			if !ua.Before(ub) {
				t.Fatalf("round %d: a's own period ends %v, not before b's %v", round, ua, ub)
			}
			return ub // the later of the two own deadlines
		}()
		for _, m := range f {
			b, _ := m.sup.Get(name)
			deadline := time.Now().Add(5 * time.Second)
			for {
				u := b.Metrics().OpenUntil
				if b.State() == breaker.Open && !u.Before(want.Add(-slack)) {
					// Adopting never starts a period longer than b's from now.
					if latest := time.Now().Add(long.OpenTimeout); u.After(latest) {
						t.Fatalf("round %d: %s is Open until %v, after %v (now + b's open timeout)", round, m.id, u, latest)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("round %d: %s is %v until %v, want Open until at least %v (b's own deadline)", round, m.id, b.State(), u, want)
				}
				time.Sleep(time.Millisecond) // polling with a deadline
			}
		}
	}
}

func TestFleetReplayedMessageChangesNothing(t *testing.T) {
	srv := startRedis(t)
	f := fleetOf(t, srv)
	cfg := tripping(time.Minute)
	for _, m := range f {
		m.breaker(t, "pay", cfg)
	}
	tap := listenNS(t, srv, "fleet")
	f[0].trip(t, "pay", cfg)
	raw := tap(5 * time.Second) // the open exactly as a published it
	for _, m := range f[1:] {
		m.waitState(t, "pay", breaker.Open, 5*time.Second)
	}
	a, _ := f[0].sup.Get("pay")
	a.Reset()
	for _, m := range f {
		m.waitState(t, "pay", breaker.Closed, 5*time.Second)
	}
	srv.CLI("PUBLISH", "breaker:{fleet}:events", raw)
	// and an invented record with a low gen
	srv.CLI("PUBLISH", "breaker:{fleet}:events", `3:pay{"s":1,"rem":60000000,"a":0,"r":1,"m":0,"g":7,"p":60000000,"b":0,"o":"x","t":0,"q":0,"k":3}`)
	// a later record proves both were read (in order) before it
	closed, _ := stored1(t, srv, "pay")
	f[1].trip(t, "other", cfg)
	for _, m := range []*member{f[0], f[2]} {
		m.breaker(t, "other", cfg)
		m.waitState(t, "other", breaker.Open, 5*time.Second)
	}
	for _, m := range f {
		b, _ := m.sup.Get("pay")
		if s := b.State(); s != breaker.Closed {
			t.Fatalf("%s: a replayed message (closed at gen %d) made pay %v", m.id, closed.Gen, s)
		}
	}
}

// listenNS taps a namespace's channel and returns a function giving the
// next raw message.
func listenNS(t *testing.T, srv *redisServer, ns string) func(time.Duration) string {
	t.Helper()
	ps := srv.Client().Subscribe(context.Background(), "breaker:{"+ns+"}:events")
	t.Cleanup(func() { ps.Close() })
	if _, err := ps.Receive(context.Background()); err != nil {
		t.Fatal(err)
	}
	return func(d time.Duration) string {
		t.Helper()
		m, err := ps.ReceiveMessage(ctxFor(t, d))
		if err != nil {
			t.Fatalf("no message within %v: %v", d, err)
		}
		return m.Payload
	}
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestFleetClockSkew(t *testing.T) {
	srv := startRedis(t)
	base := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	clocks := []*clock.Mock{clock.NewMock(), clock.NewMock(), clock.NewMock()}
	clocks[0].Set(base)
	clocks[1].Set(base.Add(10 * time.Minute))
	clocks[2].Set(base.Add(-10 * time.Minute))
	var f []*member
	for i, id := range []string{"a", "b", "c"} {
		f = append(f, join(t, srv, id, []Option{WithClock(clocks[i])}, breaker.WithClock(clocks[i])))
	}
	cfg := tripping(30 * time.Second)
	for _, m := range f {
		m.breaker(t, "pay", cfg)
	}
	f[0].trip(t, "pay", cfg)
	for i, m := range f[1:] {
		m.waitState(t, "pay", breaker.Open, 5*time.Second)
		b, _ := m.sup.Get("pay")
		left := b.Metrics().OpenUntil.Sub(clocks[i+1].Now())
		if left < 29*time.Second || left > 30*time.Second {
			t.Fatalf("%s (clock %v off) open for %v by its own clock, want about 30 s",
				m.id, clocks[i+1].Now().Sub(base), left)
		}
	}
	// Each instance times its own Open → HalfOpen.
	clocks[1].Add(31 * time.Second)
	f[1].waitState(t, "pay", breaker.HalfOpen, 5*time.Second)
	if b, _ := f[2].sup.Get("pay"); b.State() != breaker.Open {
		t.Fatalf("c left Open on b's clock: %v", b.State())
	}
}
