package breaker

import (
	"sync"
	"sync/atomic"
)

// mailbox is how messages reach an actor breaker's state owner, and how a
// goroutine becomes that owner. There is no goroutine per breaker: the
// sender that finds the mailbox idle owns the actor and handles its own
// message at once, then whatever others queued meanwhile (caller runs);
// a sender that finds it owned queues its message for the owner. So an
// idle breaker has no goroutine (it is passivated), a message to an idle
// breaker costs no goroutine wake, and at most one goroutine owns the
// state at any time (owned is set and cleared under mu; the owner gives
// ownership up only with an empty queue, so messages are handled in the
// order they were queued).
//
// An owner handles at most inlineBudget messages on its caller's
// goroutine; if more keep coming it hands ownership to a new goroutine
// (counted in handoffs), so no caller is held by other callers' traffic.
type mailbox struct {
	mu       sync.Mutex
	queue    []message // FIFO; guarded by mu
	owned    bool      // a goroutine owns the actor; guarded by mu
	closed   bool      // Close's message was handled: no more messages; guarded by mu
	busy     atomic.Bool
	handoffs sync.WaitGroup // goroutines that took ownership over from a caller
}

// inlineBudget is how many messages an owner handles on its caller's
// goroutine before handing ownership to a goroutine of its own.
const inlineBudget = 16

// enter makes the caller the owner if nobody is and the mailbox is open;
// otherwise it queues m (returning own false). ok is false after Close:
// m was neither run nor queued.
func (mb *mailbox) enter(m *message, wait bool) (own, ok bool) {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	switch {
	case mb.closed:
		return false, false
	case !mb.owned:
		mb.owned = true
		mb.busy.Store(true)
		return true, true
	}
	if wait {
		m.done = make(chan struct{})
	}
	mb.queue = append(mb.queue, *m)
	return false, true
}

// next returns the owner's next message, or gives ownership up and
// returns false if there is none.
func (mb *mailbox) next() (message, bool) {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	if len(mb.queue) == 0 {
		mb.owned = false
		mb.busy.Store(false)
		mb.queue = mb.queue[:0:0] // an idle breaker keeps no backing array
		return message{}, false
	}
	m := mb.queue[0]
	mb.queue[0] = message{}
	mb.queue = mb.queue[1:]
	return m, true
}

// handoff reports whether ownership may move to a new goroutine (not after
// Close, whose waiting on handoffs must not race a new one), and counts it.
func (mb *mailbox) handoff() bool {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	if mb.closed {
		return false
	}
	mb.handoffs.Add(1)
	return true
}

// close refuses every later message. The owner only.
func (mb *mailbox) close() {
	mb.mu.Lock()
	mb.closed = true
	mb.mu.Unlock()
}

// idle reports whether no goroutine owns the actor and nothing is queued.
// Lock-free.
func (mb *mailbox) idle() bool { return !mb.busy.Load() }
