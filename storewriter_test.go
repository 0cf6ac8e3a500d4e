package breaker

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlabs/breaker/engine"
	"github.com/breakerlabs/breaker/events"
	"go.uber.org/goleak"
)

// storeConfig trips on the first failure, stays open 30 s (doubling up to
// 2 min) and closes after one good probe.
func storeConfig() Config {
	return Config{
		Window:              CountWindow(10),
		ConsecutiveFailures: 1,
		OpenTimeout:         30 * time.Second,
		BackoffMultiplier:   2,
		MaxOpenTimeout:      2 * time.Minute,
		HalfOpen:            HalfOpenPolicy{MaxProbes: 1, Mode: Strict, SuccessThreshold: 1},
	}
}

// newStoreSupervisor makes a supervisor on mk with st as instance id and
// closes it at the end of the test.
func newStoreSupervisor(t *testing.T, st StateStore, mk *clock.Mock, id string) *Supervisor {
	t.Helper()
	s := NewSupervisor(WithClock(mk), WithStateStore(st), WithInstance(id))
	t.Cleanup(func() { s.Close() })
	return s
}

func mustGet(t *testing.T, s *Supervisor, name string) *Breaker {
	t.Helper()
	b, err := s.GetOrCreate(name, storeConfig())
	if err != nil {
		t.Fatalf("GetOrCreate(%q): %v", name, err)
	}
	return b
}

// noEvent checks that sub has nothing pending.
func noEvent(t *testing.T, sub *events.Subscription) {
	t.Helper()
	select {
	case ev := <-sub.C():
		t.Fatalf("unexpected event %v (err %v)", ev, ev.Err)
	default:
	}
}

// drainUntil advances mk by step until cond holds (a backoff timer the
// writer arms concurrently fires on one of the advances).
func drainUntil(t *testing.T, mk *clock.Mock, step time.Duration, what string, cond func() bool) {
	t.Helper()
	eventually(t, what, func() bool {
		if cond() {
			return true
		}
		mk.Add(step)
		return cond()
	})
}

func TestStoreRestoresOnGetOrCreate(t *testing.T) {
	mk := clock.NewMock()
	st := newMemStore(
		Record{Name: "open", State: Open, Remaining: 20 * time.Second, Attempt: 2, Origin: "old-1"},
		Record{Name: "expired", State: Open, Remaining: 3 * time.Second, Origin: "old-1"},
		Record{Name: "long", State: Open, Remaining: time.Hour, Origin: "old-1"},
		Record{Name: "forced", State: ForcedOpen, Manual: true, Origin: "old-1"},
		Record{Name: "disabled", State: Disabled, Origin: "old-1"},
		Record{Name: "halfopen", State: HalfOpen, Origin: "old-1"},
	)
	s := newStoreSupervisor(t, st, mk, "new")
	sub := s.Subscribe()
	defer sub.Close()
	mk.Add(5 * time.Second) // time passes between the load and the first use

	b := mustGet(t, s, "open")
	m := b.Metrics()
	if m.State != Open || !m.OpenUntil.Equal(mk.Now().Add(15*time.Second)) {
		t.Fatalf("restored %v until %v, want open until now+15s (%v)", m.State, m.OpenUntil, mk.Now().Add(15*time.Second))
	}
	if m.WindowCalls != 0 || m.Trips != 1 {
		t.Errorf("restored window %d calls, %d trips", m.WindowCalls, m.Trips)
	}
	ev := nextEvent(t, sub)
	if ev.Kind != events.StateChanged || ev.From != Closed || ev.To != Open || ev.Reason != ReasonRemote || ev.Origin != "old-1" {
		t.Fatalf("restore event %+v", ev)
	}
	var oe *OpenError
	if _, err := b.Acquire(context.Background()); !errors.As(err, &oe) || !oe.Until.Equal(m.OpenUntil) {
		t.Fatalf("Acquire: %v", err)
	}
	// The backoff carries on from the stored attempt (2): a failed probe
	// opens for 30 s × 2^3, capped at 2 min.
	advance(b, mk, 15*time.Second)
	if b.State() != HalfOpen {
		t.Fatalf("state %v at the restored deadline", b.State())
	}
	runOutcomes(t, b, "F")
	if m := b.Metrics(); !m.OpenUntil.Equal(mk.Now().Add(2 * time.Minute)) {
		t.Fatalf("reopened until %v, want now+2m (attempt 3 from the stored 2)", m.OpenUntil)
	}

	if st := mustGet(t, s, "expired").State(); st != HalfOpen {
		t.Errorf("an open period that ended while stored restores as %v, want half-open", st)
	}
	if m := mustGet(t, s, "long").Metrics(); !m.OpenUntil.Equal(mk.Now().Add(2 * time.Minute)) {
		t.Errorf("an hour left restores until %v, want capped at MaxOpenTimeout (now+2m)", m.OpenUntil)
	}
	if st := mustGet(t, s, "forced").State(); st != ForcedOpen {
		t.Errorf("forced restores as %v", st)
	}
	if st := mustGet(t, s, "disabled").State(); st != Disabled {
		t.Errorf("disabled restores as %v", st)
	}
	for _, name := range []string{"halfopen", "unknown"} {
		if st := mustGet(t, s, name).State(); st != Closed {
			t.Errorf("%s starts %v, want closed", name, st)
		}
	}
	// Restoring is not a transition of this process: only the reopen
	// above is saved.
	eventually(t, "the reopen saved", func() bool { return len(st.accepted()) == 1 })
	s.Close()
	if saved := st.accepted(); len(saved) != 1 || saved[0].Name != "open" {
		t.Errorf("saved %+v, want only the reopen (restores are never saved)", saved)
	}
}

