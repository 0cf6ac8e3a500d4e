package breaker

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
)

// The breakers of one clock share one timer service: a thousand Open
// breakers hold a thousand heap nodes and one clock timer, armed for the
// earliest deadline; when the clock passes their deadlines they all move
// to HalfOpen; a deadline withdrawn by a transition (Reset) is gone from
// the heap, and with nothing armed the service holds no clock timer.
func TestTimersOneServicePerClock(t *testing.T) {
	mk := clock.NewMock()
	cfg := leakConfig(10 * time.Second)
	ts := timersFor(mk)
	var bs []*Breaker
	for i := range 1000 {
		b, err := New(fmt.Sprintf("t%d", i), cfg, WithClock(mk))
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		if b.timers != ts {
			t.Fatal("a breaker of the clock does not use its service")
		}
		bs = append(bs, b)
		p, _ := b.Acquire(context.Background())
		p.Failure()
		if i%100 == 0 {
			mk.Add(time.Millisecond) // spread the deadlines
		}
	}
	ts.mu.Lock()
	nodes, armed := len(ts.nodes), ts.timer != nil
	earliest := ts.at
	ts.mu.Unlock()
	if nodes != 1000 || !armed || !earliest.Equal(bs[0].Metrics().OpenUntil) {
		t.Fatalf("%d nodes, clock timer armed %v for %v; want 1000, true, the first deadline %v",
			nodes, armed, earliest, bs[0].Metrics().OpenUntil)
	}
	bs[999].Reset()
	mk.Add(10 * time.Second)
	for i, b := range bs[:999] {
		eventually(t, fmt.Sprintf("breaker %d half-open", i), func() bool { return b.State() == HalfOpen })
	}
	if s := bs[999].State(); s != Closed {
		t.Fatalf("the reset breaker is %v", s)
	}
	ts.mu.Lock()
	nodes, armed = len(ts.nodes), ts.timer != nil
	ts.mu.Unlock()
	if nodes != 0 || armed {
		t.Fatalf("after every deadline: %d nodes, clock timer armed %v; want none", nodes, armed)
	}
}
