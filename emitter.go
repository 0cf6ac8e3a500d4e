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
// breaker's own hub and to its sink hub (a supervisor's), if it has them,
// under one mutex so that every subscriber sees the breaker's events in
// Seq order. Sends never block (events.Hub drops for full subscribers),
// so the mutex is held only for the fan-out itself.
//
// The breaker's own hub is made by its first Subscribe: most breakers (a
// supervisor's, watched through its hub) never have one, and no hub, no
// list of hubs is allocated for them.
type emitter struct {
	name string
	clk  clock.Clock
	hub  atomic.Pointer[events.Hub] // the breaker's own subscribers; nil until the first Subscribe; set under mu
	sink atomic.Pointer[events.Hub] // a supervisor's hub; nil if none; set once, under mu
	mu   sync.Mutex                 // serialises Seq assignment, publication and setting hub or sink
	seq  uint64
	done bool // set by stop: nothing is published afterwards
}

// stop makes every later emit a no-op (once the breaker's Close has
// returned, nothing more is published for it: a report or fallback that
// arrives later only counts) and closes the breaker's own subscriptions; a
// later Subscribe gets a closed one. Safe for concurrent use.
func (e *emitter) stop() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.done = true
	if h := e.hub.Load(); h != nil {
		h.Close()
	}
}

// init names the emitter and gives it sink (a supervisor's hub), or none
// if sink is nil.
func (e *emitter) init(name string, clk clock.Clock, sink *events.Hub) {
	e.name, e.clk = name, clk
	if sink != nil {
		e.sink.Store(sink)
	}
}

// addSink makes every later event also go to h (a supervisor's hub), unless
// the breaker already has a sink: it reports whether it added h. Safe for
// concurrent use with emitting: an event is published to the sink it had
// when its Seq was assigned, so h sees a breaker's events from some Seq on,
// in order, with no gap.
func (e *emitter) addSink(h *events.Hub) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.sink.Load() != nil {
		return false
	}
	e.sink.Store(h)
	return true
}

// wants reports whether any subscriber wants events of kind k: one atomic
// load per hub the breaker has.
func (e *emitter) wants(k events.Kind) bool {
	if h := e.hub.Load(); h != nil && h.Wants(k) {
		return true
	}
	h := e.sink.Load()
	return h != nil && h.Wants(k)
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
	if h := e.hub.Load(); h != nil {
		h.Publish(ev)
	}
	if h := e.sink.Load(); h != nil {
		h.Publish(ev)
	}
	e.mu.Unlock()
}

// emitCall publishes a per-call event if anyone wants its kind. The check
// is inlined: with nobody subscribed to per-call kinds it costs one atomic
// load per hub the breaker has.
func (e *emitter) emitCall(k events.Kind, d time.Duration) {
	if e.wants(k) {
		e.emitCallEvent(k, d)
	}
}

func (e *emitter) emitCallEvent(k events.Kind, d time.Duration) {
	e.emit(events.Event{Kind: k, Duration: d})
}

// unheard takes the Seq of an event that no hub would receive (the breaker
// has neither subscribers of its own nor a sink), without building or
// publishing the event, unless the breaker is stopped: the Seq later events
// carry is what it would have been. Safe for concurrent use.
func (e *emitter) unheard() {
	e.mu.Lock()
	if !e.done {
		e.seq++
	}
	e.mu.Unlock()
}

// emitTransition publishes a StateChanged event for tr; a transition to
// Open carries its open deadline in Until. With no hub to publish to, it
// only takes the event's Seq (unheard).
func (e *emitter) emitTransition(tr engine.Transition) {
	if e.hub.Load() == nil && e.sink.Load() == nil {
		e.unheard()
		return
	}
	ev := events.Event{Kind: events.StateChanged, Time: tr.At, From: tr.From, To: tr.To,
		Reason: tr.Reason, Rate: tr.Rate, Count: tr.Count, Origin: tr.Origin, Attempt: tr.Attempt}
	if tr.To == engine.Open {
		ev.Until = tr.Deadline
	}
	e.emit(ev)
}

// subscribe adds a subscriber to the breaker's own hub, making the hub the
// first time (closed at once if the breaker is stopped, so that the
// subscription is too). Safe for concurrent use.
func (e *emitter) subscribe(opts []events.Option) *events.Subscription {
	h := e.hub.Load()
	if h == nil {
		e.mu.Lock()
		if h = e.hub.Load(); h == nil {
			h = events.NewHub()
			if e.done {
				h.Close()
			}
			e.hub.Store(h)
		}
		e.mu.Unlock()
	}
	return h.Subscribe(opts...)
}
