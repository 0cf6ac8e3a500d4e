package events_test

import (
	"testing"

	"github.com/breakerlabs/breaker/events"
)

// receive returns every event buffered in s without blocking.
func receive(s *events.Subscription) []events.Event {
	var out []events.Event
	for {
		select {
		case e, ok := <-s.C():
			if !ok {
				return out
			}
			out = append(out, e)
		default:
			return out
		}
	}
}

func ev(breaker string, seq uint64, k events.Kind) events.Event {
	return events.Event{Breaker: breaker, Seq: seq, Kind: k}
}

func isClosed(s *events.Subscription) bool {
	for {
		select {
		case _, ok := <-s.C():
			if !ok {
				return true
			}
		default:
			return false
		}
	}
}

func TestDefaultKinds(t *testing.T) {
	h := events.NewHub()
	defer h.Close()
	s := h.Subscribe()
	for i, k := range events.AllKinds() {
		h.Publish(ev("a", uint64(i+1), k))
	}
	got := receive(s)
	if len(got) != 3 || got[0].Kind != events.StateChanged || got[1].Kind != events.ActorRestarted ||
		got[2].Kind != events.StoreFailed {
		t.Fatalf("default subscription got %v", got)
	}
	// WithKinds() with no arguments keeps the default.
	s2 := h.Subscribe(events.WithKinds())
	h.Publish(ev("a", 10, events.CallFailed))
	h.Publish(ev("a", 11, events.StateChanged))
	if got := receive(s2); len(got) != 1 || got[0].Seq != 11 {
		t.Fatalf("WithKinds() got %v", got)
	}
}

func TestWithKinds(t *testing.T) {
	h := events.NewHub()
	defer h.Close()
	s := h.Subscribe(events.WithKinds(events.CallFailed), events.WithKinds(events.CallRejected))
	all := h.Subscribe(events.WithKinds(events.AllKinds()...))
	for i, k := range events.AllKinds() {
		h.Publish(ev("a", uint64(i+1), k))
	}
	got := receive(s)
	if len(got) != 2 || got[0].Kind != events.CallRejected || got[1].Kind != events.CallFailed {
		t.Fatalf("WithKinds(CallFailed)+WithKinds(CallRejected) got %v", got)
	}
	if got := receive(all); len(got) != len(events.AllKinds()) {
		t.Fatalf("all kinds got %d events, want %d", len(got), len(events.AllKinds()))
	}
	// An unknown kind is never delivered and never panics.
	h.Publish(ev("a", 99, events.Kind(200)))
	if got := receive(all); len(got) != 0 {
		t.Fatalf("unknown kind delivered: %v", got)
	}
}

func TestWithBreakers(t *testing.T) {
	h := events.NewHub()
	defer h.Close()
	ab := h.Subscribe(events.WithBreakers("a"), events.WithBreakers("b"))
	any := h.Subscribe()
	empty := h.Subscribe(events.WithBreakers())
	names := []string{"a", "b", "c"}
	bs := []string{"a"}
	onlyA := h.Subscribe(events.WithBreakers(bs...))
	bs[0] = "c" // the option copied its argument
	for i, n := range names {
		h.Publish(ev(n, uint64(i+1), events.StateChanged))
	}
	if got := receive(ab); len(got) != 2 || got[0].Breaker != "a" || got[1].Breaker != "b" {
		t.Fatalf("WithBreakers(a)+(b) got %v", got)
	}
	if got := receive(any); len(got) != 3 {
		t.Fatalf("no filter got %v", got)
	}
	if got := receive(empty); len(got) != 3 {
		t.Fatalf("WithBreakers() got %v", got)
	}
	if got := receive(onlyA); len(got) != 1 || got[0].Breaker != "a" {
		t.Fatalf("WithBreakers(a) got %v", got)
	}
}