func TestStoreSavesTransitions(t *testing.T) {
	mk := clock.NewMock()
	st := newMemStore()
	s := newStoreSupervisor(t, st, mk, "a")
	b := mustGet(t, s, "payments")

	runOutcomes(t, b, "F")
	eventually(t, "the trip saved", func() bool { return len(st.accepted()) == 1 })
	got := st.accepted()[0]
	want := Record{Name: "payments", State: Open, Since: mk.Now(), Remaining: 30 * time.Second,
		Reason: ReasonConsecutiveFailures, Gen: 1, Origin: "a"}
	if got != want {
		t.Fatalf("saved\n %+v\nwant\n %+v", got, want)
	}

	advance(b, mk, 30*time.Second) // HalfOpen: never stored
	runOutcomes(t, b, "F")         // a failed probe: Open again, attempt 1
	eventually(t, "the reopen saved", func() bool { return len(st.accepted()) == 2 })
	got = st.accepted()[1]
	if got.State != Open || got.Attempt != 1 || got.Remaining != time.Minute || got.Reason != ReasonProbeFailed || got.BaseGen != 1 {
		t.Fatalf("reopen saved as %+v", got)
	}
	advance(b, mk, time.Minute)
	runOutcomes(t, b, "S") // Closed
	eventually(t, "the close saved", func() bool { return len(st.accepted()) == 3 })
	if got = st.accepted()[2]; got.State != Closed || got.Manual || got.BaseGen != 2 {
		t.Fatalf("close saved as %+v", got)
	}
	if _, ok := st.record("payments"); ok {
		t.Fatal("a Closed record must clear the name")
	}
	b.ForceOpen()
	b.Reset()
	eventually(t, "the reset saved", func() bool {
		r := st.accepted()
		return len(r) > 0 && r[len(r)-1].State == Closed && r[len(r)-1].Manual
	})
	if err := s.StoreErr(); err != nil {
		t.Fatalf("StoreErr = %v", err)
	}
}

func TestStoreLatestRecordWins(t *testing.T) {
	mk := clock.NewMock()
	st := newMemStore()
	gate := make(chan struct{})
	entry := make(chan struct{}, 16)
	st.set(func(st *memStore) { st.gate, st.saveEntry = gate, entry })
	s := newStoreSupervisor(t, st, mk, "a")
	b := mustGet(t, s, "payments")

	runOutcomes(t, b, "F")
	<-entry // the writer is inside Save with the Open record, held at the gate
	within(t, "transitions while the store is stuck", func() {
		b.ForceOpen()
		b.Reset()
		b.Disable()
	})
	st.set(func(st *memStore) { st.gate = nil })
	close(gate)
	eventually(t, "the latest record saved", func() bool {
		r, ok := st.record("payments")
		return ok && r.State == Disabled
	})
	settle(b)
	saved := st.accepted()
	if len(saved) != 2 || saved[0].State != Open || saved[1].State != Disabled {
		t.Fatalf("saved %+v; want the Open that was in flight, then only the latest (Disabled)", saved)
	}
}

