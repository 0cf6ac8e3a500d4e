package breakerlog

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/breakerlabs/breaker"
	"github.com/breakerlabs/breaker/events"
)

// Attach starts logging the events of s to l (slog.Default() if l is nil)
// and returns stop, which ends it: stop closes the subscription, logs the
// events it had already received (at most WithBuffer of them) and returns.
// Every transition that happened before stop was called is logged or
// counted as dropped; nothing is logged after stop returns, and no
// goroutine of Attach remains. stop is idempotent and safe to call from any
// goroutine. Closing s ends the logging too, the same way; stop is still
// safe to call then.
//
// Attach with a nil s does nothing and returns a stop that does nothing.
// Each Attach is independent: two of them log every line twice.
func Attach(s *breaker.Supervisor, l *slog.Logger, opts ...Option) (stop func()) {
	if s == nil {
		return func() {}
	}
	if l == nil {
		l = slog.Default()
	}
	o := defaults()
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	sub := s.Subscribe(events.WithKinds(events.StateChanged, events.ActorRestarted, events.StoreFailed),
		events.WithBuffer(o.buffer))
	return start(sub, l.Handler(), o)
}

// start logs the events of sub to h until stop is called or sub ends.
func start(sub *events.Subscription, h slog.Handler, o options) (stop func()) {
	w := &writer{h: h, o: o, sub: sub, done: make(chan struct{})}
	go w.run()
	var once sync.Once
	return func() {
		once.Do(func() {
			sub.Close() // ends delivery; what is buffered is still logged
			<-w.done
		})
	}
}

// dropCheckEvery bounds how many events a writer that never catches up
// logs between two checks for drops.
const dropCheckEvery = 1024

// writer is the goroutine that turns events into records.
type writer struct {
	h       slog.Handler
	o       options
	sub     *events.Subscription
	done    chan struct{} // closed when run returns
	dropped uint64        // drops already reported
	since   int           // events logged since the last check for drops
}

func (w *writer) run() {
	defer close(w.done)
	for e := range w.sub.C() {
		w.log(e)
		// One Warn for a whole burst of drops: check once caught up, or
		// every dropCheckEvery events if it never catches up.
		if w.since++; len(w.sub.C()) == 0 || w.since >= dropCheckEvery {
			w.since = 0
			w.reportDrops()
		}
	}
	w.reportDrops()
}

// log writes the line of one event.
func (w *writer) log(e events.Event) {
	level, msg := w.line(e)
	ctx := context.Background()
	if !w.h.Enabled(ctx, level) {
		return
	}
	r := slog.NewRecord(e.Time, level, msg, 0)
	r.AddAttrs(slog.Any("", e)) // an empty key inlines the event's group
	_ = w.h.Handle(ctx, r)      // a handler's error has nowhere better to go
}

// reportDrops writes one Warn if events were dropped since the last one.
func (w *writer) reportDrops() {
	n := w.sub.Dropped()
	if n == w.dropped {
		return
	}
	lost := n - w.dropped
	w.dropped = n
	ctx := context.Background()
	if !w.h.Enabled(ctx, slog.LevelWarn) {
		return
	}
	r := slog.NewRecord(time.Now(), slog.LevelWarn, "circuit breaker events dropped: the log fell behind", 0)
	r.AddAttrs(slog.Uint64("dropped", lost), slog.Uint64("dropped_total", n))
	_ = w.h.Handle(ctx, r)
}

// line returns the level and message of an event's line.
func (w *writer) line(e events.Event) (slog.Level, string) {
	switch e.Kind {
	case events.ActorRestarted:
		return slog.LevelError, "circuit breaker actor restarted"
	case events.StoreFailed:
		return slog.LevelError, "circuit breaker state store failed"
	}
	level := slog.LevelWarn
	if int(e.To) < len(w.o.levels) {
		level = w.o.levels[e.To]
	}
	msg := "circuit breaker changed state"
	switch e.To {
	case breaker.Closed:
		msg = "circuit breaker closed"
	case breaker.Open:
		msg = "circuit breaker opened"
	case breaker.HalfOpen:
		msg = "circuit breaker half-open"
	case breaker.ForcedOpen:
		msg = "circuit breaker forced open"
	case breaker.Disabled:
		msg = "circuit breaker disabled"
	}
	return level, msg
}
