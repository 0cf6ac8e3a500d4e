// Command scale measures what many breakers cost: for one implementation
// and one count per process, the memory and goroutines per idle Closed
// breaker, the creation rate, the CPU of one forced GC, the CPU and
// garbage per timer-driven transition (Open→HalfOpen at the open deadline,
// HalfOpen→Open at MaxWait with a probe left hanging), reading every
// breaker's metrics, a Prometheus scrape through a registry's Gather and
// through prom.Handler (plain and gzip), and looking an existing name up.
//
//	go run ./cmd/scale -impl actor -n 100000          # one JSON line
//	go run ./cmd/scale -report results/scale.jsonl    # a markdown table
//
// bench/scale.sh (make bench-scale) runs every implementation at 1k, 10k,
// 100k and 1M breakers, each in its own process, and writes
// results/scale.md. Implementations: actor (Supervisor.GetOrCreate with
// DefaultConfig), mutex (NewMutex in a map), gobreaker (sony/gobreaker/v2
// in a map).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/breakerlabs/breaker"
	"github.com/breakerlabs/breaker/prom"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sony/gobreaker/v2"
)

// result is one process's measurements. Zero means not measured.
type result struct {
	Impl               string  `json:"impl"`
	N                  int     `json:"n"`
	BytesPerBreaker    float64 `json:"bytesPerBreaker"`
	GoroutinesPer      float64 `json:"goroutinesPerBreaker"`
	CreatePerSec       float64 `json:"createPerSec"`
	GCCPUms            float64 `json:"gcCPUms"`
	TripCPUus          float64 `json:"tripCPUus"`       // per trip by a failing call
	TransitionCPUus    float64 `json:"transitionCPUus"` // per timer-driven (or lazy) transition
	TransitionBytes    float64 `json:"transitionBytes"` // allocated per transition
	MetricsAllms       float64 `json:"metricsAllms"`
	GatherMs           float64 `json:"gatherMs"`
	GatherBytesPer     float64 `json:"gatherBytesPerBreaker"`
	GatherAgainMs      float64 `json:"gatherAgainMs"` // a second Gather: the collector's per-breaker labels are built
	GatherAgainBytes   float64 `json:"gatherAgainBytesPerBreaker"`
	HandlerMs          float64 `json:"handlerMs"` // prom.Handler's first GET: its label cache filled
	HandlerBytesPer    float64 `json:"handlerBytesPerBreaker"`
	HandlerAgainMs     float64 `json:"handlerAgainMs"`
	HandlerAgainBytes  float64 `json:"handlerAgainBytesPerBreaker"`
	HandlerAgainCPUms  float64 `json:"handlerAgainCPUms"` // the process's CPU over the second GET
	HandlerGzipMs      float64 `json:"handlerGzipMs"`     // a later GET accepting gzip
	HandlerGzipCPUms   float64 `json:"handlerGzipCPUms"`
	HandlerTextBytes   float64 `json:"handlerTextBytesPerBreaker"`
	HandlerGzipBytes   float64 `json:"handlerGzipBytesPerBreaker"`
	LookupNs           float64 `json:"lookupNs"`
	SyncMapNs          float64 `json:"syncMapNs"`
	TransitionsSkipped bool    `json:"transitionsSkipped,omitempty"`
}

func main() {
	impl := flag.String("impl", "actor", "actor, mutex or gobreaker")
	n := flag.Int("n", 1000, "breakers")
	maxTransitions := flag.Int("max-transitions", 100_000, "skip the transition phase above this many breakers")
	report := flag.String("report", "", "read JSON lines from this file and print a markdown report")
	flag.Parse()
	log.SetFlags(0)
	if *report != "" {
		printReport(*report)
		return
	}
	r := measure(*impl, *n, *n <= *maxTransitions)
	json.NewEncoder(os.Stdout).Encode(r)
}

func cpu() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func inuse() (uint64, uint64) {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse, m.TotalAlloc
}

func defaultGB(name string) *gobreaker.CircuitBreaker[struct{}] {
	return gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{Name: name, MaxRequests: 1, Timeout: time.Second})
}

