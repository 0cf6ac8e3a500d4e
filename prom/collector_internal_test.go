package prom

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/benbjohnson/clock"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/breakerlabs/breaker"
)

// collectAll returns what one Collect of c sends, written, in order.
func collectAll(t *testing.T, c prometheus.Collector) (descs []*prometheus.Desc, ms []*dto.Metric) {
	t.Helper()
	ch := make(chan prometheus.Metric)
	go func() { c.Collect(ch); close(ch) }()
	for m := range ch {
		var out dto.Metric
		if err := m.Write(&out); err != nil {
			t.Fatal(err)
		}
		descs, ms = append(descs, m.Desc()), append(ms, &out)
	}
	return descs, ms
}

// TestCollectSendsFamiliesSorted: within each family, Collect sends the
// series in the order the registry sorts them (by label values, labels in
// name order), with constant labels, histograms, transitions and names
// that are not valid UTF-8 (whose label sorts elsewhere than the name).
// The registry would sort them anyway; sent sorted, its sort is one pass.
func TestCollectSendsFamiliesSorted(t *testing.T) {
	s := breaker.NewSupervisor(breaker.WithClock(clock.NewMock()))
	defer s.Close()
	cfg := breaker.DefaultConfig()
	cfg.SlowCallDuration = 1 // measures durations: histograms
	for i, name := range []string{"b", "a", "\xffz", "c\xfe", "zz", "\uFFFD", "m"} {
		b, err := s.GetOrCreate(name, cfg)
		if err != nil {
			t.Fatal(err)
		}
		switch i % 3 {
		case 0:
			b.ForceOpen()
			b.Reset()
		case 1:
			b.Disable()
		}
		if p, err := b.Acquire(context.Background()); err == nil {
			p.Success()
		}
	}
	c := NewCollector(s, WithConstLabels(prometheus.Labels{"a_first": "x", "m_middle": "y", "z_last": "z"}))
	descs, ms := collectAll(t, c)
	last := map[*prometheus.Desc]*dto.Metric{}
	seen := map[*prometheus.Desc]int{}
	for i, m := range ms {
		d := descs[i]
		seen[d]++
		// Labels sorted by name, as the registry wants them (it copies and
		// sorts those that are not, allocating).
		for j := 1; j < len(m.GetLabel()); j++ {
			if m.GetLabel()[j-1].GetName() >= m.GetLabel()[j].GetName() {
				t.Errorf("%s: labels %v not sorted by name", d, m.GetLabel())
				break
			}
		}
		if p := last[d]; p != nil && !labelsLess(p, m) {
			t.Errorf("%s: %v sent after %v", d, m.GetLabel(), p.GetLabel())
		}
		last[d] = m
	}
	for _, d := range c.(*collector).descs {
		if seen[d] == 0 {
			t.Errorf("no series of %s", d)
		}
	}
	// The constant labels merged into every set where their names sort
	// (before, between and after the variable ones): a pedantic registry
	// checks each series' labels against its descriptor.
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
}

// labelsLess is the registry's order of two series of one family.
func labelsLess(a, b *dto.Metric) bool {
	for i, lp := range a.GetLabel() {
		if va, vb := lp.GetValue(), b.GetLabel()[i].GetValue(); va != vb {
			return va < vb
		}
	}
	return false
}

// TestCacheForgetsRemovedBreakers: the collector keeps an entry only for
// the breakers the supervisor has at its last scrape.
func TestCacheForgetsRemovedBreakers(t *testing.T) {
	s := breaker.NewSupervisor(breaker.WithClock(clock.NewMock()))
	defer s.Close()
	for i := range 10 {
		if _, err := s.GetOrCreate(fmt.Sprint(i), breaker.DefaultConfig()); err != nil {
			t.Fatal(err)
		}
	}
	c := NewCollector(s).(*collector)
	cached := func() int {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.cache)
	}
	collectAll(t, c)
	if n := cached(); n != 10 {
		t.Fatalf("%d entries after the first scrape of 10 breakers, want 10", n)
	}
	s.Remove("3")
	s.Remove("4")
	if _, err := s.GetOrCreate("new", breaker.DefaultConfig()); err != nil {
		t.Fatal(err)
	}
	s.Remove("5")
	if _, err := s.GetOrCreate("5", breaker.DefaultConfig()); err != nil { // another breaker, same name
		t.Fatal(err)
	}
	collectAll(t, c)
	if n := cached(); n != 9 {
		t.Errorf("%d entries after a scrape of 9 breakers, want 9", n)
	}
	s.Close()
	collectAll(t, c)
	if n := cached(); n != 0 {
		t.Errorf("%d entries after a scrape of a closed supervisor, want 0", n)
	}
}

// TestSharedValues: values with a shared message and values without one
// are written exactly, -0 included.
func TestSharedValues(t *testing.T) {
	for _, v := range []float64{-1, 0, 1, 2, 100, sharedMax, sharedMax + 1, 1e12, 0.5, -0.5, -2, 25.000001} {
		g, c := gaugeOf(&v), counterOf(&v)
		if g.GetValue() != v || c.GetValue() != v {
			t.Errorf("gaugeOf(%v) = %v, counterOf = %v", v, g.GetValue(), c.GetValue())
		}
	}
	negZero := math.Copysign(0, -1)
	if g := gaugeOf(&negZero); !math.Signbit(g.GetValue()) {
		t.Errorf("gaugeOf(-0) = %v, want -0", g.GetValue())
	}
}

// TestSeriesMetricNumbers: seriesMetric[i] is the row's series i.
func TestSeriesMetricNumbers(t *testing.T) {
	for i, f := range seriesMetric {
		if got := f(&row{}).(interface{ index() int }).index(); got != i {
			t.Errorf("seriesMetric[%d] is series %d", i, got)
		}
	}
}
