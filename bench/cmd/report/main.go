// Command report turns the raw output of bench/run.sh into bench/RESULTS.md
// and the chart bench/results/parallel.png. bench/report.sh runs it; run
// from bench/:
//
//	go run ./cmd/report [-results results] [-out RESULTS.md]
//
// It reads results/root.txt and results/latest.txt (`go test -bench`
// output), results/meta.txt (what run.sh recorded about the run),
// results/benchstat-*.txt (benchstat's tables, written by report.sh),
// results/profile-*.txt (`go tool pprof -top` output, written by
// profile.sh) and analysis.md (hand-written findings), and checks the
// medians against the targets of ARCHITECTURE §7.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"image/color"
	"log"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// The implementations, in the order of compare_test.go.
// halfOpenImpls and halfOpenGoroutines are BenchmarkHalfOpenReject's.
var (
	halfOpenImpls      = []string{"actor", "mutex", "gobreaker", "gobreaker-twostep", "failsafe-permit"}
	halfOpenGoroutines = []int{2, 8, 32, 128}
)

var impls = []string{"actor", "actor-exec", "mutex", "gobreaker", "gobreaker-twostep", "failsafe-permit", "failsafe-exec"}

var implNotes = map[string]string{
	"actor":             "`breaker.Breaker`: `Acquire`, then `Permit.Done(err)`",
	"actor-exec":        "`breaker.Execute` on a `breaker.Breaker`",
	"mutex":             "`breaker.MutexBreaker`: `Acquire`, then `Permit.Done(err)`",
	"gobreaker":         "sony/gobreaker/v2 `CircuitBreaker.Execute`",
	"gobreaker-twostep": "sony/gobreaker/v2 `TwoStepCircuitBreaker.Allow`, then `done(err)`",
	"failsafe-permit":   "failsafe-go breaker used directly: `TryAcquirePermit`, then `RecordError(err)`",
	"failsafe-exec":     "failsafe-go executor: `failsafe.With(cb).Run(fn)`",
}

var parallelism = []int{1, 4, 16, 64}

// results holds every sample of one raw file: name → unit → values.
type results struct {
	samples map[string]map[string][]float64
	procs   int
}

func parse(path string) (*results, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := &results{samples: map[string]map[string][]float64{}}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") || len(fields)%2 != 0 {
			continue
		}
		name := strings.TrimPrefix(fields[0], "Benchmark")
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if p, err := strconv.Atoi(name[i+1:]); err == nil {
				r.procs = p
				name = name[:i]
			}
		}
		m := r.samples[name]
		if m == nil {
			m = map[string][]float64{}
			r.samples[name] = m
		}
		for i := 2; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				continue
			}
			m[fields[i+1]] = append(m[fields[i+1]], v)
		}
	}
	return r, sc.Err()
}

// median returns the median of name's samples in unit, and whether any.
func (r *results) median(name, unit string) (float64, bool) {
	vs := slices.Clone(r.samples[name][unit])
	if len(vs) == 0 {
		return math.NaN(), false
	}
	sort.Float64s(vs)
	n := len(vs)
	if n%2 == 1 {
		return vs[n/2], true
	}
	return (vs[n/2-1] + vs[n/2]) / 2, true
}

func (r *results) ns(name string) float64 { v, _ := r.median(name, "ns/op"); return v }

// best returns the smallest of name's samples in unit: on a loaded machine
// the sample least disturbed by other work.
func (r *results) best(name, unit string) float64 {
	vs := r.samples[name][unit]
	if len(vs) == 0 {
		return math.NaN()
	}
	return slices.Min(vs)
}

// fmtNs formats nanoseconds with 3 significant digits.
func fmtNs(v float64) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case v >= 1e6:
		return fmt.Sprintf("%.3g ms", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.3g µs", v/1e3)
	case v >= 100:
		return fmt.Sprintf("%.0f ns", v)
	}
	return fmt.Sprintf("%.3g ns", v)
}

func fmtX(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	return fmt.Sprintf("%.2f×", v)
}

