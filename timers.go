package breaker

import (
	"reflect"
	"sync"
	"time"

	"github.com/benbjohnson/clock"
)

// timerService is the one timer service of all the breakers that share a
// clock: a heap of their state deadlines (Open's end, HalfOpen's MaxWait)
// and one clock timer, through the clock, armed for the earliest of them.
// When it fires, every breaker whose deadline has come is sent a tick (and
// the goroutine the clock runs the callback on runs each idle actor
// itself); then the clock timer is re-armed for the next deadline. So a
// million Open breakers cost one runtime timer, not a million, and no
// goroutine while nothing is due.
//
// An actor arms its node before it publishes the state the deadline
// belongs to, under the service's lock, which (re)arms the clock timer
// right then if the deadline is the earliest: a test that sees the state
// and then advances a mock clock always fires it. A tick carries the
// epoch its deadline was armed in, for the record; the actor decides by
// time (engine.Machine.TickDue), so a tick that comes late, twice, or
// after a newer transition changes nothing.
//
// The heap relies on the clock running a timer's callback by the time it
// is due, so that the callback can re-arm for the next deadline. A mock
// clock does not: clock.Mock.Add runs callbacks on goroutines of their own
// and does not wait for a timer they arm, so a deadline re-armed from a
// callback during an Add that has already passed it would wait for the
// next Add. With any clock but the real one the service therefore arms one
// clock timer per deadline, before the state is published, as a test that
// advances a mock clock needs; only the real clock (where a million
// breakers live) gets the heap.
type timerService struct {
	clk   clock.Clock
	exact bool // one clock timer per deadline (any clock but the real one)
	mu    sync.Mutex
	base  time.Time    // the origin of the nodes' keys (see timerHeap)
	nodes timerHeap    // guarded by mu
	timer *clock.Timer // the latest clock timer made (see rearm); guarded by mu
	at    time.Time    // when timer fires; zero if it is not armed; guarded by mu
	spare []dueTick    // fire's buffer, kept between firings; guarded by mu
}

// dueTick is a tick fire sends once it has let go of the lock.
type dueTick struct {
	b     *Breaker
	epoch uint64
}

// spareTicks is the largest buffer fire keeps for the next firing.
const spareTicks = 1024

// timerNode is one breaker's deadline in the service's heap.
type timerNode struct {
	b     *Breaker
	when  time.Time
	key   int64 // when, as nanoseconds since the service's base (see timerHeap)
	epoch uint64
	index int          // in the heap; -1 when not in it
	own   *clock.Timer // exact mode: this node's own clock timer
}

// timerServices holds the service of each clock, made on first use. An
// entry stays for the life of the process (a service with nothing armed
// holds no timer and no goroutine).
var timerServices sync.Map // clock.Clock → *timerService

// timersFor returns the service of clk.
func timersFor(clk clock.Clock) *timerService {
	if s, ok := timerServices.Load(clk); ok {
		return s.(*timerService)
	}
	s, _ := timerServices.LoadOrStore(clk, newTimerService(clk, reflect.TypeOf(clk) != realClockType))
	return s.(*timerService)
}

// realClockType is the type of clock.New()'s clock.
var realClockType = reflect.TypeOf(clock.New())

func newTimerService(clk clock.Clock, exact bool) *timerService {
	return &timerService{clk: clk, exact: exact, base: clk.Now()}
}

// arm sets n's deadline to when (in epoch), replacing any earlier one.
// The state owner only.
func (s *timerService) arm(n *timerNode, when time.Time, epoch uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n.when, n.key, n.epoch = when, int64(when.Sub(s.base)), epoch
	if s.exact {
		if n.own != nil {
			n.own.Stop()
		}
		b := n.b
		n.own = s.clk.AfterFunc(max(when.Sub(s.clk.Now()), 0), func() {
			b.send(message{kind: msgTick, epoch: epoch}, false)
		})
		return
	}
	if n.index >= 0 {
		s.nodes.fix(n.index)
	} else {
		s.nodes.push(n)
	}
	s.rearm(false)
}

// stop removes n's deadline, if it has one. The state owner only. The
// clock timer is left armed if n was the earliest: it fires early, finds
// nothing due, and re-arms.
func (s *timerService) stop(n *timerNode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n.own != nil {
		n.own.Stop()
		n.own = nil
	}
	if n.index >= 0 {
		s.nodes.remove(n.index)
	}
	if len(s.nodes) == 0 && !s.at.IsZero() {
		s.timer.Stop()
		s.at = time.Time{}
	}
}