// cycleConfig trips on one failure, opens for 1 s, and reopens after a
// MaxWait of 1 s with a probe unreported.
func cycleConfig() breaker.Config {
	c := breaker.DefaultConfig()
	c.ConsecutiveFailures = 1
	c.OpenTimeout, c.MaxOpenTimeout, c.BackoffMultiplier = time.Second, time.Second, 1
	c.HalfOpen.MaxProbes = 1
	c.HalfOpen.MaxWait = time.Second
	return c
}

func measure(impl string, n int, transitions bool) result {
	r := result{Impl: impl, N: n, TransitionsSkipped: !transitions}
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("dependency-%07d.example.internal", i)
	}
	var (
		sup   *breaker.Supervisor
		muts  map[string]*breaker.MutexBreaker
		gbs   map[string]*gobreaker.CircuitBreaker[struct{}]
		cfg   = breaker.DefaultConfig()
		ctx   = context.Background()
		mem0  uint64
		g0    = runtime.NumGoroutine()
		start time.Time
	)
	mem0, _ = inuse()
	start = time.Now()
	switch impl {
	case "actor":
		sup = breaker.NewSupervisor()
		for _, name := range names {
			if _, err := sup.GetOrCreate(name, cfg); err != nil {
				log.Fatal(err)
			}
		}
	case "mutex":
		muts = make(map[string]*breaker.MutexBreaker, n)
		for _, name := range names {
			b, err := breaker.NewMutex(name, cfg)
			if err != nil {
				log.Fatal(err)
			}
			muts[name] = b
		}
	case "gobreaker":
		gbs = make(map[string]*gobreaker.CircuitBreaker[struct{}], n)
		for _, name := range names {
			gbs[name] = defaultGB(name)
		}
	default:
		log.Fatalf("unknown implementation %q", impl)
	}
	r.CreatePerSec = float64(n) / time.Since(start).Seconds()
	mem1, _ := inuse()
	r.BytesPerBreaker = float64(mem1-mem0) / float64(n)
	r.GoroutinesPer = float64(runtime.NumGoroutine()-g0) / float64(n)

	c0 := cpu()
	runtime.GC()
	r.GCCPUms = float64(cpu()-c0) / 1e6

	// Every breaker's metrics: the best of three reads, as a monitor
	// reading them periodically would see (the first also pays for
	// faulting in fresh pages for the result).
	r.MetricsAllms = math.Inf(1)
	for range 3 {
		start = time.Now()
		switch impl {
		case "actor":
			if ms := sup.Metrics(); len(ms) != n {
				log.Fatalf("%d metrics for %d breakers", len(ms), n)
			}
		case "mutex":
			for _, b := range muts {
				_ = b.Metrics()
			}
		case "gobreaker":
			for _, b := range gbs {
				_ = b.Counts()
				_ = b.State()
			}
		}
		r.MetricsAllms = min(r.MetricsAllms, float64(time.Since(start))/1e6)
	}

	if impl == "actor" {
		reg := prometheus.NewRegistry()
		reg.MustRegister(prom.NewCollector(sup))
		_, a0 := inuse()
		start = time.Now()
		if _, err := reg.Gather(); err != nil {
			log.Fatal(err)
		}
		r.GatherMs = float64(time.Since(start)) / 1e6
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		r.GatherBytesPer = float64(m.TotalAlloc-a0) / float64(n)
		// Again: what every later scrape costs.
		_, a0 = inuse()
		start = time.Now()
		if _, err := reg.Gather(); err != nil {
			log.Fatal(err)
		}
		r.GatherAgainMs = float64(time.Since(start)) / 1e6
		runtime.ReadMemStats(&m)
		r.GatherAgainBytes = float64(m.TotalAlloc-a0) / float64(n)

		// The registry-free text handler: a first GET, a second, and one
		// accepting gzip.
		h := prom.Handler(sup)
		r.HandlerMs, _, r.HandlerBytesPer, r.HandlerTextBytes = timeScrape(h, n, false)
		r.HandlerAgainMs, r.HandlerAgainCPUms, r.HandlerAgainBytes, _ = timeScrape(h, n, false)
		r.HandlerGzipMs, r.HandlerGzipCPUms, _, r.HandlerGzipBytes = timeScrape(h, n, true)

		// Lookups of existing names, 2 goroutines, against sync.Map.Load of
		// the same names.
		var sm sync.Map
		for _, name := range names {
			b, _ := sup.Get(name)
			sm.Store(name, b)
		}
		const lookups = 2_000_000
		order := make([]int, lookups)
		for i := range order {
			order[i] = rand.IntN(n)
		}
		r.LookupNs = timeLookups(order, func(name string) bool { _, err := sup.GetOrCreate(name, cfg); return err == nil }, names)
		r.SyncMapNs = timeLookups(order, func(name string) bool { _, ok := sm.Load(name); return ok }, names)
	}

	if transitions {
		r.TripCPUus, r.TransitionCPUus, r.TransitionBytes = measureTransitions(impl, names, ctx)
	}
	if sup != nil {
		sup.Close()
	}
	for _, b := range muts {
		b.Close()
	}
	return r
}

