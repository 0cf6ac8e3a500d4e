package events_test

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/breakerlabs/breaker/events"
)

// Many goroutines publish while subscriptions are created, consumed and
// closed (by themselves, by their receivers, and finally by Hub.Close). Under
// -race this proves Publish never panics (a send on a closed channel would),
// every C ends up closed, and nothing is sent after Close returns.
func TestPublishConcurrentWithClose(t *testing.T) {
	const (
		publishers = 8
		rounds     = 200
	)
	h := events.NewHub()
	var stop atomic.Bool
	var pubs sync.WaitGroup
	for p := range publishers {
		pubs.Add(1)
		go func() {
			defer pubs.Done()
			name := string(rune('a' + p))
			for seq := uint64(1); !stop.Load(); seq++ {
				k := events.Kind(seq % 7)
				if h.Wants(k) {
					h.Publish(events.Event{Breaker: name, Seq: seq, Kind: k})
				}
			}
		}()
	}

	var subs sync.WaitGroup
	for r := range rounds {
		s := h.Subscribe(events.WithBuffer(1+r%8), events.WithKinds(events.AllKinds()...))
		subs.Add(1)
		go func() {
			defer subs.Done()
			last := map[string]uint64{}
			n := 0
			for e := range s.C() {
				if e.Seq <= last[e.Breaker] {
					t.Errorf("%s: seq %d after %d", e.Breaker, e.Seq, last[e.Breaker])
				}
				last[e.Breaker] = e.Seq
				n++
				if n == 1+r%20 {
					if r%2 == 0 {
						s.Close() // from the receiver, while events flow
					} else {
						go s.Close() // concurrently with delivery
					}
					s.Close() // idempotent
				}
			}
		}()
		if r%3 == 0 {
			s.Close() // from the subscriber's owner, concurrently with its receiver
			// After Close returned: drain what was buffered; the channel must
			// then be closed and stay empty whatever publishers do.
			for range s.C() {
			}
			if _, ok := <-s.C(); ok {
				t.Errorf("event after Close")
			}
		}
	}
	// A few subscriptions left for Hub.Close to end, concurrently with publishers.
	var left []*events.Subscription
	for range 5 {
		s := h.Subscribe(events.WithBuffer(2), events.WithKinds(events.AllKinds()...))
		left = append(left, s)
		subs.Add(1)
		go func() {
			defer subs.Done()
			for range s.C() {
			}
		}()
	}
	var closers sync.WaitGroup
	for range 3 {
		closers.Add(1)
		go func() { defer closers.Done(); h.Close() }()
	}
	closers.Wait()
	for _, s := range left {
		s.Close()
	}
	subs.Wait() // every receiver's range ended: every C was closed
	stop.Store(true)
	pubs.Wait()
	if h.Subscribers() != 0 {
		t.Fatalf("Subscribers() = %d after Close", h.Subscribers())
	}
}

// Subscribe and Close racing with Hub.Close: every subscription made ends up
// closed, whichever side wins.
func TestSubscribeConcurrentWithHubClose(t *testing.T) {
	for range 50 {
		h := events.NewHub()
		var wg sync.WaitGroup
		got := make(chan *events.Subscription, 64)
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range 8 {
					s := h.Subscribe()
					if (i+j)%3 == 0 {
						s.Close()
					}
					got <- s
					h.Publish(events.Event{Breaker: "x", Kind: events.StateChanged})
				}
			}()
		}
		h.Close()
		wg.Wait()
		close(got)
		h.Close()
		for s := range got {
			if !isClosed(s) {
				// Subscribed before h.Close? then Close closed it. After? then
				// it was born closed. Either way it must be closed now.
				t.Fatal("subscription left open after Hub.Close")
			}
		}
	}
}