// rearm makes the clock timer fire at the earliest deadline, unless it is
// already armed for it or earlier. s.mu is held.
//
// fire, the timer's own callback, re-arms the timer that ran it with
// Reset, which allocates nothing; an arm or a stop, on whatever goroutine
// the actor runs, makes a new clock timer when the earliest deadline
// moves, as that goroutine's own (a testing/synctest bubble owns the
// timers its goroutines make, and a timer made outside a bubble would
// never fire on the bubble's fake time).
//
// fire clears at on entry. A timer made or moved by arm between the
// clock timer firing and fire taking the lock is then Reset by fire for
// the earliest deadline, which is what arm wanted too; it fires at most
// once more than needed, and fire finds nothing due then. What matters
// holds throughout: while the heap is not empty, the clock timer will
// fire at or before its earliest deadline.
func (s *timerService) rearm(byFire bool) {
	if len(s.nodes) == 0 {
		return
	}
	when := s.nodes[0].when
	if !s.at.IsZero() && !s.at.After(when) {
		return
	}
	d := max(when.Sub(s.clk.Now()), 0)
	if byFire && s.timer != nil {
		s.timer.Reset(d)
	} else {
		if s.timer != nil && !s.at.IsZero() {
			s.timer.Stop()
		}
		s.timer = s.clk.AfterFunc(d, s.fire)
	}
	s.at = when
}

// fire sends a tick to every breaker whose deadline has come, and re-arms
// the clock timer for the next one. The ticks are sent after the lock is
// released (an idle actor runs on this goroutine and arms its next
// deadline), from a buffer kept for the next firing.
func (s *timerService) fire() {
	s.mu.Lock()
	s.at = time.Time{}
	now := s.clk.Now()
	due := s.spare
	s.spare = nil
	for key := int64(now.Sub(s.base)); len(s.nodes) > 0 && s.nodes[0].key <= key; {
		n := s.nodes.remove(0)
		due = append(due, dueTick{b: n.b, epoch: n.epoch})
	}
	s.rearm(true)
	s.mu.Unlock()
	for _, t := range due {
		t.b.send(message{kind: msgTick, epoch: t.epoch}, false)
	}
	if cap(due) > spareTicks {
		return
	}
	clear(due)
	s.mu.Lock()
	if s.spare == nil {
		s.spare = due[:0]
	}
	s.mu.Unlock()
}

// timerHeap is a binary min-heap of nodes by key: a node's deadline as the
// duration since the service's base time, on the clock's monotonic
// reading when both have one (time.Time.Sub), so that ordering and the
// due test in fire are integer compares agreeing with Before and After.
// Written out rather than through container/heap, whose interface calls
// and time.Time comparisons were a third of a timer-driven transition's
// instructions at 2,000 breakers. Its methods keep every node's index.
type timerHeap []*timerNode

// push adds n.
func (h *timerHeap) push(n *timerNode) {
	n.index = len(*h)
	*h = append(*h, n)
	h.up(n.index)
}

// remove takes out the node at i and returns it, its index -1.
func (h *timerHeap) remove(i int) *timerNode {
	old := *h
	last := len(old) - 1
	n := old[i]
	if i != last {
		old[i] = old[last]
		old[i].index = i
	}
	old[last] = nil
	*h = old[:last]
	if i != last {
		h.fix(i)
	}
	n.index = -1
	return n
}

// fix restores the order after the key of the node at i changed.
func (h timerHeap) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

func (h timerHeap) up(i int) {
	n := h[i]
	for i > 0 {
		p := (i - 1) / 2
		if h[p].key <= n.key {
			break
		}
		h[i] = h[p]
		h[i].index = i
		i = p
	}
	h[i] = n
	n.index = i
}

// down moves the node at i0 down to its place, reporting whether it moved.
func (h timerHeap) down(i0 int) bool {
	i, n := i0, h[i0]
	for {
		c := 2*i + 1
		if c >= len(h) {
			break
		}
		if r := c + 1; r < len(h) && h[r].key < h[c].key {
			c = r
		}
		if h[c].key >= n.key {
			break
		}
		h[i] = h[c]
		h[i].index = i
		i = c
	}
	h[i] = n
	n.index = i
	return i > i0
}