// cell is "ns/op (allocs)" for one benchmark.
func (r *results) cell(name string) string {
	v, ok := r.median(name, "ns/op")
	if !ok {
		return "–"
	}
	s := fmtNs(v)
	if a, ok := r.median(name, "allocs/op"); ok && a != 0 {
		s += fmt.Sprintf(" (%g alloc)", a)
	}
	return s
}

func readMeta(path string) (map[string]string, []string) {
	meta := map[string]string{}
	var keys []string
	b, err := os.ReadFile(path)
	if err != nil {
		return meta, nil
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ": ")
		if ok {
			meta[k] = v
			keys = append(keys, k)
		}
	}
	return meta, keys
}

func readOptional(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimRight(string(b), "\n")
}

// target is one ARCHITECTURE §7 target and how the run did against it.
type target struct {
	what, measured, verdict string
	met                     bool
}

func main() {
	dir := flag.String("results", "results", "directory with root.txt, latest.txt and meta.txt")
	out := flag.String("out", "RESULTS.md", "the report to write")
	analysis := flag.String("analysis", "analysis.md", "hand-written findings to include (optional)")
	flag.Parse()
	log.SetFlags(0)

	root, err := parse(filepath.Join(*dir, "root.txt"))
	if err != nil {
		log.Fatal(err)
	}
	cmp, err := parse(filepath.Join(*dir, "latest.txt"))
	if err != nil {
		log.Fatal(err)
	}
	meta, metaKeys := readMeta(filepath.Join(*dir, "meta.txt"))
	procs := cmp.procs
	if procs == 0 {
		procs = root.procs
	}

	chart := filepath.Join(*dir, "parallel.png")
	if err := drawChart(cmp, procs, chart); err != nil {
		log.Fatal(err)
	}

	var w bytes.Buffer
	p := func(format string, a ...any) { fmt.Fprintf(&w, format, a...) }

	p("# Benchmark results\n\n")
	p("Generated by `bench/report.sh` from the raw output of `bench/run.sh` (`bench/results/root.txt`, `bench/results/latest.txt`). Do not edit by hand: edit `bench/analysis.md` or the generator (`bench/cmd/report`) and regenerate.\n\n")

	// ---- The run.
	p("## The run\n\n")
	p("| | |\n|---|---|\n")
	for _, k := range []string{"started", "finished", "go", "cpu", "nproc", "gomaxprocs", "kernel", "clocksource", "count", "benchtime", "triptime", "load-before", "load-after", "git", "benchstat"} {
		if v, ok := meta[k]; ok {
			p("| %s | %s |\n", k, mdEscape(v))
		}
	}
	p("\n`count` rounds were run; each round runs every command below once, so each benchmark has `count` samples (`-test.count 1` per process). ")
	p("Every benchmark runs for `benchtime` (`-test.benchtime`; `BenchmarkTripLatency` for `triptime` trips) to keep the whole run within a few minutes on this 2-core machine. ")
	p("Each implementation runs in its own process, and the processes are interleaved round by round, so load that comes and goes on this shared machine falls on every implementation alike. The figures below are medians of the `count` samples; benchstat's confidence intervals are in the full tables at the end.\n\n")
	p("Commands (from `bench/`; `bench/run.sh` runs them):\n\n```sh\n")
	for _, k := range metaKeys {
		if strings.HasPrefix(k, "cmd-") {
			p("%s\n", meta[k])
		}
	}
	p("```\n\n")
	if la, lb := meta["load-after"], meta["load-before"]; la != "" || lb != "" {
		p("The load averages are `/proc/loadavg` (1, 5, 15 min) before and after the run. Other work on this machine (other sessions' builds and tests) competes for its 2 cores; a load above 2 means the numbers include waiting for a CPU, which inflates the contended and scheduler-bound figures (parallel runs, trip latency, churn) most.\n\n")
	}

	// ---- Targets.
	targets := checkTargets(root, cmp, procs)
	p("## ARCHITECTURE §7 targets\n\n")
	p("| target | measured | verdict |\n|---|---|---|\n")
	for _, t := range targets {
		mark := "**missed**"
		if t.met {
			mark = "met"
		}
		p("| %s | %s | %s: %s |\n", t.what, t.measured, mark, t.verdict)
	}
	p("\n")

	// ---- Root benchmarks.
	p("## 1. The library alone (root package, `bench_test.go`)\n\n")
	p("Concrete types, no harness; the real clock, so with slow-call tracking or a time window durations come from the shared 1 ms coarse clock. Median ns/op (allocs/op when not 0); parallel rows use `b.RunParallel` with GOMAXPROCS (%d) goroutines.\n\n", procs)
	p("| benchmark | actor | mutex | mutex ÷ actor |\n|---|---|---|---|\n")
	for _, name := range []string{"AcquireSuccess", "AcquireSuccessParallel", "AcquireSuccessSlowTime", "AcquireSuccessSlowTimeParallel", "OpenRejection", "OpenRejectionParallel"} {
		a, m := name+"/impl=actor", name+"/impl=mutex"
		p("| %s | %s | %s | %s |\n", name, root.cell(a), root.cell(m), fmtX(root.ns(m)/root.ns(a)))
	}
	p("\nTrip latency (`BenchmarkTripLatency`: from the start of the report that crosses `ConsecutiveFailures = 1` until `State()` shows Open, spinning on `State()`; medians over the runs of each run's percentile):\n\n")
	p("| impl | p50 | p99 | max | cycle (ns/op: Acquire, Failure, wait, Reset) |\n|---|---|---|---|---|\n")
	for _, load := range []string{"", "Busy"} {
		for _, im := range []string{"actor", "mutex"} {
			name := "TripLatency" + load + "/impl=" + im
			p50, _ := root.median(name, "p50-ns")
			p99, _ := root.median(name, "p99-ns")
			mx, _ := root.median(name, "max-ns")
			label := im + ", idle"
			if load != "" {
				label = im + ", every P busy"
			}
			p("| %s | %s | %s | %s | %s |\n", label, fmtNs(p50), fmtNs(p99), fmtNs(mx), fmtNs(root.ns(name)))
		}
	}
	p("\n*Every P busy* (`BenchmarkTripLatencyBusy`): GOMAXPROCS goroutines call other breakers' fast paths in a loop that never yields, so a trip that needed another goroutine to be scheduled would wait for preemption (10 ms).\n\n")

	// ---- Comparison.
	p("## 2. Side by side (`bench/compare_test.go`)\n\n")
	p("Every implementation protects the same `//go:noinline` no-op and is called through one method whose switch dispatches to the library's idiomatic call (the same ~1 ns for all; that is why `actor` here is a little slower than in table 1). Implementations:\n\n")
	for _, im := range impls {
		p("- `%s`: %s\n", im, implNotes[im])
	}
	p("\nMedian ns/op (allocs/op when not 0). `Parallel p=N` runs `b.RunParallel` with `b.SetParallelism(N)`, that is N × %d goroutines on one breaker; its ns/op is wall time per call, so throughput is its inverse.\n\n", procs)
	p("| scenario |")
	for _, im := range impls {
		p(" %s |", im)
	}
	p("\n|---|")
	for range impls {
		p("---|")
	}
	p("\n")
	type row struct{ label, bench, sub string }
	rows := []row{{"Closed, serial", "Closed", ""}}
	for _, n := range parallelism {
		rows = append(rows, row{fmt.Sprintf("Parallel p=%d (%d goroutines)", n, n*procs), "Parallel", fmt.Sprintf("/p=%d", n)})
	}
	rows = append(rows, row{"Open rejection, serial", "Open", ""})
	for _, n := range []int{1, 16} {
		rows = append(rows, row{fmt.Sprintf("Open rejection, p=%d", n), "OpenParallel", fmt.Sprintf("/p=%d", n)})
	}
	rows = append(rows, row{"Mixed (5% failures, time window, slow calls), serial", "Mixed", ""})
	for _, n := range []int{1, 16} {
		rows = append(rows, row{fmt.Sprintf("Mixed, p=%d", n), "MixedParallel", fmt.Sprintf("/p=%d", n)})
	}
	rows = append(rows, row{"Half-open churn (ns per cycle)", "Churn", ""})
	for _, r := range rows {
		p("| %s |", r.label)
		for _, im := range impls {
			p(" %s |", cmp.cell(r.bench+"/impl="+im+r.sub))
		}
		p("\n")
	}
	p("| churn: rejected calls per cycle |")
	for _, im := range impls {
		v, ok := cmp.median("Churn/impl="+im, "rejects/op")
		if ok {
			p(" %.3g |", v)
		} else {
			p(" – |")
		}
	}
	p("\n\nScenarios: *Closed* and *Parallel* use a plain configuration (ours: `DefaultConfig()`, a count window of 100, slow calls off, tripping after 5 failures in a row; gobreaker: `Settings{Timeout: 1h}`, which trips after more than 5 in a row; failsafe-go: `WithFailureThreshold(5)`). *Open* trips each breaker with real failures, open for 1 h. *Mixed*: every 20th call fails; ours has a 10 s / 10-bucket time window, failure and slow-call rates of 0.5 after 20 calls, slow-call threshold 1 s; gobreaker a 10 s / 1 s rolling window tripping at ≥ 50%% of ≥ 20 requests; failsafe-go `WithFailureRateThreshold(0.5, 20, 10s)` (neither peer tracks slow calls). *Churn*: one op is one recovery cycle made of ordinary calls: a failing call trips the breaker (threshold 1), the goroutine waits until it is no longer Closed, then calls until one succeeds and the breaker is Closed again; the open timeout is 1 ns everywhere and every wait yields with `runtime.Gosched`, so the cycle is the mechanics (trip, half-open, probe, close), not a sleep.\n\n")

	// Half-open rejection.
	p("### Half-open rejection\n\n")
	p("`BenchmarkHalfOpenReject`: a half-open breaker whose only probe slot is held; g goroutines call it and every call must be rejected (ErrTooManyProbes; gobreaker's ErrTooManyRequests; failsafe-go's refused permit). Median ns/op (allocs/op when not 0).\n\n")
	p("| goroutines |")
	for _, im := range halfOpenImpls {
		p(" %s |", im)
	}
	p(" actor vs gobreaker |\n|---|")
	for range halfOpenImpls {
		p("---|")
	}
	p("---|\n")
	for _, g := range halfOpenGoroutines {
		p("| %d |", g)
		for _, im := range halfOpenImpls {
			p(" %s |", cmp.cell(fmt.Sprintf("HalfOpenReject/impl=%s/g=%d", im, g)))
		}
		p(" %s |\n", fmtX(cmp.ns(fmt.Sprintf("HalfOpenReject/impl=gobreaker/g=%d", g))/cmp.ns(fmt.Sprintf("HalfOpenReject/impl=actor/g=%d", g))))
	}
	p("\n")

	// Ratios.
	p("### Throughput under RunParallel\n\n")
	p("Throughput of `actor` over each other implementation (the other's ns/op ÷ actor's, closed path, from the Parallel rows). ARCHITECTURE §7 asks ≥ 3× gobreaker and ≥ 2× the mutex variant.\n\n")
	p("| goroutines |")
	others := []string{"gobreaker", "gobreaker-twostep", "mutex", "failsafe-permit", "failsafe-exec"}
	for _, o := range others {
		p(" vs %s |", o)
	}
	p("\n|---|")
	for range others {
		p("---|")
	}
	p("\n")
	for _, n := range parallelism {
		p("| %d (p=%d) |", n*procs, n)
		a := cmp.ns(fmt.Sprintf("Parallel/impl=actor/p=%d", n))
		for _, o := range others {
			p(" %s |", fmtX(cmp.ns(fmt.Sprintf("Parallel/impl=%s/p=%d", o, n))/a))
		}
		p("\n")
	}
	p("\n![closed-path ns/op against goroutines](results/parallel.png)\n\n")
	p("`results/parallel.png`: median ns/op of the closed path under RunParallel against the number of goroutines (SetParallelism × GOMAXPROCS), log–log; dashed grey lines are the baselines (one shared atomic counter, one shared mutex).\n\n")

	// Baselines.
	p("### Baselines\n\n")
	p("The floor on this machine, measured in the same run (`BenchmarkBaseline*`, through a func value as every target call goes through one method call). `model-seq` is one add on a counter every goroutine shares (the count window's call sequence, which the actor's closed path increments on every call); `model-seq+stripe` adds the increment of one of 8 padded cells picked by the goroutine's stack address, as the library does (the lifetime success counter): together, the shared writes of the actor's closed path without the rest of it.\n\n")
	p("| operation | serial |")
	for _, n := range parallelism {
		p(" p=%d |", n)
	}
	p("\n|---|---|")
	for range parallelism {
		p("---|")
	}
	p("\n")
	for _, op := range []string{"noop-call", "atomic-add", "mutex", "model-seq", "model-seq+stripe", "time-now"} {
		p("| %s | %s |", op, cmp.cell("Baseline/op="+op))
		for _, n := range parallelism {
			p(" %s |", cmp.cell(fmt.Sprintf("BaselineParallel/op=%s/p=%d", op, n)))
		}
		p("\n")
	}
	p("\n")

	// Scale.
	if sc := readOptional(filepath.Join(*dir, "scale.md")); sc != "" {
		p("## 3. Many breakers (`make bench-scale`, `bench/cmd/scale`)\n\n")
		p("One process per implementation and count. Memory is Δ(HeapInuse+StackInuse) per breaker after two GCs, the container included (the Supervisor's registry for `actor`, a map for the others). *one GC*: process CPU of one forced `runtime.GC()` with the breakers live. *CPU per trip*: a failing call that trips (ConsecutiveFailures 1). *CPU per timer transition*: `actor`, process CPU over the timer-driven Open→HalfOpen (open timeout 1 s) and HalfOpen→Open (MaxWait 1 s, one probe left hanging in each) of every breaker, less what the process burns idle over the same time, ÷ 2N; `mutex` and `gobreaker` make no transition on their own: their figure is the lazy one, a `State()` on each after the deadline. *Metrics of all*: the best of three reads of `Supervisor.Metrics()` (actor), `Metrics()` on each (mutex), `Counts()`+`State()` on each (gobreaker). *Prom Gather*: one `Gather` of a registry with `prom.NewCollector(supervisor)`, its first (which makes each breaker's label pairs, kept for later scrapes); *next Gather*: the one after, what every later scrape costs. *Handler*: one GET of `prom.Handler(supervisor)` (the same series in the text format, without a registry) written to a discarding ResponseWriter, its first and the next (wall ms, and the process's CPU ms over it), and one accepting gzip; *text/gzip bytes* is the body per breaker, plain and gzipped. *GetOrCreate hit*: 2 goroutines looking up existing names in random order, against `sync.Map.Load` of the same names. Wall-clock figures on a shared machine: see the load below.\n\n%s\n\n", sc)
		switch ok, err := drawScaleChart(filepath.Join(*dir, "scale.jsonl"), filepath.Join(*dir, "scale.png")); {
		case err != nil:
			log.Fatalf("scale chart: %v", err)
		case ok:
			p("![memory of N breakers against N](results/scale.png)\n\n`results/scale.png`: the bytes per breaker of the table × N, log–log; the dashed line is the 1.5 GB that 1,000,000 breakers may take.\n\n")
		}
		if m := readOptional(filepath.Join(*dir, "scale-meta.txt")); m != "" {
			p("```\n%s\n```\n\n", m)
		}
	}

	// Analysis and profiles.
	if a := readOptional(*analysis); a != "" {
		p("## Findings\n\n%s\n\n", strings.TrimSpace(a))
	}
	profiles, _ := filepath.Glob(filepath.Join(*dir, "profile-*.txt"))
	if len(profiles) > 0 {
		p("## Profiles\n\n`bench/profile.sh` output (`go tool pprof -top`), run separately from the timed run.\n\n")
		for _, f := range profiles {
			p("<details><summary>%s</summary>\n\n```\n%s\n```\n\n</details>\n\n", filepath.Base(f), readOptional(f))
		}
	}

	// Full benchstat tables.
	p("## benchstat\n\n")
	for _, f := range []struct{ file, title string }{
		{"benchstat-root.txt", "The library alone (`results/root.txt`)"},
		{"benchstat-compare.txt", "Side by side (`results/latest.txt`)"},
	} {
		if s := readOptional(filepath.Join(*dir, f.file)); s != "" {
			p("<details><summary>%s</summary>\n\n```\n%s\n```\n\n</details>\n\n", f.title, s)
		}
	}

	if err := os.WriteFile(*out, w.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("wrote %s and %s\n", *out, chart)
	for _, t := range targets {
		state := "MISSED"
		if t.met {
			state = "met"
		}
		fmt.Printf("%-6s %s: %s (%s)\n", state, t.what, t.measured, t.verdict)
	}
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// checkTargets compares the medians with ARCHITECTURE §7.
func checkTargets(root, cmp *results, procs int) []target {
	var ts []target
	upTo := func(what string, v, best, limit float64, allocs float64, note string) target {
		t := target{what: what, measured: fmtNs(v)}
		if !math.IsNaN(best) {
			t.measured += " (best run " + fmtNs(best) + ")"
		}
		if !math.IsNaN(allocs) {
			t.measured += fmt.Sprintf(", %g allocs/op", allocs)
		}
		if note != "" {
			t.measured += "; " + note
		}
		t.met = v <= limit && (math.IsNaN(allocs) || allocs == 0)
		switch {
		case math.IsNaN(v):
			t.verdict = "no data"
			t.met = false
		case v <= limit:
			t.verdict = fmt.Sprintf("%.0f%% of the limit", 100*v/limit)
		default:
			t.verdict = fmt.Sprintf("over by %s (%.2f× the limit)", fmtNs(v-limit), v/limit)
		}
		if !math.IsNaN(allocs) && allocs != 0 {
			t.verdict += "; allocates"
		}
		return t
	}
	allocs := func(r *results, name string) float64 { v, _ := r.median(name, "allocs/op"); return v }

	ts = append(ts, upTo("Closed fast path, 1 goroutine (Acquire+Success, count window, slow calls off) ≤ 20 ns/op, 0 allocs",
		root.ns("AcquireSuccess/impl=actor"), root.best("AcquireSuccess/impl=actor", "ns/op"), 20, allocs(root, "AcquireSuccess/impl=actor"),
		"bench/ with harness: "+fmtNs(cmp.ns("Closed/impl=actor"))))
	ts = append(ts, upTo("Open-state rejection ≤ 20 ns/op, 0 allocs",
		root.ns("OpenRejection/impl=actor"), root.best("OpenRejection/impl=actor", "ns/op"), 20, allocs(root, "OpenRejection/impl=actor"),
		"bench/ with harness: "+fmtNs(cmp.ns("Open/impl=actor"))))

	ratio := func(what, other string, need float64) target {
		var parts []string
		minR, maxR := math.Inf(1), math.Inf(-1)
		var metAt, missAt []string
		for _, n := range parallelism {
			a := cmp.ns(fmt.Sprintf("Parallel/impl=actor/p=%d", n))
			o := cmp.ns(fmt.Sprintf("Parallel/impl=%s/p=%d", other, n))
			r := o / a
			parts = append(parts, fmt.Sprintf("%d gor.: %s", n*procs, fmtX(r)))
			minR, maxR = math.Min(minR, r), math.Max(maxR, r)
			if r >= need {
				metAt = append(metAt, strconv.Itoa(n*procs))
			} else {
				missAt = append(missAt, fmt.Sprintf("%d (%.0f%% of %g×)", n*procs, 100*r/need, need))
			}
		}
		t := target{what: what, measured: strings.Join(parts, ", "), met: len(missAt) == 0 && !math.IsNaN(minR)}
		switch {
		case math.IsNaN(minR):
			t.verdict = "no data"
		case t.met:
			t.verdict = fmt.Sprintf("at every parallelism (lowest %s)", fmtX(minR))
		default:
			t.verdict = "short at " + strings.Join(missAt, ", ") + " goroutines"
			if len(metAt) > 0 {
				t.verdict += "; met at " + strings.Join(metAt, ", ")
			}
		}
		return t
	}
	ts = append(ts, ratio("RunParallel throughput ≥ 3× sony/gobreaker (Execute)", "gobreaker", 3))
	ts = append(ts, ratio("RunParallel throughput ≥ 2× the mutex variant", "mutex", 2))
	ts = append(ts, ratio("RunParallel throughput ≥ 1.5× failsafe-go's TryAcquirePermit+RecordResult", "failsafe-permit", 1.5))

	// Half-open: every probe slot held, g goroutines rejected; at least as
	// fast as gobreaker (Execute) in the same run, 0 allocs.
	for _, g := range halfOpenGoroutines {
		name := fmt.Sprintf("HalfOpenReject/impl=actor/g=%d", g)
		gb := cmp.ns(fmt.Sprintf("HalfOpenReject/impl=gobreaker/g=%d", g))
		ts = append(ts, upTo(fmt.Sprintf("Half-open rejection, every slot held, %d goroutines ≤ gobreaker (%s), 0 allocs", g, fmtNs(gb)),
			cmp.ns(name), cmp.best(name, "ns/op"), gb, allocs(cmp, name), ""))
	}
	churn, gbChurn := cmp.ns("Churn/impl=actor"), cmp.ns("Churn/impl=gobreaker")
	ts = append(ts, upTo(fmt.Sprintf("Recovery cycle (churn) ≤ gobreaker's (%s)", fmtNs(gbChurn)),
		churn, cmp.best("Churn/impl=actor", "ns/op"), gbChurn, math.NaN(), fmt.Sprintf("%g allocs/op", allocs(cmp, "Churn/impl=actor"))))

	for _, v := range []struct{ slow, plain, what string }{
		{"AcquireSuccessSlowTime/impl=actor", "AcquireSuccess/impl=actor", "Slow-call tracking + time window ≤ 2× the plain fast path (1 goroutine)"},
		{"AcquireSuccessSlowTimeParallel/impl=actor", "AcquireSuccessParallel/impl=actor", "Slow-call tracking + time window ≤ 2× the plain fast path (RunParallel)"},
	} {
		s, pl := root.ns(v.slow), root.ns(v.plain)
		r := s / pl
		t := target{what: v.what, measured: fmt.Sprintf("%s vs %s: %s", fmtNs(s), fmtNs(pl), fmtX(r)), met: r <= 2}
		if a := allocs(root, v.slow); a != 0 {
			t.met = false
			t.measured += fmt.Sprintf(", %g allocs/op", a)
		}
		switch {
		case math.IsNaN(r):
			t.verdict, t.met = "no data", false
		case r <= 2:
			t.verdict = fmt.Sprintf("%.0f%% of the limit", 100*r/2)
		default:
			t.verdict = fmt.Sprintf("over by %s", fmtX(r-2))
		}
		ts = append(ts, t)
	}

	p50, _ := root.median("TripLatency/impl=actor", "p50-ns")
	p99, _ := root.median("TripLatency/impl=actor", "p99-ns")
	for _, q := range []struct {
		name string
		v    float64
		best float64
	}{{"median", p50, root.best("TripLatency/impl=actor", "p50-ns")}, {"p99", p99, root.best("TripLatency/impl=actor", "p99-ns")}} {
		t := upTo("Trip visible in State() within 50 µs ("+q.name+", idle)", q.v, q.best, 50e3, math.NaN(), "")
		ts = append(ts, t)
	}
	bp99, _ := root.median("TripLatencyBusy/impl=actor", "p99-ns")
	ts = append(ts, upTo("Trip visible in State() within 50 µs (p99, every P busy on other breakers' fast paths)", bp99,
		root.best("TripLatencyBusy/impl=actor", "p99-ns"), 50e3, math.NaN(), ""))
	return ts
}

// drawChart plots the Parallel medians against the number of goroutines.
func drawChart(r *results, procs int, path string) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Closed path, every call succeeds, RunParallel (GOMAXPROCS=%d)", procs)
	p.X.Label.Text = "goroutines (SetParallelism × GOMAXPROCS)"
	p.Y.Label.Text = "ns/op, median (lower is better)"
	p.X.Scale = plot.LogScale{}
	p.Y.Scale = plot.LogScale{}
	var xt []plot.Tick
	for _, n := range parallelism {
		xt = append(xt, plot.Tick{Value: float64(n * procs), Label: strconv.Itoa(n * procs)})
	}
	p.X.Tick.Marker = plot.ConstantTicks(xt)
	p.Y.Tick.Marker = yTicks{}
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.XOffs = vg.Points(8)
	p.Legend.YOffs = -vg.Points(6)
	p.Add(plotter.NewGrid())

	series := func(prefix string) (plotter.XYs, bool) {
		var pts plotter.XYs
		for _, n := range parallelism {
			v, ok := r.median(fmt.Sprintf("%s/p=%d", prefix, n), "ns/op")
			if ok {
				pts = append(pts, plotter.XY{X: float64(n * procs), Y: v})
			}
		}
		return pts, len(pts) > 0
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, im := range impls {
		pts, ok := series("Parallel/impl=" + im)
		if !ok {
			continue
		}
		line, points, err := plotter.NewLinePoints(pts)
		if err != nil {
			return err
		}
		c := implColors[im]
		line.Color, points.Color = c, c
		line.Width = vg.Points(1.5)
		if im == "actor" {
			line.Width = vg.Points(2.5)
		}
		points.Shape = plotutil.Shape(i)
		points.Radius = vg.Points(3)
		p.Add(line, points)
		p.Legend.Add(im, line, points)
		for _, pt := range pts {
			lo, hi = math.Min(lo, pt.Y), math.Max(hi, pt.Y)
		}
	}
	for i, bl := range []string{"atomic-add", "mutex"} {
		pts, ok := series("BaselineParallel/op=" + bl)
		if !ok {
			continue
		}
		line, err := plotter.NewLine(pts)
		if err != nil {
			return err
		}
		line.Color = color.Gray{Y: 120}
		line.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
		if i == 1 {
			line.Dashes = []vg.Length{vg.Points(7), vg.Points(3)}
		}
		p.Add(line)
		p.Legend.Add("baseline: "+bl, line)
		for _, pt := range pts {
			lo, hi = math.Min(lo, pt.Y), math.Max(hi, pt.Y)
		}
	}
	if !math.IsInf(lo, 0) {
		p.Y.Min, p.Y.Max = lo/1.5, hi*12 // room for the legend at the top
	}
	p.X.Min, p.X.Max = float64(parallelism[0]*procs)/1.3, float64(parallelism[len(parallelism)-1]*procs)*1.3
	return p.Save(9*vg.Inch, 5.5*vg.Inch, path)
}

// implColors tells the implementations apart: ours in reds and blue, the
// peers in other hues.
var implColors = map[string]color.Color{
	"actor":             color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	"actor-exec":        color.RGBA{R: 0xf0, G: 0x8a, B: 0x8a, A: 0xff},
	"mutex":             color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	"gobreaker":         color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	"gobreaker-twostep": color.RGBA{R: 0xbc, G: 0xbd, B: 0x22, A: 0xff},
	"failsafe-permit":   color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	"failsafe-exec":     color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
}

// yTicks labels a log axis at 1, 2 and 5 × powers of ten.
type yTicks struct{}

func (yTicks) Ticks(min, max float64) []plot.Tick {
	var ts []plot.Tick
	for e := math.Floor(math.Log10(min)); math.Pow(10, e) <= max; e++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, e)
			if v < min || v > max {
				continue
			}
			ts = append(ts, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
		}
	}
	return ts
}