func TestStoreFailingStoreOneEventPerOutage(t *testing.T) {
	mk := clock.NewMock()
	st := newMemStore()
	s := newStoreSupervisor(t, st, mk, "a")
	sub := s.Subscribe(events.WithKinds(events.StoreFailed))
	defer sub.Close()
	orders := mustGet(t, s, "orders")
	orders.ForceOpen()
	eventually(t, "orders saved", func() bool { _, ok := st.record("orders"); return ok })

	st.set(func(st *memStore) { st.failSave = errDiskFull })
	b := mustGet(t, s, "payments")
	runOutcomes(t, b, "F")
	ev := nextEvent(t, sub)
	if ev.Breaker != "payments" || !errors.Is(ev.Err, errDiskFull) || ev.Seq == 0 {
		t.Fatalf("StoreFailed event %+v", ev)
	}
	if err := s.StoreErr(); !errors.Is(err, errDiskFull) {
		t.Fatalf("StoreErr = %v", err)
	}
	// Calls and transitions go on as if there were no store; retries fail
	// in the background without another event.
	for i := range 20 {
		b.Reset()
		runOutcomes(t, b, "F")
		if b.State() != Open {
			t.Fatalf("round %d: state %v", i, b.State())
		}
		mk.Add(storeRetryMax)
	}
	eventually(t, "retries", func() bool {
		st.mu.Lock()
		defer st.mu.Unlock()
		return st.calls >= 4
	})
	noEvent(t, sub)
	if n := s.StoreOutages(); n != 1 {
		t.Fatalf("%d outages counted, want 1", n)
	}
	if r, ok := st.record("orders"); !ok || r.State != ForcedOpen {
		t.Fatalf("a record saved before the outage was lost: %+v", r)
	}

	// Recovery: the next retry saves the latest record and clears StoreErr.
	st.set(func(st *memStore) { st.failSave = nil })
	drainUntil(t, mk, storeRetryMax, "recovery", func() bool {
		_, ok := st.record("payments")
		return ok && s.StoreErr() == nil
	})
	noEvent(t, sub)

	// A second outage is a second event.
	st.set(func(st *memStore) { st.failSave = errDiskFull })
	b.ForceOpen()
	if ev := nextEvent(t, sub); ev.Breaker != "payments" || !errors.Is(ev.Err, errDiskFull) {
		t.Fatalf("second outage event %+v", ev)
	}
	if n := s.StoreOutages(); n != 2 {
		t.Fatalf("%d outages counted, want 2", n)
	}
}

func TestStoreHangingStoreNeverBlocks(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	mk := clock.NewMock()
	st := newMemStore()
	st.set(func(st *memStore) { st.hang = true })
	s := NewSupervisor(WithClock(mk), WithStateStore(st), WithInstance("a"))
	b, err := s.GetOrCreate("payments", storeConfig())
	if err != nil {
		t.Fatal(err)
	}
	within(t, "calls and transitions with a hanging store", func() {
		for range 50 {
			runOutcomes(t, b, "F")
			b.Reset()
			b.ForceOpen()
			b.Disable()
			b.Reset()
		}
	})
	start := time.Now()
	s.Close()
	if d := time.Since(start); d > 1100*time.Millisecond {
		t.Fatalf("Close took %v with a hanging store; the flush is bounded at 1 s", d)
	}
}

func TestStoreCloseWithStoreIgnoringItsContext(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	mk := clock.NewMock()
	st := newMemStore()
	gate := make(chan struct{})
	entry := make(chan struct{}, 1)
	st.set(func(st *memStore) { st.gate, st.saveEntry = gate, entry })
	s := NewSupervisor(WithClock(mk), WithStateStore(st), WithInstance("a"))
	b, err := s.GetOrCreate("payments", storeConfig())
	if err != nil {
		t.Fatal(err)
	}
	runOutcomes(t, b, "F")
	<-entry
	start := time.Now()
	s.Close()
	if d := time.Since(start); d > 1100*time.Millisecond {
		t.Fatalf("Close took %v; the flush is bounded at 1 s", d)
	}
	close(gate) // the stuck Save returns; the writer exits without calling the store again
	st.set(func(st *memStore) { st.gate, st.saveEntry = nil, nil })
}

