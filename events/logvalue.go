package events

import (
	"log/slog"
)

// LogValue makes an Event a slog.LogValuer: logging it as one attribute,
//
//	logger.Info("breaker", "event", e)
//
// gives a group of the fields that apply to it, and only those, in this
// order:
//
//	breaker   the breaker's name (left out when empty: a store load or watch failure)
//	seq       the event's Seq (left out when 0: an event not yet published)
//	kind      Kind.String(), e.g. "state-changed"
//	from, to  StateChanged: the transition; ActorRestarted: to, the state restarted in
//	reason    StateChanged: Reason.String(), e.g. "failure-rate"
//	rate      the rate that decided (left out when 0, except for a failure- or slow-call-rate trip)
//	count     the consecutive failures or successes that decided (left out when 0)
//	until     the open deadline (left out when zero)
//	attempt   failed recoveries since Closed (left out when 0)
//	origin    ReasonRemote: the instance that decided (left out when empty)
//	err       StoreFailed: what the store said (left out when nil)
//	duration  call events: the call's duration (left out when not measured)
//
// States, reasons and kinds are their String forms, so the values read the
// same as in Event.String, the Prometheus labels and the OpenTelemetry
// attributes of breakerotel. The event's Time is left out: a log record has
// its own. A manual Reset, say, logs breaker, seq, kind, from, to and reason
// and nothing else. LogValue only reads its copy of the event and is safe
// for concurrent use.
func (e Event) LogValue() slog.Value {
	attrs := make([]slog.Attr, 0, 8)
	if e.Breaker != "" {
		attrs = append(attrs, slog.String("breaker", e.Breaker))
	}
	if e.Seq != 0 {
		attrs = append(attrs, slog.Uint64("seq", e.Seq))
	}
	attrs = append(attrs, slog.String("kind", e.Kind.String()))
	switch e.Kind {
	case StateChanged:
		attrs = append(attrs, slog.String("from", e.From.String()), slog.String("to", e.To.String()),
			slog.String("reason", e.Reason.String()))
	case ActorRestarted:
		attrs = append(attrs, slog.String("to", e.To.String()))
	}
	if e.Rate != 0 || (e.Kind == StateChanged && (e.Reason == ReasonFailureRate || e.Reason == ReasonSlowCallRate)) {
		attrs = append(attrs, slog.Float64("rate", e.Rate))
	}
	if e.Count != 0 {
		attrs = append(attrs, slog.Int("count", e.Count))
	}
	if !e.Until.IsZero() {
		attrs = append(attrs, slog.Time("until", e.Until))
	}
	if e.Attempt != 0 {
		attrs = append(attrs, slog.Int("attempt", e.Attempt))
	}
	if e.Origin != "" {
		attrs = append(attrs, slog.String("origin", e.Origin))
	}
	if e.Err != nil {
		attrs = append(attrs, slog.Any("err", e.Err))
	}
	if e.Duration != 0 {
		attrs = append(attrs, slog.Duration("duration", e.Duration))
	}
	return slog.GroupValue(attrs...)
}