// discard is an http.ResponseWriter that counts the body and drops it.
type discard struct {
	header http.Header
	n      int64
}

func (w *discard) Header() http.Header         { return w.header }
func (w *discard) WriteHeader(int)             {}
func (w *discard) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// timeScrape serves one GET of h (accepting gzip if zip) and returns its
// wall time and the process's CPU time over it in ms, and the bytes it
// allocated and the bytes it served per breaker.
func timeScrape(h http.Handler, n int, zip bool) (ms, cpuMs, allocPer, bodyPer float64) {
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	if zip {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	w := &discard{header: http.Header{}}
	_, a0 := inuse()
	start, c0 := time.Now(), cpu()
	h.ServeHTTP(w, req)
	ms, cpuMs = float64(time.Since(start))/1e6, float64(cpu()-c0)/1e6
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return ms, cpuMs, float64(m.TotalAlloc-a0) / float64(n), float64(w.n) / float64(n)
}

func timeLookups(order []int, look func(string) bool, names []string) float64 {
	var wg sync.WaitGroup
	start := time.Now()
	for g := range 2 {
		wg.Go(func() {
			for i := g; i < len(order); i += 2 {
				if !look(names[order[i]]) {
					log.Fatal("lookup failed")
				}
			}
		})
	}
	wg.Wait()
	return float64(time.Since(start)) / float64(len(order)) * 2 // per lookup, per goroutine
}

// measureTransitions makes n breakers of cycleConfig, trips each with a
// failing call (CPU per trip), then times the transitions the clock makes:
// Open→HalfOpen at the open deadline, and, with one probe left unreported
// in each, HalfOpen→Open at MaxWait. For the lazy implementations (mutex,
// gobreaker) the transition happens when the breaker is next looked at:
// their figure is a State() call on each after the deadline.
func measureTransitions(impl string, names []string, ctx context.Context) (tripUs, transUs, transBytes float64) {
	n := len(names)
	var (
		sup  *breaker.Supervisor
		acts []*breaker.Breaker
		muts []*breaker.MutexBreaker
		gbs  []*gobreaker.CircuitBreaker[struct{}]
	)
	cfg := cycleConfig()
	switch impl {
	case "actor":
		sup = breaker.NewSupervisor()
		defer sup.Close()
		for _, name := range names {
			b, _ := sup.GetOrCreate("cycle-"+name, cfg)
			acts = append(acts, b)
		}
	case "mutex":
		for _, name := range names {
			b, _ := breaker.NewMutex(name, cfg)
			muts = append(muts, b)
			defer b.Close()
		}
	case "gobreaker":
		for _, name := range names {
			gbs = append(gbs, defaultGB(name))
		}
	}
	fail := func(i int) {
		switch impl {
		case "actor":
			p, err := acts[i].Acquire(ctx)
			if err == nil {
				p.Failure()
			}
		case "mutex":
			p, err := muts[i].Acquire(ctx)
			if err == nil {
				p.Failure()
			}
		default:
			for range 6 { // gobreaker's default trips after more than 5 in a row
				gbs[i].Execute(func() (struct{}, error) { return struct{}{}, os.ErrClosed })
			}
		}
	}
	state := func(i int) string {
		switch impl {
		case "actor":
			return acts[i].State().String()
		case "mutex":
			return muts[i].State().String()
		}
		return gbs[i].State().String()
	}
	c0 := cpu()
	for i := range n {
		fail(i)
	}
	tripUs = float64(cpu()-c0) / 1e3 / float64(n)
	deadline := time.Now().Add(1100 * time.Millisecond)
	for i := range n {
		if state(i) != "open" {
			log.Fatalf("%s %d not open after its trip: %s", impl, i, state(i))
		}
	}
	if impl != "actor" {
		time.Sleep(time.Until(deadline))
		_, a0 := inuse()
		c0 = cpu()
		for i := range n {
			if s := state(i); s != "half-open" {
				log.Fatalf("%s %d is %s after the open timeout", impl, i, s)
			}
		}
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return tripUs, float64(cpu()-c0) / 1e3 / float64(n), float64(m.TotalAlloc-a0) / float64(n)
	}
	// The actor: wait for the timers to move every breaker, with the CPU of
	// the process over the wait minus what it burns idle.
	// What the process burns idle (the runtime, the polling below), to
	// take off the wait's CPU.
	idleStart, idleCPU := time.Now(), cpu()
	time.Sleep(300 * time.Millisecond)
	idleRate := float64(cpu()-idleCPU) / float64(time.Since(idleStart))
	_, a0 := inuse()
	c0 = cpu()
	waitStart := time.Now()
	wait := func(want breaker.State) {
		for i := 0; i < n; {
			if acts[i].State() == want {
				i++
				continue
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	wait(breaker.HalfOpen)
	for _, b := range acts { // one probe each, never reported
		if _, err := b.Acquire(ctx); err != nil {
			log.Fatalf("probe: %v", err)
		}
	}
	wait(breaker.Open)
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	used := float64(cpu()-c0) - idleRate*float64(time.Since(waitStart))
	return tripUs, max(used, 0) / 1e3 / float64(2*n), float64(m.TotalAlloc-a0) / float64(2*n)
}

// ---- The report -------------------------------------------------------------

func printReport(path string) {
	f, err := os.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	var rs []result
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r result
		if err := json.Unmarshal(sc.Bytes(), &r); err == nil {
			rs = append(rs, r)
		}
	}
	order := map[string]int{"actor": 0, "mutex": 1, "gobreaker": 2}
	sort.Slice(rs, func(i, j int) bool {
		if rs[i].Impl != rs[j].Impl {
			return order[rs[i].Impl] < order[rs[j].Impl]
		}
		return rs[i].N < rs[j].N
	})
	num := func(v float64, format string) string {
		if v == 0 {
			return "—"
		}
		return fmt.Sprintf(format, v)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "| impl | breakers | bytes/breaker | goroutines/breaker | created/s | one GC (CPU ms) | CPU per trip (µs) | CPU per timer transition (µs) | bytes per transition | Metrics of all (ms) | Prom Gather (ms) | Gather bytes/breaker | next Gather (ms) | next Gather bytes/breaker | Handler (ms) | Handler bytes/breaker | next Handler (ms, CPU ms) | next Handler bytes/breaker | Handler gzip (ms, CPU ms) | Handler text/gzip bytes/breaker | GetOrCreate hit (ns) | sync.Map Load (ns) |\n")
	fmt.Fprintf(&b, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		msCPU := func(ms, cpu float64) string {
			if ms == 0 {
				return "—"
			}
			return fmt.Sprintf("%.0f, %.0f", ms, cpu)
		}
		textGz := "—"
		if r.HandlerTextBytes != 0 {
			textGz = fmt.Sprintf("%.0f / %.0f", r.HandlerTextBytes, r.HandlerGzipBytes)
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %.3f | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			r.Impl, r.N, num(r.BytesPerBreaker, "%.0f"), r.GoroutinesPer, num(r.CreatePerSec, "%.0f"), num(r.GCCPUms, "%.1f"),
			num(r.TripCPUus, "%.2f"), num(r.TransitionCPUus, "%.2f"), num(r.TransitionBytes, "%.0f"),
			num(r.MetricsAllms, "%.1f"), num(r.GatherMs, "%.0f"), num(r.GatherBytesPer, "%.0f"),
			num(r.GatherAgainMs, "%.0f"), num(r.GatherAgainBytes, "%.0f"),
			num(r.HandlerMs, "%.0f"), num(r.HandlerBytesPer, "%.0f"),
			msCPU(r.HandlerAgainMs, r.HandlerAgainCPUms), num(r.HandlerAgainBytes, "%.0f"),
			msCPU(r.HandlerGzipMs, r.HandlerGzipCPUms), textGz,
			num(r.LookupNs, "%.1f"), num(r.SyncMapNs, "%.1f"))
	}
	fmt.Print(b.String())
}
