package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlabs/breaker"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6*math.Max(1, math.Abs(b)) }

// statsRows decodes a sampler's stats update.
func rowsOf(t *testing.T, u *statsUpdate) map[string]BreakerView {
	t.Helper()
	m := make(map[string]BreakerView)
	for _, r := range u.rows {
		var v BreakerView
		if err := json.Unmarshal(r.json, &v); err != nil {
			t.Fatal(err)
		}
		m[r.name] = v
	}
	return m
}

func TestSamplerRatesAndLatency(t *testing.T) {
	mk := clock.NewMock()
	s := breaker.NewSupervisor(breaker.WithClock(mk))
	defer s.Close()
	cfg := breaker.DefaultConfig()
	cfg.SlowCallDuration = 100 * time.Millisecond // the breaker times its calls
	cfg.SlowCallRate = 1
	b, err := s.GetOrCreate("payments", cfg)
	if err != nil {
		t.Fatal(err)
	}
	o := defaultOptions()
	o.clock = mk
	sm := newSampler(s, o)

	t0 := mk.Now()
	first := rowsOf(t, sm.stats(t0))["payments"]
	if first.Rates != nil {
		t.Errorf("rates from one sample: %+v", first.Rates)
	}
	call := func(d time.Duration, fail bool) {
		err := b.Do(context.Background(), func(context.Context) error {
			mk.Add(d)
			if fail {
				return errors.New("boom")
			}
			return nil
		})
		if fail != (err != nil) {
			t.Fatalf("Do: %v", err)
		}
	}
	for range 6 {
		call(30*time.Millisecond, false)
	}
	for range 2 {
		call(200*time.Millisecond, true)
	}
	b.ForceOpen()
	for range 3 {
		if _, err := b.Acquire(context.Background()); err == nil {
			t.Fatal("admitted while forced open")
		}
	}
	b.Reset()
	mk.Set(t0.Add(time.Second))

	u := sm.stats(mk.Now())
	v, ok := rowsOf(t, u)["payments"]
	if !ok || v.Rates == nil || v.Latency == nil {
		t.Fatalf("row = %+v", v)
	}
	r := v.Rates
	if !near(r.Calls, 8) || !near(r.Failures, 2) || !near(r.Rejected, 3) || !near(r.ErrorPct, 25) ||
		!near(r.SlowPct, 25) {
		t.Errorf("rates = %+v", r)
	}
	l := v.Latency
	// 6 calls in (25ms, 50ms], 2 in (100ms, 250ms].
	if l.Count != 8 || !near(l.Mean, 72.5) || !near(l.P50, 25+25*4.0/6) || !near(l.P99, 100+150*(0.99*8-6)/2) || l.Over {
		t.Errorf("latency = %+v", l)
	}
	if h := sm.tracks["payments"].hist; len(h) != 1 || h[0] != (Point{T: t0.Add(time.Second).UnixMilli(), Calls: 8, Failures: 2}) {
		t.Errorf("history = %+v", h)
	}

	// A quiet second: the rates drop to zero (a change, so a row). Once
	// the calls have left the latency span too, the row stays the same and
	// is not sent again.
	mk.Add(time.Second)
	if v := rowsOf(t, sm.stats(mk.Now()))["payments"]; v.Rates == nil || v.Rates.Calls != 0 {
		t.Errorf("quiet second: %+v", v.Rates)
	}
	for range 10 {
		mk.Add(time.Second)
		sm.stats(mk.Now())
	}
	mk.Add(time.Second)
	if u := sm.stats(mk.Now()); len(u.rows) != 0 {
		t.Errorf("unchanged breaker sent again: %s", u.rows[0].json)
	}

	// After a pause longer than the history, the old base is not used.
	mk.Add(3 * time.Minute)
	if v := rowsOf(t, sm.stats(mk.Now()))["payments"]; v.Rates != nil {
		t.Errorf("rates across a pause: %+v", v.Rates)
	}
	if h := sm.tracks["payments"].hist; len(h) != 0 {
		t.Errorf("history older than 2 min kept: %+v", h)
	}

	// A removed breaker is reported gone.
	s.Remove("payments")
	mk.Add(time.Second)
	if u := sm.stats(mk.Now()); len(u.removed) != 1 || u.removed[0] != "payments" {
		t.Errorf("removed = %v", u.removed)
	}
}

func TestSamplerRecreatedBreakerStartsOver(t *testing.T) {
	mk := clock.NewMock()
	s := breaker.NewSupervisor(breaker.WithClock(mk))
	defer s.Close()
	b, _ := s.GetOrCreate("x", breaker.DefaultConfig())
	o := defaultOptions()
	o.clock = mk
	sm := newSampler(s, o)
	for range 5 {
		p, _ := b.Acquire(context.Background())
		p.Success()
	}
	sm.stats(mk.Now())
	s.Remove("x")
	s.GetOrCreate("x", breaker.DefaultConfig())
	mk.Add(time.Second)
	if v := rowsOf(t, sm.stats(mk.Now()))["x"]; v.Rates != nil {
		t.Errorf("rates across a re-creation (negative deltas): %+v", v.Rates)
	}
}

func TestQuantile(t *testing.T) {
	bounds := []time.Duration{10 * time.Millisecond, 20 * time.Millisecond}
	for _, tc := range []struct {
		q      float64
		counts []uint64
		want   time.Duration
		over   bool
	}{
		{0.5, []uint64{0, 0, 0}, 0, false},
		{0.5, []uint64{4, 0, 0}, 5 * time.Millisecond, false},
		{1, []uint64{4, 0, 0}, 10 * time.Millisecond, false},
		{0.5, []uint64{0, 2, 0}, 15 * time.Millisecond, false},
		{0.99, []uint64{1, 0, 1}, 20 * time.Millisecond, true},
		{0.25, []uint64{1, 0, 1}, 5 * time.Millisecond, false},
	} {
		got, over := quantile(tc.q, tc.counts, bounds)
		if got != tc.want || over != tc.over {
			t.Errorf("quantile(%v, %v) = %v, %v; want %v, %v", tc.q, tc.counts, got, over, tc.want, tc.over)
		}
	}
}
