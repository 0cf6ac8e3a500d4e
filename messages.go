package breaker

import (
	"github.com/breakerlabs/breaker/engine"
)

// message is one request to the actor. Every message goes through the
// breaker's one FIFO mailbox (or runs at once when the mailbox is idle),
// so one goroutine's requests (a probe outcome, then its next Reset) are
// handled in its program order. A message is a plain value: queueing one
// allocates nothing beyond the queue's backing array, and a sender that
// waits for it gets a done channel only when it actually has to wait.
type message struct {
	kind  msgKind
	cmd   command          // msgCommand
	t     engine.Ticket    // msgReport
	o     engine.Outcome   // msgReport
	d     int64            // msgReport: call duration in ns; 0 when durations are not tracked
	w     *liveWindow      // msgTrip: the window whose trip is latched
	out   *Metrics         // msgMetrics: where the snapshot goes
	r     engine.Remote    // msgAdopt: the state decided elsewhere
	rc    *reconfigRequest // msgReconfigure
	epoch uint64           // msgTick: the epoch the deadline was armed in (the actor decides by time)
	done  chan struct{}    // closed once handled (or abandoned); nil when nobody waits
}

// msgKind is what a message asks for.
type msgKind uint8

const (
	msgReport      msgKind = iota // a half-open probe's outcome
	msgCommand                    // Reset, ForceOpen or Disable
	msgMetrics                    // a snapshot into out
	msgSync                       // nothing: handled once everything before it is (tests)
	msgTick                       // a state deadline may have passed
	msgTrip                       // a trip was latched in w
	msgAdopt                      // apply a state decided elsewhere (engine.Machine.Adopt)
	msgFold                       // w's packed counts near overflow: fold a share into the lifetime base
	msgReconfigure                // make rc.cfg the configuration
	msgClose                      // stop: the last message the actor handles
)

// reconfigRequest is a msgReconfigure's payload: the configuration (already
// validated), and whether the actor applied it (false if the message was
// abandoned). Written by the actor before the message's done is closed.
type reconfigRequest struct {
	cfg     Config
	applied bool
}
