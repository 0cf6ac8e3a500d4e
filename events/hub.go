package events

import (
	"slices"
	"sync"
	"sync/atomic"
)

// Hub fans events out to subscriptions. A breaker or a supervisor owns one;
// it publishes, users subscribe. Publish and Wants take no hub-wide lock:
// the subscriber list is copy-on-write behind an atomic pointer, and the
// union of the kinds the live subscriptions want is kept in one atomic word.
// All methods are safe for concurrent use. The zero value is an empty, open
// hub ready to use; NewHub returns one too.
type Hub struct {
	subs atomic.Pointer[[]*Subscription] // immutable slice; replaced, never modified
	mask atomic.Uint32                   // kindSet: union of the live subscriptions' kinds

	mu     sync.Mutex // serialises Subscribe, remove and Close (writers of subs and mask)
	closed bool       // guarded by mu
}

// NewHub returns an empty, open hub.
func NewHub() *Hub { return new(Hub) }

// Subscribe registers a new subscription configured by opts (defaults:
// a buffer of 64, kinds StateChanged and ActorRestarted, every breaker).
// Events published after Subscribe returns are delivered to it; events
// published concurrently with Subscribe may or may not be. After Close,
// Subscribe returns a subscription whose C is already closed. Safe for
// concurrent use.
func (h *Hub) Subscribe(opts ...Option) *Subscription {
	cfg := buildConfig(opts)
	s := &Subscription{
		hub:      h,
		ch:       make(chan Event, cfg.buffer),
		kinds:    cfg.kinds,
		breakers: cfg.breakers,
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		s.shut()
		return s
	}
	var next []*Subscription
	if old := h.subs.Load(); old != nil {
		next = make([]*Subscription, len(*old), len(*old)+1)
		copy(next, *old)
	}
	next = append(next, s)
	// Publish the list before the mask, so whoever sees the new bit in Wants
	// also finds the subscription in Publish.
	h.subs.Store(&next)
	h.mask.Store(uint32(kindSet(h.mask.Load()) | s.kinds))
	h.mu.Unlock()
	return s
}

// remove unregisters s and recomputes the mask. Called by s.Close after s is
// already shut, so a Publish still holding the old list skips s.
func (h *Hub) remove(s *Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	old := h.subs.Load()
	if old == nil {
		return
	}
	i := slices.Index(*old, s)
	if i < 0 {
		return // already removed by Close
	}
	next := make([]*Subscription, 0, len(*old)-1)
	next = append(next, (*old)[:i]...)
	next = append(next, (*old)[i+1:]...)
	var mask kindSet
	for _, t := range next {
		mask |= t.kinds
	}
	h.mask.Store(uint32(mask))
	if len(next) == 0 {
		h.subs.Store(nil)
	} else {
		h.subs.Store(&next)
	}
}

// Wants reports whether any live subscription wants events of kind k,
// whatever their breaker. It is one atomic load, so a publisher can guard
// the cost of building a per-call event with it: when nobody subscribed, or
// after Close, it is false. It is a snapshot: a subscription made or closed
// concurrently may not be reflected yet. Safe for concurrent use.
func (h *Hub) Wants(k Kind) bool {
	return kindSet(h.mask.Load())&k.bit() != 0
}

// Publish delivers e to every live subscription that wants e.Kind and
// e.Breaker. It never blocks and never waits for a subscriber: each send is
// non-blocking, and a full buffer drops e for that subscriber only and
// counts it in its Dropped. With no subscribers it does not allocate.
//
// Publish is safe for concurrent use, also with Subscribe, Subscription.Close
// and Close; a subscription closed before Publish starts receives nothing,
// and nothing is sent to a subscription after its Close has returned.
// Publish does not assign Seq: the caller does, and serialises its Publish
// calls per breaker. Calls made by one goroutine (or by callers that
// serialise their calls) reach each subscriber in the order they were made,
// so each subscriber sees a breaker's events in Seq order, with gaps only
// where it dropped events.
func (h *Hub) Publish(e Event) {
	p := h.subs.Load()
	if p == nil {
		return
	}
	for _, s := range *p {
		if s.wants(&e) {
			s.deliver(&e)
		}
	}
}

// Close closes every subscription (their C channels are closed) and makes
// later Subscribe calls return closed subscriptions. After Close, Wants is
// false for every kind and Publish does nothing. Close is idempotent and
// safe for concurrent use, also with Publish: when any Close call returns,
// every subscription's C is closed and receives nothing more.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	old := h.subs.Load()
	h.subs.Store(nil)
	h.mask.Store(0)
	if old == nil {
		return
	}
	// Shut under h.mu so that every Close call, the first and any concurrent
	// one, returns only once all channels are closed. Lock order is h.mu then
	// s.mu; Subscription.Close releases s.mu before taking h.mu.
	for _, s := range *old {
		s.shut()
	}
}
