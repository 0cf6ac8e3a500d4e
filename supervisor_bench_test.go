package breaker

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/breakerlabs/breaker/events"
)

// fastPathSubscribers are the subscriber set-ups the fast-path benchmarks
// compare: none, and subscribers that want only StateChanged (on the
// breaker, on the supervisor, both), which must cost nothing per call; and,
// for contrast, one that asks for a per-call kind.
var fastPathSubscribers = []struct {
	name string
	sub  func(s *Supervisor, b *Breaker) []*events.Subscription
}{
	{"none", nil},
	{"breaker-state-changed", func(_ *Supervisor, b *Breaker) []*events.Subscription {
		return []*events.Subscription{b.Subscribe(events.WithKinds(events.StateChanged))}
	}},
	{"supervisor-state-changed", func(s *Supervisor, _ *Breaker) []*events.Subscription {
		return []*events.Subscription{s.Subscribe(events.WithKinds(events.StateChanged))}
	}},
	{"both-state-changed", func(s *Supervisor, b *Breaker) []*events.Subscription {
		return []*events.Subscription{
			b.Subscribe(events.WithKinds(events.StateChanged)),
			s.Subscribe(events.WithKinds(events.StateChanged)),
		}
	}},
	{"supervisor-call-succeeded", func(s *Supervisor, _ *Breaker) []*events.Subscription {
		return []*events.Subscription{s.Subscribe(events.WithKinds(events.CallSucceeded))}
	}},
}

// BenchmarkSupervisorFastPath measures Acquire+Success on a Closed breaker
// of a supervisor, with and without subscribers. The StateChanged-only
// cases must match "none" in ns/op and stay at 0 allocs/op.
func BenchmarkSupervisorFastPath(b *testing.B) {
	ctx := context.Background()
	for _, c := range fastPathSubscribers {
		b.Run(c.name, func(b *testing.B) {
			s := NewSupervisor()
			defer s.Close()
			br, err := s.GetOrCreate("fast", DefaultConfig())
			if err != nil {
				b.Fatal(err)
			}
			if c.sub != nil {
				c.sub(s, br)
			}
			b.ReportAllocs()
			for b.Loop() {
				p, err := br.Acquire(ctx)
				if err != nil {
					b.Fatal(err)
				}
				p.Success()
			}
		})
	}
}

// BenchmarkSupervisorFastPathParallel is BenchmarkSupervisorFastPath from
// GOMAXPROCS goroutines on one breaker.
func BenchmarkSupervisorFastPathParallel(b *testing.B) {
	for _, c := range fastPathSubscribers {
		b.Run(c.name, func(b *testing.B) {
			s := NewSupervisor()
			defer s.Close()
			br, err := s.GetOrCreate("fast", DefaultConfig())
			if err != nil {
				b.Fatal(err)
			}
			if c.sub != nil {
				c.sub(s, br)
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					p, err := br.Acquire(ctx)
					if err != nil {
						panic(err)
					}
					p.Success()
				}
			})
		})
	}
}

// BenchmarkSupervisorGetOrCreateExisting looks up existing breakers from
// GOMAXPROCS goroutines: one hot name, and many names. With no global lock
// on the lookup it scales with the cores and does not allocate.
func BenchmarkSupervisorGetOrCreateExisting(b *testing.B) {
	for _, names := range []int{1, 1024} {
		b.Run(fmt.Sprintf("names=%d", names), func(b *testing.B) {
			s := NewSupervisor()
			defer s.Close()
			cfg := DefaultConfig()
			keys := make([]string, names)
			for i := range keys {
				keys[i] = fmt.Sprintf("svc-%04d", i)
				if _, err := s.GetOrCreate(keys[i], cfg); err != nil {
					b.Fatal(err)
				}
			}
			var next atomic.Uint32
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := int(next.Add(7919))
				for pb.Next() {
					br, err := s.GetOrCreate(keys[i%names], cfg)
					if err != nil || br == nil {
						panic(err)
					}
					i++
				}
			})
		})
	}
}

// BenchmarkSupervisorGet is Get of an existing name from GOMAXPROCS
// goroutines, for comparison with GetOrCreate.
func BenchmarkSupervisorGet(b *testing.B) {
	s := NewSupervisor()
	defer s.Close()
	if _, err := s.GetOrCreate("hot", DefaultConfig()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, ok := s.Get("hot"); !ok {
				panic("missing")
			}
		}
	})
}
