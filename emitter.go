package breaker

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlabs/breaker/engine"
	"github.com/breakerlabs/breaker/events"
)

// emitter assigns each event of one breaker its Seq and publishes it to the
// breaker's own hub and to any sink hubs (a supervisor's), under one mutex
// so that every subscriber sees the breaker's events in Seq order. Sends
// never block (events.Hub drops for full subscribers), so the mutex is held
// only for the fan-out itself.
type emitter struct {
	name string
	clk  clock.Clock
	hub  *events.Hub                   // the breaker's own subscribers
	hubs atomic.Pointer[[]*events.Hub] // hub, then the sinks; replaced (under mu), never changed
	mu   sync.Mutex                    // serialises Seq assignment, publication and adding a sink
	seq  uint64
	done bool // set by stop: nothing is published afterwards
}

// stop makes every later emit a no-op: once the breaker's Close has
// returned, nothing more is published for it (a report or fallback that
// arrives later only counts). Safe for concurrent use.
func (e *emitter) stop() {
	e.mu.Lock()
	e.done = true
	e.mu.Unlock()
}

func (e *emitter) init(name string, clk clock.Clock, sinks []*events.Hub) {
	e.name, e.clk, e.hub = name, clk, events.NewHub()
	hubs := append([]*events.Hub{e.hub}, sinks...)
	e.hubs.Store(&hubs)
}

// addSink makes every later event also go to h (a supervisor's hub), unless
// the breaker already has a sink: it reports whether it added h. Safe for
// concurrent use with emitting: an event is published to the sinks it had
// when its Seq was assigned, so h sees a breaker's events from some Seq on,
// in order, with no gap.
func (e *emitter) addSink(h *events.Hub) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	cur := *e.hubs.Load()
	if len(cur) > 1 {
		return false
	}
	hubs := append(cur[:len(cur):len(cur)], h)
	e.hubs.Store(&hubs)
	return true
}

// wants reports whether any subscriber wants events of kind k: one atomic
// load per hub.
func (e *emitter) wants(k events.Kind) bool {
	for _, h := range *e.hubs.Load() {
		if h.Wants(k) {
			return true
		}
	}
	return false
}

// emit stamps ev with the breaker's name, the next Seq and (if unset) the
// time, and publishes it, unless the breaker is stopped. Safe for
// concurrent use.
func (e *emitter) emit(ev events.Event) {
	ev.Breaker = e.name
	if ev.Time.IsZero() {
		ev.Time = e.clk.Now()
	}
	e.mu.Lock()
	if e.done {
		e.mu.Unlock()
		return
	}
	e.seq++
	ev.Seq = e.seq
	for _, h := range *e.hubs.Load() {
		h.Publish(ev)
	}
	e.mu.Unlock()
}

// emitCall publishes a per-call event if anyone wants its kind. The check
// is inlined: with nobody subscribed to per-call kinds it costs one atomic
// load per hub.
func (e *emitter) emitCall(k events.Kind, d time.Duration) {
	if e.wants(k) {
		e.emitCallEvent(k, d)
	}
}

func (e *emitter) emitCallEvent(k events.Kind, d time.Duration) {
	e.emit(events.Event{Kind: k, Duration: d})
}

// emitTransition publishes a StateChanged event for tr; a transition to
// Open carries its open deadline in Until.
func (e *emitter) emitTransition(tr engine.Transition) {
	ev := events.Event{Kind: events.StateChanged, Time: tr.At, From: tr.From, To: tr.To,
		Reason: tr.Reason, Rate: tr.Rate, Count: tr.Count, Origin: tr.Origin, Attempt: tr.Attempt}
	if tr.To == engine.Open {
		ev.Until = tr.Deadline
	}
	e.emit(ev)
}

// subscribe adds a subscriber to the breaker's own hub.
func (e *emitter) subscribe(opts []events.Option) *events.Subscription {
	return e.hub.Subscribe(opts...)
}