func TestBufferFullDropsAndCounts(t *testing.T) {
	h := events.NewHub()
	defer h.Close()
	small := h.Subscribe(events.WithBuffer(4))
	big := h.Subscribe()
	for i := 1; i <= 10; i++ {
		h.Publish(ev("a", uint64(i), events.StateChanged))
	}
	got := receive(small)
	if len(got) != 4 || small.Dropped() != 6 {
		t.Fatalf("buffer 4, 10 events: got %d, dropped %d; want 4, 6", len(got), small.Dropped())
	}
	for i, e := range got {
		if e.Seq != uint64(i+1) {
			t.Fatalf("kept events out of order: %v", got)
		}
	}
	if got := receive(big); len(got) != 10 || big.Dropped() != 0 {
		t.Fatalf("other subscriber affected: got %d, dropped %d", len(got), big.Dropped())
	}
	// Room again: delivery resumes, and the gap shows in Seq.
	h.Publish(ev("a", 11, events.StateChanged))
	if got := receive(small); len(got) != 1 || got[0].Seq != 11 || small.Dropped() != 6 {
		t.Fatalf("after draining: got %v, dropped %d", got, small.Dropped())
	}
	// Filtered-out events are not drops.
	h.Publish(ev("a", 12, events.CallFailed))
	if small.Dropped() != 6 {
		t.Fatalf("filtered event counted as dropped")
	}
}

func TestWithBufferBelowOne(t *testing.T) {
	h := events.NewHub()
	defer h.Close()
	for _, n := range []int{0, -5} {
		s := h.Subscribe(events.WithBuffer(n))
		if c := cap(s.C()); c != 1 {
			t.Errorf("WithBuffer(%d): cap = %d, want 1", n, c)
		}
	}
	if c := cap(h.Subscribe().C()); c != 64 {
		t.Errorf("default buffer = %d, want 64", c)
	}
}

func TestSubscriptionCloseIdempotent(t *testing.T) {
	h := events.NewHub()
	defer h.Close()
	s := h.Subscribe()
	other := h.Subscribe()
	h.Publish(ev("a", 1, events.StateChanged))
	s.Close()
	s.Close()
	// Buffered events survive Close; then the channel reports closed.
	e, ok := <-s.C()
	if !ok || e.Seq != 1 {
		t.Fatalf("buffered event lost: %v %v", e, ok)
	}
	if _, ok := <-s.C(); ok {
		t.Fatalf("C not closed after Close")
	}
	h.Publish(ev("a", 2, events.StateChanged))
	if _, ok := <-s.C(); ok {
		t.Fatalf("event delivered after Close")
	}
	if s.Dropped() != 0 {
		t.Fatalf("publish after Close counted as drop")
	}
	if h.Subscribers() != 1 {
		t.Fatalf("Subscribers() = %d after one Close, want 1", h.Subscribers())
	}
	if got := receive(other); len(got) != 2 {
		t.Fatalf("other subscription got %v", got)
	}
}

func TestHubClose(t *testing.T) {
	h := events.NewHub()
	subs := []*events.Subscription{h.Subscribe(), h.Subscribe(events.WithKinds(events.CallFailed)), h.Subscribe()}
	subs[2].Close()
	h.Close()
	h.Close()
	for i, s := range subs {
		if !isClosed(s) {
			t.Errorf("subscription %d not closed by Hub.Close", i)
		}
		s.Close() // still fine
	}
	for _, k := range events.AllKinds() {
		if h.Wants(k) {
			t.Errorf("Wants(%v) true after Close", k)
		}
	}
	late := h.Subscribe(events.WithKinds(events.AllKinds()...))
	if !isClosed(late) {
		t.Fatalf("Subscribe after Close returned an open subscription")
	}
	if h.Wants(events.StateChanged) || h.Subscribers() != 0 {
		t.Fatalf("Subscribe after Close registered something")
	}
	h.Publish(ev("a", 1, events.StateChanged)) // no panic
	late.Close()
}

