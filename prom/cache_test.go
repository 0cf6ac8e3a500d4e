package prom_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/breakerlabs/breaker"
	"github.com/breakerlabs/breaker/prom"
)

// Tests of the label pairs the collector keeps per breaker from one
// scrape to the next: a later scrape must never show a label or a value
// of a breaker that is gone, nor another breaker's label.

// TestCacheRecreatedBreakerIsReadAfresh: a breaker removed and created
// again under the same name (with another configuration) is read from the
// new breaker by the same collector, not from the entry of the old one.
func TestCacheRecreatedBreakerIsReadAfresh(t *testing.T) {
	s, mk := newSupervisor(t)
	c := prom.NewCollector(s)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)

	old := getOrCreate(t, s, "svc") // measures durations: histograms
	call(t, old, mk, 20*time.Millisecond, success)
	old.ForceOpen()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := value(mfs, "circuitbreaker_state", map[string]string{"name": "svc", "state": "forced-open"}); v != 1 {
		t.Fatalf("old svc: forced-open = %v, want 1", v)
	}

	if !s.Remove("svc") {
		t.Fatal("Remove(svc) = false")
	}
	if _, err := s.GetOrCreate("svc", breaker.DefaultConfig()); err != nil { // no histograms
		t.Fatal(err)
	}
	want := `
# HELP circuitbreaker_calls_total Calls through the circuit breaker, by outcome; not_permitted counts rejected calls.
# TYPE circuitbreaker_calls_total counter
circuitbreaker_calls_total{kind="failed",name="svc"} 0
circuitbreaker_calls_total{kind="ignored",name="svc"} 0
circuitbreaker_calls_total{kind="not_permitted",name="svc"} 0
circuitbreaker_calls_total{kind="successful",name="svc"} 0
# HELP circuitbreaker_state The state of the circuit breaker: 1 for the current state, 0 for the others.
# TYPE circuitbreaker_state gauge
circuitbreaker_state{name="svc",state="closed"} 1
circuitbreaker_state{name="svc",state="disabled"} 0
circuitbreaker_state{name="svc",state="forced-open"} 0
circuitbreaker_state{name="svc",state="half-open"} 0
circuitbreaker_state{name="svc",state="open"} 0
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want),
		"circuitbreaker_state", "circuitbreaker_calls_total", "circuitbreaker_calls_seconds", "circuitbreaker_transitions_total"); err != nil {
		t.Fatal(err)
	}
	if got := testutil.CollectAndCount(c); got != 17 {
		t.Errorf("%d series for one DefaultConfig breaker, want 17", got)
	}
}

// TestCacheInvalidNameLabelFollowsOtherNames: the name label of a name that
// is not valid UTF-8 depends on the other names (a valid name keeps its
// own label, the invalid one takes a suffix), so a breaker's label can
// change between two scrapes by the same collector without the breaker
// changing. Every series of each breaker must carry its current label.
func TestCacheInvalidNameLabelFollowsOtherNames(t *testing.T) {
	s, _ := newSupervisor(t)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(prom.NewCollector(s))

	bad := getOrCreate(t, s, "\xff")
	bad.ForceOpen()
	gatherLabels := func(step string, want map[string]string) {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatalf("%s: Gather: %v", step, err)
		}
		// The state of each label, which tells the breakers apart.
		got := map[string]string{}
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				name := labelOf(m, "name")
				if _, ok := want[name]; !ok {
					t.Errorf("%s: %s has a series with name label %q, want one of %q", step, mf.GetName(), name, want)
				}
				if mf.GetName() == "circuitbreaker_state" && m.GetGauge().GetValue() == 1 {
					got[name] = labelOf(m, "state")
				}
			}
		}
		for label, state := range want {
			if got[label] != state {
				t.Errorf("%s: name label %q has state %q, want %q (all: %q)", step, label, got[label], state, got)
			}
			// 17, the three histograms (testConfig measures durations)
			// and a transition counter unless still closed.
			wantSeries := 21
			if state == "closed" {
				wantSeries = 20
			}
			if n := series(mfs, label); n != wantSeries {
				t.Errorf("%s: name label %q has %d series, want %d", step, label, n, wantSeries)
			}
		}
	}
	gatherLabels("alone", map[string]string{"\uFFFD": "forced-open"})

	// A valid breaker named like the invalid one's label takes it.
	getOrCreate(t, s, "\uFFFD")
	gatherLabels("beside a valid namesake", map[string]string{"\uFFFD": "closed", "\uFFFD (2)": "forced-open"})

	// A second invalid name with the same replacement takes the next suffix.
	getOrCreate(t, s, "\xfe").Disable()
	gatherLabels("two invalid", map[string]string{"\uFFFD": "closed", "\uFFFD (2)": "disabled", "\uFFFD (3)": "forced-open"})

	// Without the valid one, each invalid name moves back down.
	if !s.Remove("\uFFFD") {
		t.Fatal("Remove = false")
	}
	gatherLabels("namesake removed", map[string]string{"\uFFFD": "disabled", "\uFFFD (2)": "forced-open"})
}

// TestCacheHostileNames: names with the characters the text format must
// escape, and ones that look like other labels, come back out of a scrape
// exactly as they went in, each with its own values.
func TestCacheHostileNames(t *testing.T) {
	s, _ := newSupervisor(t)
	names := []string{`a"b`, "line\nbreak", `back\slash`, `x",kind="failed`, "}", "", "name", "\u202e"}
	want := map[string]int{}
	for i, n := range names {
		if n == "" {
			continue // GetOrCreate refuses an empty name
		}
		b := getOrCreate(t, s, n)
		b.ForceOpen()
		for range i {
			if _, err := b.Acquire(context.Background()); err == nil {
				t.Fatalf("%q: Acquire admitted a call while forced open", n)
			}
		}
		want[n] = i
	}
	c := prom.NewCollector(s)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	for scrape := range 2 { // the second from the cache
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for n, rejected := range want {
			v, ok := value(mfs, "circuitbreaker_calls_total", map[string]string{"name": n, "kind": "not_permitted"})
			if !ok || v != float64(rejected) {
				t.Errorf("scrape %d: calls_total{name=%q,kind=not_permitted} = %v (present %v), want %d", scrape, n, v, ok, rejected)
			}
			// 17, three histograms and the closed→forced-open counter.
			if got := series(mfs, n); got != 21 {
				t.Errorf("scrape %d: %q has %d series, want 21", scrape, n, got)
			}
		}
	}
}

