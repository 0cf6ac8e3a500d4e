package breakerredis

// WithQuorum and WithSingleProber across a fleet.

import (
	"context"
	"testing"
	"time"

	"github.com/breakerlabs/breaker"
	"github.com/breakerlabs/breaker/events"
)

func TestFleetQuorum(t *testing.T) {
	srv := startRedis(t)
	f := fleetOf(t, srv, WithQuorum(2))
	cfg := tripping(time.Minute)
	for _, m := range f {
		m.breaker(t, "dep", cfg)
		m.breaker(t, "ops", cfg)
	}
	f[0].trip(t, "dep", cfg) // one instance alone does not open the fleet
	f[0].waitState(t, "dep", breaker.Open, time.Second)
	var one breaker.Record
	deadline := time.Now().Add(5 * time.Second)
	for {
		r, ok := stored1(t, srv, "dep")
		if ok {
			one = r
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a's trip not stored")
		}
		time.Sleep(time.Millisecond) // polling with a deadline
	}
	for _, m := range f[1:] {
		m.waitSeen(t, "dep", one.Gen, 5*time.Second)
		if b, _ := m.sup.Get("dep"); b.State() != breaker.Closed {
			t.Fatalf("%s adopted a lone instance's open (quorum 2): %v", m.id, b.State())
		}
	}
	f[1].trip(t, "dep", cfg) // a second instance: the quorum is met
	f[2].waitState(t, "dep", breaker.Open, 5*time.Second)
	// An operator's action needs no quorum.
	ops, _ := f[2].sup.Get("ops")
	ops.ForceOpen()
	for _, m := range f {
		m.waitState(t, "ops", breaker.ForcedOpen, 5*time.Second)
	}
}

func TestFleetSingleProber(t *testing.T) {
	srv := startRedis(t)
	f := fleetOf(t, srv, WithSingleProber())
	cfg := tripping(800 * time.Millisecond)
	for _, m := range f {
		m.breaker(t, "dep", cfg)
	}
	f[0].trip(t, "dep", cfg)
	for _, m := range f[1:] {
		m.waitState(t, "dep", breaker.Open, 5*time.Second)
	}
	// round 1: the prober's probe fails, and everyone reopens
	w := prober(t, f, 5*time.Second)
	p, err := w.breaker(t, "dep", cfg).Acquire(context.Background())
	if err != nil {
		t.Fatalf("the prober %s admits no probe: %v", w.id, err)
	}
	p.Failure()
	for _, m := range f {
		m.waitState(t, "dep", breaker.Open, 5*time.Second)
	}
	// round 2: the prober's probe succeeds, and everyone closes
	w = prober(t, f, 5*time.Second)
	p, err = w.breaker(t, "dep", cfg).Acquire(context.Background())
	if err != nil {
		t.Fatalf("the prober %s admits no probe: %v", w.id, err)
	}
	p.Success()
	for _, m := range f {
		m.waitState(t, "dep", breaker.Closed, 5*time.Second)
	}
	// one half-open period per round across the whole fleet
	half := 0
	for _, m := range f {
		for drained := false; !drained; {
			select {
			case e := <-m.ev.C():
				if e.Kind == events.StateChanged && e.Breaker == "dep" && e.To == breaker.HalfOpen {
					half++
				}
			default:
				drained = true
			}
		}
	}
	if half != 2 {
		t.Fatalf("%d half-open periods across the fleet in two rounds, want 2 (one prober each)", half)
	}
}

// prober waits until exactly one instance of f is half-open on dep while
// the others are Open, and returns it.
func prober(t *testing.T, f []*member, d time.Duration) *member {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		var half []*member
		for _, m := range f {
			if b, _ := m.sup.Get("dep"); b.State() == breaker.HalfOpen {
				half = append(half, m)
			}
		}
		switch {
		case len(half) > 1:
			t.Fatalf("%d instances half-open at once", len(half))
		case len(half) == 1:
			// the others stay Open well past the moment the prober went half-open
			for _, m := range f {
				if m == half[0] {
					continue
				}
				b, _ := m.sup.Get("dep")
				if s := b.State(); s != breaker.Open {
					t.Fatalf("%s is %v while %s probes", m.id, s, half[0].id)
				}
			}
			return half[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no instance half-open within %v", d)
		}
		time.Sleep(time.Millisecond) // polling with a deadline
	}
}
