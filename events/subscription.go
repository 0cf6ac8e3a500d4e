package events

import (
	"sync"
	"sync/atomic"
)

// Subscription is one subscriber's view of a Hub: a buffered channel of the
// events it asked for, and a count of those it missed. Subscriptions are made
// by Hub.Subscribe (or a breaker's or supervisor's Subscribe); the zero value
// is not usable. All methods are safe for concurrent use, including with the
// hub's Publish and Close.
type Subscription struct {
	hub      *Hub
	ch       chan Event
	kinds    kindSet
	breakers map[string]struct{} // nil: every breaker; read-only after Subscribe
	dropped  atomic.Uint64

	mu     sync.Mutex // serialises deliver against Close
	closed bool       // guarded by mu
}

// C returns the channel events are delivered on. It is closed by Close (of
// this subscription or of its hub), so ranging over it ends then. Events
// already buffered when it is closed can still be received. Safe to call
// from any goroutine; it always returns the same channel.
func (s *Subscription) C() <-chan Event { return s.ch }

// Dropped returns how many events meant for this subscription were dropped
// because its buffer was full. The gap also shows in Event.Seq. Safe for
// concurrent use; the count only grows.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Close stops delivery, closes C and unregisters the subscription from its
// hub. When Close returns, no further event will be sent to C. Close is
// idempotent and safe to call concurrently with deliveries, with other Close
// calls, with the hub's Close, and from the goroutine that receives from C
// while events are still flowing (a delivery holds the subscription only for
// a non-blocking send, so Close never waits on the receiver).
func (s *Subscription) Close() {
	if !s.shut() {
		return
	}
	if s.hub != nil {
		s.hub.remove(s)
	}
}

// shut marks s closed and closes its channel; it reports whether this call
// did it.
func (s *Subscription) shut() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.closed = true
	if s.ch != nil {
		close(s.ch)
	}
	return true
}

// wants reports whether the subscription's filters accept e.
func (s *Subscription) wants(e *Event) bool {
	if s.kinds&e.Kind.bit() == 0 {
		return false
	}
	if s.breakers != nil {
		if _, ok := s.breakers[e.Breaker]; !ok {
			return false
		}
	}
	return true
}

// deliver sends e without blocking, or counts it as dropped when the buffer
// is full. It does nothing once s is closed.
func (s *Subscription) deliver(e *Event) {
	s.mu.Lock()
	if !s.closed {
		select {
		case s.ch <- *e:
		default:
			s.dropped.Add(1)
		}
	}
	s.mu.Unlock()
}