// TestCacheConcurrentScrapes scrapes one collector from two registries
// and three goroutines while breakers are created, forced open, reset and
// removed, for the race detector; every scrape must be consistent: each
// name label has every series a DefaultConfig breaker has, exactly one
// state at 1, and is the name of a breaker that existed.
func TestCacheConcurrentScrapes(t *testing.T) {
	s := breaker.NewSupervisor()
	defer s.Close()
	c := prom.NewCollector(s)
	regs := []*prometheus.Registry{prometheus.NewPedanticRegistry(), prometheus.NewRegistry()}
	for _, r := range regs {
		r.MustRegister(c)
	}
	names := map[string]bool{}
	for i := range 8 {
		names[fmt.Sprintf("svc-%d", i)] = true
	}
	perFamily := map[string]int{
		"circuitbreaker_state": 5, "circuitbreaker_calls_total": 4, "circuitbreaker_buffered_calls": 2,
		"circuitbreaker_slow_calls": 2, "circuitbreaker_failure_rate": 1, "circuitbreaker_slow_call_rate": 1,
		"circuitbreaker_fallbacks_total": 1, "circuitbreaker_timeouts_total": 1,
	}

	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(done)
		cfg := breaker.DefaultConfig()
		for i := range 400 {
			name := fmt.Sprintf("svc-%d", i%8)
			b, err := s.GetOrCreate(name, cfg)
			if err != nil {
				t.Error(err)
				return
			}
			switch i % 5 {
			case 0:
				b.ForceOpen()
			case 1:
				b.Reset()
			case 2:
				s.Remove(name)
			default:
				if p, err := b.Acquire(context.Background()); err == nil {
					p.Failure()
				}
			}
		}
	})
	for g := range 3 {
		wg.Go(func() {
			reg := regs[g%len(regs)]
			for scrapes := 0; ; scrapes++ {
				select {
				case <-done:
					if scrapes > 0 {
						return
					}
				default:
				}
				mfs, err := reg.Gather()
				if err != nil {
					t.Error(err)
					return
				}
				count := map[string]map[string]int{} // name → family → series
				ones := map[string]int{}
				for _, mf := range mfs {
					for _, m := range mf.GetMetric() {
						name := labelOf(m, "name")
						if !names[name] {
							t.Errorf("series of %s with name label %q", mf.GetName(), name)
							return
						}
						if count[name] == nil {
							count[name] = map[string]int{}
						}
						count[name][mf.GetName()]++
						if mf.GetName() == "circuitbreaker_state" && m.GetGauge().GetValue() == 1 {
							ones[name]++
						}
					}
				}
				for name, fams := range count {
					for f, n := range perFamily {
						if fams[f] != n {
							t.Errorf("%s: %d series of %s, want %d", name, fams[f], f, n)
							return
						}
					}
					if ones[name] != 1 {
						t.Errorf("%s: %d states at 1, want 1", name, ones[name])
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

// labelOf returns the value of m's label l, "" if it has none.
func labelOf(m *dto.Metric, l string) string {
	for _, lp := range m.GetLabel() {
		if lp.GetName() == l {
			return lp.GetValue()
		}
	}
	return ""
}
