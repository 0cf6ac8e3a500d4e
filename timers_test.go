package breaker

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
)

// openSpread makes n breakers of mk's clock and trips each, adding 1 ms to
// the clock after every 100 so that their open deadlines spread over 10 ms.
func openSpread(t *testing.T, mk *clock.Mock, n int) []*Breaker {
	t.Helper()
	cfg := oneFailureConfig(10 * time.Second)
	var bs []*Breaker
	for i := range n {
		b, err := New(fmt.Sprintf("t%d", i), cfg, WithClock(mk))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		bs = append(bs, b)
		p, _ := b.Acquire(context.Background())
		p.Failure()
		if i%100 == 0 {
			mk.Add(time.Millisecond) // spread the deadlines
		}
	}
	return bs
}

// The breakers of the real clock share one timer service: a thousand Open
// breakers hold a thousand heap nodes and one clock timer, armed for the
// earliest deadline; as the clock passes their deadlines they move to
// HalfOpen, the service re-arming for the next one each time; a deadline
// withdrawn by a transition (Reset) is gone from the heap, and with
// nothing armed the service holds no clock timer. The heap is driven here
// by a mock clock, installed as a heap service, and stepped one deadline
// at a time: a mock runs timer callbacks on goroutines of their own, so
// each step waits for the breakers it made due (the callback re-arms
// before it sends their ticks).
func TestTimersOneServicePerClock(t *testing.T) {
	mk := clock.NewMock()
	ts := newTimerService(mk, false)
	timerServices.Store(mk, ts)
	t.Cleanup(func() { timerServices.Delete(mk) })
	bs := openSpread(t, mk, 1000)
	for _, b := range bs {
		if b.timers != ts {
			t.Fatal("a breaker of the clock does not use its service")
		}
	}
	ts.mu.Lock()
	nodes, armed := len(ts.nodes), !ts.at.IsZero()
	earliest := ts.at
	ts.mu.Unlock()
	if nodes != 1000 || !armed || !earliest.Equal(bs[0].Metrics().OpenUntil) {
		t.Fatalf("%d nodes, clock timer armed %v for %v; want 1000, true, the first deadline %v",
			nodes, armed, earliest, bs[0].Metrics().OpenUntil)
	}
	bs[999].Reset()
	mk.Set(bs[0].Metrics().OpenUntil)
	eventually(t, "breaker 0 half-open", func() bool { return bs[0].State() == HalfOpen })
	for k := 1; k <= 10; k++ {
		mk.Add(time.Millisecond)
		for i := (k-1)*100 + 1; i <= min(k*100, 998); i++ {
			b := bs[i]
			eventually(t, fmt.Sprintf("breaker %d half-open", i), func() bool { return b.State() == HalfOpen })
		}
	}
	if s := bs[999].State(); s != Closed {
		t.Fatalf("the reset breaker is %v", s)
	}
	ts.mu.Lock()
	nodes, armed = len(ts.nodes), !ts.at.IsZero()
	ts.mu.Unlock()
	if nodes != 0 || armed {
		t.Fatalf("after every deadline: %d nodes, clock timer armed %v; want none", nodes, armed)
	}
}

// With a mock clock every deadline has its own clock timer, armed before
// the state is published: one Add past a thousand spread deadlines moves
// every breaker to HalfOpen, however late the clock's callback goroutines
// run. (With the heap, a deadline re-armed by a callback that ran after
// the Add had passed it waited for the next Add: breakers stayed Open.)
func TestTimersMockClockFiresEveryDeadlineInOneAdd(t *testing.T) {
	mk := clock.NewMock()
	bs := openSpread(t, mk, 1000)
	if ts := timersFor(mk); !ts.exact {
		t.Fatal("a mock clock's timer service is not in exact mode")
	}
	bs[999].Reset()
	mk.Add(10 * time.Second)
	for i, b := range bs[:999] {
		eventually(t, fmt.Sprintf("breaker %d half-open", i), func() bool { return b.State() == HalfOpen })
	}
	if s := bs[999].State(); s != Closed {
		t.Fatalf("the reset breaker is %v", s)
	}
}

// The timer heap keeps its order and every node's index through random
// pushes, removals and re-keyings, and gives nodes back earliest first.
func TestTimerHeapOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h timerHeap
	var out []*timerNode // nodes not in the heap
	for i := range 200 {
		out = append(out, &timerNode{index: -1, key: int64(i)})
	}
	check := func(step int) {
		t.Helper()
		for i, n := range h {
			if n.index != i {
				t.Fatalf("step %d: node at %d says index %d", step, i, n.index)
			}
			if i > 0 && h[(i-1)/2].key > n.key {
				t.Fatalf("step %d: node at %d (key %d) under a later parent (key %d)", step, i, n.key, h[(i-1)/2].key)
			}
		}
	}
	for step := range 5000 {
		switch r := rng.IntN(3); {
		case r == 0 && len(out) > 0:
			n := out[len(out)-1]
			out = out[:len(out)-1]
			n.key = rng.Int64N(1000)
			h.push(n)
		case r == 1 && len(h) > 0:
			n := h.remove(rng.IntN(len(h)))
			if n.index != -1 {
				t.Fatalf("step %d: removed node keeps index %d", step, n.index)
			}
			out = append(out, n)
		case len(h) > 0:
			i := rng.IntN(len(h))
			h[i].key = rng.Int64N(1000)
			h.fix(i)
		}
		check(step)
	}
	for last := int64(-1); len(h) > 0; {
		n := h.remove(0)
		if n.key < last {
			t.Fatalf("popped %d after %d", n.key, last)
		}
		last = n.key
	}
}
