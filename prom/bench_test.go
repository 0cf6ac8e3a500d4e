package prom_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/breakerlabs/breaker"
	"github.com/breakerlabs/breaker/prom"
)

// scaleSupervisor returns a supervisor with n idle breakers made by
// GetOrCreate with DefaultConfig, named as bench/cmd/scale names them.
func scaleSupervisor(tb testing.TB, n int) *breaker.Supervisor {
	tb.Helper()
	s := breaker.NewSupervisor()
	tb.Cleanup(func() { s.Close() })
	cfg := breaker.DefaultConfig()
	for i := range n {
		if _, err := s.GetOrCreate(fmt.Sprintf("dependency-%07d.example.internal", i), cfg); err != nil {
			tb.Fatal(err)
		}
	}
	return s
}

// BenchmarkGather measures one Gather of a registry holding the collector
// of a supervisor with n idle DefaultConfig breakers (17 series each), the
// figure of DESIGN §7's scale target (≤ 2 KB allocated per breaker).
// "first" is the first scrape after the collector is registered; "steady"
// is every later one. B/breaker is allocated bytes over n.
func BenchmarkGather(b *testing.B) {
	for _, n := range []int{1_000, 10_000} {
		s := scaleSupervisor(b, n)
		b.Run(fmt.Sprintf("first/n=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			var total uint64
			for b.Loop() {
				b.StopTimer()
				reg := prometheus.NewRegistry()
				reg.MustRegister(prom.NewCollector(s))
				a0 := totalAlloc()
				b.StartTimer()
				gatherOrFail(b, reg)
				b.StopTimer()
				total += totalAlloc() - a0
				b.StartTimer()
			}
			b.ReportMetric(float64(total)/float64(b.N)/float64(n), "B/breaker")
		})
		b.Run(fmt.Sprintf("steady/n=%d", n), func(b *testing.B) {
			reg := prometheus.NewRegistry()
			reg.MustRegister(prom.NewCollector(s))
			gatherOrFail(b, reg)
			b.ReportAllocs()
			a0 := totalAlloc()
			for b.Loop() {
				gatherOrFail(b, reg)
			}
			b.ReportMetric(float64(totalAlloc()-a0)/float64(b.N)/float64(n), "B/breaker")
		})
	}
}

func gatherOrFail(b *testing.B, reg *prometheus.Registry) {
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	if len(mfs) == 0 {
		b.Fatal("no metric families")
	}
}

func totalAlloc() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// BenchmarkGatherMeasured is BenchmarkGather's steady scrape of 1,000
// breakers that measure call durations (slow-call tracking on), each with
// one success: 20 series each, one of the three histograms observed.
func BenchmarkGatherMeasured(b *testing.B) {
	const n = 1_000
	s := breaker.NewSupervisor()
	b.Cleanup(func() { s.Close() })
	cfg := breaker.DefaultConfig()
	cfg.SlowCallDuration = time.Second
	for i := range n {
		br, err := s.GetOrCreate(fmt.Sprintf("dependency-%07d.example.internal", i), cfg)
		if err != nil {
			b.Fatal(err)
		}
		p, err := br.Acquire(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		p.Success()
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(prom.NewCollector(s))
	gatherOrFail(b, reg)
	b.ReportAllocs()
	a0 := totalAlloc()
	for b.Loop() {
		gatherOrFail(b, reg)
	}
	b.ReportMetric(float64(totalAlloc()-a0)/float64(b.N)/n, "B/breaker")
}
