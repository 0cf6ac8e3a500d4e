package breaker

import (
	"time"

	"github.com/breakerlabs/breaker/engine"
)

// message is the closed set of requests the actor handles. Every message
// goes through the breaker's one FIFO inbox, so one goroutine's requests
// (a probe outcome, then its next Acquire) are handled in its program
// order. Requests with a reply carry a channel of capacity 1: the actor
// never blocks on a reply.
type message interface{ isMessage() }

// acquireMsg asks for a permit; sent by Acquire when the view says
// HalfOpen. The actor decides in whatever state it is in by then.
type acquireMsg struct{ reply chan acquireReply }

type acquireReply struct {
	p     Permit
	err   error
	state State // the state the actor decided in (for a CallObserver)
}

// reportMsg carries the outcome of a half-open probe. It has no reply:
// reporting never waits for the actor.
type reportMsg struct {
	t engine.Ticket
	o engine.Outcome
	d int64 // call duration in ns; 0 when durations are not tracked
}

// command is a manual transition.
type command uint8

const (
	cmdReset command = iota
	cmdForceOpen
	cmdDisable
)

// apply performs the command on m.
func (c command) apply(m *engine.Machine, now time.Time) engine.Transition {
	switch c {
	case cmdForceOpen:
		return m.ForceOpen(now)
	case cmdDisable:
		return m.Disable(now)
	}
	return m.Reset(now)
}

// commandMsg asks for a manual transition and is acknowledged once the new
// state is published, so Reset, ForceOpen and Disable are synchronous.
type commandMsg struct {
	cmd   command
	reply chan struct{}
}

// metricsMsg asks for a snapshot.
type metricsMsg struct{ reply chan Metrics }

// syncMsg is acknowledged once everything sent before it, and any trip
// nudge or due timeout pending when it is handled, has been applied. Tests
// use it to make comparisons deterministic.
type syncMsg struct{ reply chan struct{} }

// adoptMsg applies a state decided elsewhere (engine.Machine.Adopt): a
// record restored from a store or adopted from another instance. reply,
// if not nil, is signalled once the result is published.
type adoptMsg struct {
	r     engine.Remote
	reply chan struct{}
}

func (m adoptMsg) done() {
	if m.reply != nil {
		m.reply <- struct{}{}
	}
}

func (acquireMsg) isMessage() {}
func (adoptMsg) isMessage()   {}
func (reportMsg) isMessage()  {}
func (commandMsg) isMessage() {}
func (metricsMsg) isMessage() {}
func (syncMsg) isMessage()    {}

func (m acquireMsg) replyTo() chan acquireReply { return m.reply }
func (m commandMsg) replyTo() chan struct{}     { return m.reply }
func (m metricsMsg) replyTo() chan Metrics      { return m.reply }
func (m syncMsg) replyTo() chan struct{}        { return m.reply }
