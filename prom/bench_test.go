package prom_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
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

// discardWriter is an http.ResponseWriter that throws the body away,
// counting its bytes.
type discardWriter struct {
	header http.Header
	n      int64
}

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) WriteHeader(int)             {}
func (w *discardWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// BenchmarkHandler is BenchmarkGather for prom.Handler: one GET of n idle
// DefaultConfig breakers, written to a ResponseWriter that discards it.
// "first" is the first scrape of a new handler (its label cache filled),
// "steady" every later one, "gzip" a steady one that accepts gzip.
// B/breaker is allocated bytes over n; text-B/breaker the bytes served.
func BenchmarkHandler(b *testing.B) {
	for _, n := range []int{1_000, 10_000} {
		s := scaleSupervisor(b, n)
		get := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		gz := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		gz.Header.Set("Accept-Encoding", "gzip")
		serve := func(b *testing.B, h http.Handler, r *http.Request) int64 {
			w := &discardWriter{header: http.Header{}}
			h.ServeHTTP(w, r)
			if w.n == 0 {
				b.Fatal("empty scrape")
			}
			return w.n
		}
		b.Run(fmt.Sprintf("first/n=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			var total uint64
			for b.Loop() {
				b.StopTimer()
				h := prom.Handler(s)
				a0 := totalAlloc()
				b.StartTimer()
				serve(b, h, get)
				b.StopTimer()
				total += totalAlloc() - a0
				b.StartTimer()
			}
			b.ReportMetric(float64(total)/float64(b.N)/float64(n), "B/breaker")
		})
		for _, tc := range []struct {
			name string
			req  *http.Request
		}{{"steady", get}, {"gzip", gz}} {
			b.Run(fmt.Sprintf("%s/n=%d", tc.name, n), func(b *testing.B) {
				h := prom.Handler(s)
				text := serve(b, h, tc.req)
				b.ReportAllocs()
				a0 := totalAlloc()
				for b.Loop() {
					serve(b, h, tc.req)
				}
				b.ReportMetric(float64(totalAlloc()-a0)/float64(b.N)/float64(n), "B/breaker")
				b.ReportMetric(float64(text)/float64(n), "text-B/breaker")
			})
		}
	}
}
