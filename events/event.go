package events

import (
	"strconv"
	"strings"
	"time"
)

// Event is one thing that happened to a breaker. It is a plain value: the
// hub copies it into every subscriber's channel, so receivers may keep and
// share it freely without synchronisation.
type Event struct {
	Breaker  string        // name of the breaker the event is about
	Seq      uint64        // per breaker, strictly increasing, no gaps at the source
	Time     time.Time     // when it happened, read from the breaker's clock
	Kind     Kind          // what happened
	From, To State         // StateChanged: the transition; ActorRestarted: To is the state restarted in
	Reason   Reason        // StateChanged: why
	Rate     float64       // the failure or slow-call rate that tripped, when it applies
	Count    int           // the consecutive failures or successes, when it applies
	Duration time.Duration // call events: the call's duration, when measured
	Until    time.Time     // StateChanged to Open: the open deadline
	Attempt  int           // StateChanged: failed recoveries since the breaker was last Closed
	Origin   string        // StateChanged with ReasonRemote: the instance that decided
	Err      error         // StoreFailed: what the store said
}

// String formats e on one line for logs, for example
//
//	payments #3 state-changed closed → open (failure-rate 0.62)
//	payments #4 state-changed open → half-open (open-timeout)
//	payments #9 call-failed 12ms
//	payments #12 actor-restarted (open)
//
// The time is left out; log lines carry their own. String is safe for
// concurrent use (it only reads its copy of the event).
func (e Event) String() string {
	var b strings.Builder
	b.Grow(64)
	b.WriteString(e.Breaker)
	b.WriteString(" #")
	b.WriteString(strconv.FormatUint(e.Seq, 10))
	b.WriteByte(' ')
	b.WriteString(e.Kind.String())
	switch e.Kind {
	case StateChanged:
		b.WriteByte(' ')
		b.WriteString(e.From.String())
		b.WriteString(" → ")
		b.WriteString(e.To.String())
		b.WriteString(" (")
		b.WriteString(e.Reason.String())
		switch {
		case e.Rate != 0:
			b.WriteByte(' ')
			b.WriteString(strconv.FormatFloat(e.Rate, 'g', 3, 64))
		case e.Count != 0:
			b.WriteByte(' ')
			b.WriteString(strconv.Itoa(e.Count))
		}
		b.WriteByte(')')
	case ActorRestarted:
		b.WriteString(" (")
		b.WriteString(e.To.String())
		b.WriteByte(')')
	default:
		if e.Duration != 0 {
			b.WriteByte(' ')
			b.WriteString(e.Duration.String())
		}
	}
	return b.String()
}