func TestStoreLoadFailure(t *testing.T) {
	mk := clock.NewMock()
	st := newMemStore(Record{Name: "payments", State: Open, Remaining: time.Minute})
	st.set(func(st *memStore) { st.failLoad = errors.New("connection refused") })
	s := newStoreSupervisor(t, st, mk, "a")
	if err := s.StoreErr(); err == nil || s.StoreOutages() != 1 {
		t.Fatalf("StoreErr = %v after a failed load (outages %d)", err, s.StoreOutages())
	}
	sub := s.Subscribe() // after NewSupervisor, as a logger would
	defer sub.Close()
	b := mustGet(t, s, "payments")
	if b.State() != Closed {
		t.Fatalf("state %v after a failed load, want closed", b.State())
	}
	if ev := nextEvent(t, sub); ev.Kind != events.StoreFailed || ev.Breaker != "" || ev.Err == nil ||
		!strings.Contains(ev.Err.Error(), "connection refused") {
		t.Fatalf("the load failure's event: %+v", ev)
	}
	mustGet(t, s, "orders")
	noEvent(t, sub) // announced once
	runOutcomes(t, b, "F")
	eventually(t, "a save clears StoreErr", func() bool { return s.StoreErr() == nil })
}

func TestStoreWatchFailure(t *testing.T) {
	mk := clock.NewMock()
	st := newMemStore()
	st.set(func(st *memStore) { st.failWatch = errors.New("connection reset") })
	s := newStoreSupervisor(t, st, mk, "a")
	sub := s.Subscribe(events.WithKinds(events.StoreFailed))
	defer sub.Close()
	// The first failure may come before the subscription: each retry
	// reloads (which succeeds, ending that outage) and watches again
	// (which fails, starting the next), so an event comes.
	var ev events.Event
	drainUntil(t, mk, storeRetryMax, "a watch failure event", func() bool {
		select {
		case ev = <-sub.C():
			return true
		default:
			return false
		}
	})
	if ev.Breaker != "" || ev.Err == nil || ev.Seq == 0 || s.StoreErr() == nil {
		t.Fatalf("watch failure event %+v, StoreErr %v", ev, s.StoreErr())
	}
	st.set(func(st *memStore) { st.failWatch = nil })
	drainUntil(t, mk, storeRetryMax, "the watch back", func() bool { return st.watching() == 1 && s.StoreErr() == nil })
}

func TestStoreTwoInstancesClockSkew(t *testing.T) {
	st := newMemStore()
	mkA, mkB := clock.NewMock(), clock.NewMock()
	mkB.Add(10 * time.Minute) // B's clock runs 10 minutes ahead of A's
	sa := newStoreSupervisor(t, st, mkA, "a")
	sb := newStoreSupervisor(t, st, mkB, "b")
	eventually(t, "both watching", func() bool { return st.watching() == 2 })
	a, b := mustGet(t, sa, "payments"), mustGet(t, sb, "payments")
	subB := b.Subscribe()
	defer subB.Close()

	runOutcomes(t, a, "F")
	ev := nextEvent(t, subB)
	if ev.To != Open || ev.Reason != ReasonRemote || ev.Origin != "a" {
		t.Fatalf("B's event %+v", ev)
	}
	settle(b)
	if m := b.Metrics(); m.State != Open || !m.OpenUntil.Equal(mkB.Now().Add(30*time.Second)) {
		t.Fatalf("B adopted %v until %v; want open until B's now+30s = %v", m.State, m.OpenUntil, mkB.Now().Add(30*time.Second))
	}
	if _, err := b.Acquire(context.Background()); !errors.Is(err, ErrOpen) {
		t.Fatalf("B admits after A's trip: %v", err)
	}
	// B never echoes what it adopted.
	if n := len(st.accepted()); n != 1 {
		t.Fatalf("%d records in the store, want only A's", n)
	}

	// B times its own open period.
	advance(b, mkB, 30*time.Second-1)
	if b.State() != Open {
		t.Fatalf("B %v 1ns before the adopted deadline", b.State())
	}
	advance(b, mkB, 1)
	if b.State() != HalfOpen {
		t.Fatalf("B %v at the adopted deadline", b.State())
	}

	// A recovers: its Closed reaches B, which has not tripped on its own.
	advance(a, mkA, 30*time.Second)
	runOutcomes(t, a, "S")
	eventually(t, "B adopts A's close", func() bool { return b.State() == Closed })

	// B trips on its own; a Closed from an instance that had not seen that
	// trip is refused, one that had is adopted.
	runOutcomes(t, b, "F")
	var own Record
	eventually(t, "B's trip saved", func() bool {
		r, ok := st.record("payments")
		own = r
		return ok && r.Origin == "b"
	})
	st.publish(Record{Name: "payments", State: Closed, Origin: "c", BaseGen: own.Gen - 1})
	st.publish(Record{Name: "marker", State: ForcedOpen, Origin: "c"}) // B handles it after the Closed
	eventually(t, "the marker", func() bool {
		sb.store.mu.Lock()
		defer sb.store.mu.Unlock()
		sl := sb.store.slots["marker"]
		return sl != nil && sl.remote != nil
	})
	settle(b) // the Closed's adoption message was queued before the marker was kept
	if s := b.State(); s != Open {
		t.Fatalf("B %v after a Closed that had not seen its trip", s)
	}
	st.publish(Record{Name: "payments", State: Closed, Origin: "c", BaseGen: own.Gen + 2})
	eventually(t, "B adopts a current close", func() bool { return b.State() == Closed })
}