func TestZeroHub(t *testing.T) {
	var h events.Hub
	if h.Wants(events.StateChanged) {
		t.Fatal("zero hub wants events")
	}
	h.Publish(ev("a", 1, events.StateChanged))
	s := h.Subscribe()
	h.Publish(ev("a", 2, events.StateChanged))
	if got := receive(s); len(got) != 1 {
		t.Fatalf("zero hub delivered %v", got)
	}
	h.Close()
	if !isClosed(s) {
		t.Fatal("not closed")
	}
}

func TestWantsMask(t *testing.T) {
	h := events.NewHub()
	defer h.Close()
	check := func(step string, want ...events.Kind) {
		t.Helper()
		set := map[events.Kind]bool{}
		for _, k := range want {
			set[k] = true
		}
		for _, k := range events.AllKinds() {
			if h.Wants(k) != set[k] {
				t.Errorf("%s: Wants(%v) = %v, want %v", step, k, h.Wants(k), set[k])
			}
		}
		if h.Wants(events.Kind(40)) {
			t.Errorf("%s: Wants(Kind(40)) true", step)
		}
	}
	check("empty")
	a := h.Subscribe(events.WithKinds(events.CallFailed))
	check("a", events.CallFailed)
	b := h.Subscribe(events.WithKinds(events.CallFailed, events.CallSucceeded), events.WithBreakers("x"))
	check("a+b", events.CallFailed, events.CallSucceeded)
	d := h.Subscribe()
	check("a+b+default", events.CallFailed, events.CallSucceeded, events.StateChanged, events.ActorRestarted, events.StoreFailed)
	a.Close()
	check("b+default", events.CallFailed, events.CallSucceeded, events.StateChanged, events.ActorRestarted, events.StoreFailed)
	d.Close()
	check("b", events.CallFailed, events.CallSucceeded)
	b.Close()
	b.Close()
	check("none")
	if h.Subscribers() != 0 {
		t.Fatalf("Subscribers() = %d", h.Subscribers())
	}
}

func TestOrderSerialPublisher(t *testing.T) {
	h := events.NewHub()
	defer h.Close()
	const n = 10000
	s := h.Subscribe(events.WithBuffer(n), events.WithKinds(events.AllKinds()...))
	f := h.Subscribe(events.WithBuffer(n), events.WithBreakers("b"))
	kinds := events.AllKinds()
	seq := map[string]uint64{}
	for i := range n {
		name := []string{"a", "b"}[i%2]
		seq[name]++
		h.Publish(ev(name, seq[name], kinds[i%len(kinds)]))
	}
	check := func(s *events.Subscription, total int) {
		t.Helper()
		got := receive(s)
		if len(got) != total {
			t.Fatalf("got %d events, want %d", len(got), total)
		}
		last := map[string]uint64{}
		for _, e := range got {
			if e.Seq <= last[e.Breaker] {
				t.Fatalf("%s: seq %d after %d", e.Breaker, e.Seq, last[e.Breaker])
			}
			last[e.Breaker] = e.Seq
		}
	}
	check(s, n)
	// breaker "b" gets odd i; the default kinds are StateChanged,
	// ActorRestarted and StoreFailed.
	want := 0
	for i := range n {
		if k := kinds[i%len(kinds)]; i%2 == 1 && (k == events.StateChanged || k == events.ActorRestarted || k == events.StoreFailed) {
			want++
		}
	}
	check(f, want)
}

// A subscriber can call back into the hub (Subscribe, Close its own
// subscription) from its receive loop while the publisher keeps going.
func TestReentrantReceiver(t *testing.T) {
	h := events.NewHub()
	defer h.Close()
	s := h.Subscribe(events.WithBuffer(1))
	done := make(chan struct{})
	go func() {
		defer close(done)
		n := 0
		for range s.C() {
			n++
			extra := h.Subscribe()
			extra.Close()
			if n == 50 {
				s.Close() // from the receiving goroutine, while events flow
			}
		}
	}()
	stop := make(chan struct{})
	pubDone := make(chan struct{})
	go func() {
		defer close(pubDone)
		for i := uint64(1); ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			h.Publish(ev("a", i, events.StateChanged))
		}
	}()
	<-done
	close(stop)
	<-pubDone
}
