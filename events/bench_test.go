package events_test

import (
	"testing"

	"github.com/breakerlabs/breaker/events"
)

func TestNoAllocs(t *testing.T) {
	h := events.NewHub()
	defer h.Close()
	e := events.Event{Breaker: "a", Seq: 1, Kind: events.CallFailed}
	if n := testing.AllocsPerRun(1000, func() { h.Publish(e) }); n != 0 {
		t.Errorf("Publish with no subscribers: %v allocs", n)
	}
	if n := testing.AllocsPerRun(1000, func() { _ = h.Wants(events.CallFailed) }); n != 0 {
		t.Errorf("Wants: %v allocs", n)
	}
	s := h.Subscribe(events.WithKinds(events.CallFailed), events.WithBuffer(1))
	defer s.Close()
	if n := testing.AllocsPerRun(1000, func() { h.Publish(e) }); n != 0 {
		t.Errorf("Publish with one (full) subscriber: %v allocs", n)
	}
	f := h.Subscribe(events.WithBreakers("b"), events.WithKinds(events.CallFailed))
	defer f.Close()
	if n := testing.AllocsPerRun(1000, func() { h.Publish(e) }); n != 0 {
		t.Errorf("Publish with a breaker filter: %v allocs", n)
	}
}

func BenchmarkPublishNoSubscribers(b *testing.B) {
	h := events.NewHub()
	defer h.Close()
	e := events.Event{Breaker: "a", Kind: events.CallSucceeded}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		e.Seq = uint64(i)
		h.Publish(e)
	}
}

func BenchmarkWantsNoSubscribers(b *testing.B) {
	h := events.NewHub()
	defer h.Close()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if h.Wants(events.CallSucceeded) {
			n++
		}
	}
	if n != 0 {
		b.Fatal("wants with no subscribers")
	}
}

func BenchmarkWantsNoSubscribersParallel(b *testing.B) {
	h := events.NewHub()
	defer h.Close()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if h.Wants(events.CallSucceeded) {
				panic("wants")
			}
		}
	})
}

// One subscriber draining its channel in another goroutine.
func BenchmarkPublishOneSubscriber(b *testing.B) {
	h := events.NewHub()
	s := h.Subscribe(events.WithKinds(events.CallSucceeded), events.WithBuffer(1024))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range s.C() {
		}
	}()
	e := events.Event{Breaker: "a", Kind: events.CallSucceeded}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		e.Seq = uint64(i)
		h.Publish(e)
	}
	b.StopTimer()
	h.Close()
	<-done
	b.ReportMetric(float64(s.Dropped())/float64(b.N), "dropped/op")
}

// One subscriber whose buffer is always full: the drop path.
func BenchmarkPublishOneSubscriberFull(b *testing.B) {
	h := events.NewHub()
	defer h.Close()
	h.Subscribe(events.WithKinds(events.CallSucceeded), events.WithBuffer(1))
	e := events.Event{Breaker: "a", Kind: events.CallSucceeded}
	b.ReportAllocs()
	for b.Loop() {
		h.Publish(e)
	}
}