func TestStoreSaveAnswerIsAdopted(t *testing.T) {
	mk := clock.NewMock()
	st := newMemStore()
	s := newStoreSupervisor(t, struct{ StateStore }{st}, mk, "a") // no Watch: only Save's answers
	b := mustGet(t, s, "payments")
	runOutcomes(t, b, "F")
	eventually(t, "the trip saved", func() bool { _, ok := st.record("payments"); return ok })
	// Another instance re-opens it for longer; this one does not hear of it.
	st.publish(Record{Name: "payments", State: Open, Remaining: time.Hour, Attempt: 1, Origin: "c"})
	advance(b, mk, 30*time.Second)
	runOutcomes(t, b, "S") // Closed, saved with a BaseGen the store has moved past
	eventually(t, "the store's answer adopted", func() bool { return b.State() == Open })
	if m := b.Metrics(); !m.OpenUntil.Equal(mk.Now().Add(2 * time.Minute)) {
		t.Fatalf("adopted until %v, want now+2m (an hour, capped)", m.OpenUntil)
	}
}

func TestStoreRecordForUnknownNameKept(t *testing.T) {
	st := newMemStore()
	mkA, mkB := clock.NewMock(), clock.NewMock()
	sa := newStoreSupervisor(t, st, mkA, "a")
	sb := newStoreSupervisor(t, st, mkB, "b")
	eventually(t, "both watching", func() bool { return st.watching() == 2 })
	runOutcomes(t, mustGet(t, sa, "orders"), "F")
	eventually(t, "B received the record", func() bool {
		sb.store.mu.Lock()
		defer sb.store.mu.Unlock()
		sl := sb.store.slots["orders"]
		return sl != nil && sl.remote != nil
	})
	mkB.Add(10 * time.Second)
	b := mustGet(t, sb, "orders")
	if m := b.Metrics(); m.State != Open || !m.OpenUntil.Equal(mkB.Now().Add(20*time.Second)) {
		t.Fatalf("created %v until %v, want open until now+20s", m.State, m.OpenUntil)
	}
}

// adoptInto hands r to either driver.
func adoptInto(c Circuit, r engine.Remote) {
	switch c := c.(type) {
	case *Breaker:
		c.adopt(r, true)
	case *MutexBreaker:
		c.adopt(r)
	}
}

func TestAdoptBothDrivers(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im impl) {
		// The writer's clock and this one are 10 minutes apart; only the
		// remaining time travels.
		writer := clock.NewMock()
		wb, err := im.new("w", storeConfig(), WithClock(writer))
		if err != nil {
			t.Fatal(err)
		}
		defer wb.Close()
		runOutcomes(t, wb, "F")
		left := wb.Metrics().OpenUntil.Sub(writer.Now())

		c, mk := newMocked(t, im, storeConfig())
		mk.Add(10 * time.Minute)
		sub := subscribe(t, c)
		defer sub.Close()
		p, err := c.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		adoptInto(c, engine.Remote{State: Open, Remaining: left, Attempt: 1, Origin: "w"})
		p.Failure() // granted before the adoption: stale
		settle(c)
		m := c.Metrics()
		if m.State != Open || !m.OpenUntil.Equal(mk.Now().Add(30*time.Second)) || m.WindowCalls != 0 {
			t.Fatalf("adopted %v until %v (window %d); want open until now+30s", m.State, m.OpenUntil, m.WindowCalls)
		}
		ev := nextEvent(t, sub)
		if ev.From != Closed || ev.To != Open || ev.Reason != ReasonRemote || ev.Origin != "w" {
			t.Fatalf("event %+v", ev)
		}
		advance(c, mk, 30*time.Second)
		if c.State() != HalfOpen {
			t.Fatalf("%v at the adopted deadline", c.State())
		}
		runOutcomes(t, c, "F") // attempt max(0, 1) + 1 = 2: open 2 min
		if m := c.Metrics(); !m.OpenUntil.Equal(mk.Now().Add(2 * time.Minute)) {
			t.Fatalf("reopened until %v, want now+2m", m.OpenUntil)
		}
		adoptInto(c, engine.Remote{State: Closed, Manual: true, Origin: "w"})
		if c.State() != Closed {
			t.Fatalf("%v after a manual close", c.State())
		}
		c.Close()
		adoptInto(c, engine.Remote{State: ForcedOpen, Origin: "w"}) // after Close: nothing
		if c.State() != Closed {
			t.Fatalf("%v: adopted after Close", c.State())
		}
	})
}

func TestStoreSaveTimesOut(t *testing.T) {
	mk := clock.NewMock()
	st := newMemStore()
	entry := make(chan struct{}, 64)
	st.set(func(st *memStore) { st.hang, st.saveEntry = true, entry })
	s := newStoreSupervisor(t, st, mk, "a")
	sub := s.Subscribe(events.WithKinds(events.StoreFailed))
	defer sub.Close()
	b := mustGet(t, s, "payments")
	runOutcomes(t, b, "F")
	<-entry // the writer waits in Save
	mk.Add(storeCallTimeout)
	ev := nextEvent(t, sub)
	if ev.Breaker != "payments" || !errors.Is(ev.Err, context.DeadlineExceeded) && !errors.Is(ev.Err, context.Canceled) {
		t.Fatalf("event %+v", ev)
	}
	if err := s.StoreErr(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("StoreErr = %v, want a timeout", err)
	}
}

func TestStoreOutagesWithoutAStore(t *testing.T) {
	s := NewSupervisor()
	defer s.Close()
	if s.StoreOutages() != 0 || s.StoreErr() != nil {
		t.Fatalf("a supervisor without a store: %d outages, StoreErr %v", s.StoreOutages(), s.StoreErr())
	}
}

// mergingStore is a StateStore (no Watch) that answers each Open it saves
// the way a shared store's merge does when another instance's longer Open
// is already stored: the record it holds now still names the writer as its
// Origin (the writer was the last to write) but ends at the other
// instance's later deadline, with the higher attempt.
type mergingStore struct {
	mem   *memStore
	other Record // the other instance's Open, already stored
}

func (st *mergingStore) Load(ctx context.Context) ([]Record, error) { return st.mem.Load(ctx) }
func (st *mergingStore) Close() error                               { return nil }

func (st *mergingStore) Save(ctx context.Context, r Record) (Record, error) {
	got, err := st.mem.Save(ctx, r)
	if err != nil || r.State != Open {
		return got, err
	}
	got.Remaining = max(got.Remaining, st.other.Remaining)
	got.Attempt = max(got.Attempt, st.other.Attempt)
	return got, nil
}

// TestStoreMergedOwnOpenIsAdopted: when the store merges this instance's
// trip with another instance's longer open period, Save's answer carries
// this instance's own Origin. The writer must adopt its later deadline
// rather than drop it as its own echo, or this instance half-opens while
// the rest of the fleet is still open (two open periods).
func TestStoreMergedOwnOpenIsAdopted(t *testing.T) {
	mk := clock.NewMock()
	st := &mergingStore{mem: newMemStore(),
		other: Record{Name: "payments", State: Open, Remaining: 90 * time.Second, Origin: "b"}}
	s := newStoreSupervisor(t, st, mk, "a")
	b := mustGet(t, s, "payments")
	sub := s.Subscribe(events.WithBuffer(16))
	defer sub.Close()
	runOutcomes(t, b, "F") // Open for storeConfig's 30 s
	if e := nextEvent(t, sub); e.Kind != events.StateChanged || e.To != Open || e.Reason == ReasonRemote {
		t.Fatalf("the trip: %v", e)
	}
	e := nextEvent(t, sub)
	if e.Kind != events.StateChanged || e.To != Open || e.Reason != ReasonRemote || e.Origin != "a" {
		t.Fatalf("after the merged answer: %v (origin %q), want open → open (remote, origin a)", e, e.Origin)
	}
	if want := mk.Now().Add(90 * time.Second); !e.Until.Equal(want) || !b.Metrics().OpenUntil.Equal(want) {
		t.Fatalf("open until %v (event %v), want the merged deadline %v", b.Metrics().OpenUntil, e.Until, want)
	}
}
