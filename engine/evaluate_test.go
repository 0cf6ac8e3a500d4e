package engine_test

import (
	"testing"
	"time"

	"github.com/breakerlabs/breaker/engine"
)

func TestEvaluate(t *testing.T) {
	rate := func(fr, scr float64, min int) engine.Settings {
		return engine.Settings{FailureRate: fr, SlowCallRate: scr, SlowCallDuration: time.Second, MinimumCalls: min}
	}
	tests := []struct {
		name string
		s    engine.Settings
		c    engine.Counts
		want engine.Verdict
	}{
		{"nothing enabled", engine.Settings{}, engine.Counts{Calls: 9, Failures: 9, SlowCalls: 9, ConsecutiveFailures: 9}, engine.Verdict{}},
		{"consecutive below", engine.Settings{ConsecutiveFailures: 3}, engine.Counts{ConsecutiveFailures: 2}, engine.Verdict{}},
		{"consecutive at threshold", engine.Settings{ConsecutiveFailures: 3}, engine.Counts{ConsecutiveFailures: 3},
			engine.Verdict{Reason: engine.ReasonConsecutiveFailures, Count: 3}},
		{"consecutive over threshold", engine.Settings{ConsecutiveFailures: 3}, engine.Counts{ConsecutiveFailures: 4},
			engine.Verdict{Reason: engine.ReasonConsecutiveFailures, Count: 4}},
		{"consecutive ignores MinimumCalls", engine.Settings{ConsecutiveFailures: 1, MinimumCalls: 100}, engine.Counts{ConsecutiveFailures: 1},
			engine.Verdict{Reason: engine.ReasonConsecutiveFailures, Count: 1}},
		{"failure rate at threshold trips", rate(0.5, 0, 10), engine.Counts{Calls: 10, Failures: 5},
			engine.Verdict{Reason: engine.ReasonFailureRate, Rate: 0.5}},
		{"failure rate below threshold", rate(0.5, 0, 10), engine.Counts{Calls: 10, Failures: 4}, engine.Verdict{}},
		{"failure rate 0.1 at threshold", rate(0.1, 0, 10), engine.Counts{Calls: 10, Failures: 1},
			engine.Verdict{Reason: engine.ReasonFailureRate, Rate: 0.1}},
		{"failure rate 1 needs every call", rate(1, 0, 1), engine.Counts{Calls: 10, Failures: 9}, engine.Verdict{}},
		{"failure rate 1 all failed", rate(1, 0, 1), engine.Counts{Calls: 10, Failures: 10},
			engine.Verdict{Reason: engine.ReasonFailureRate, Rate: 1}},
		{"MinimumCalls-1 never trips", rate(0.5, 0.5, 10), engine.Counts{Calls: 9, Failures: 9, SlowCalls: 9}, engine.Verdict{}},
		{"MinimumCalls exactly", rate(0.5, 0, 10), engine.Counts{Calls: 10, Failures: 10},
			engine.Verdict{Reason: engine.ReasonFailureRate, Rate: 1}},
		{"empty window never trips", rate(0.5, 0.5, 0), engine.Counts{}, engine.Verdict{}},
		{"MinimumCalls 0 one failure", rate(0.5, 0, 0), engine.Counts{Calls: 1, Failures: 1},
			engine.Verdict{Reason: engine.ReasonFailureRate, Rate: 1}},
		{"slow-call rate at threshold", rate(0, 0.3, 10), engine.Counts{Calls: 10, SlowCalls: 3},
			engine.Verdict{Reason: engine.ReasonSlowCallRate, Rate: 0.3}},
		{"slow-call rate below threshold", rate(0, 0.3, 10), engine.Counts{Calls: 10, SlowCalls: 2}, engine.Verdict{}},
		{"slow-call rate needs SlowCallDuration",
			engine.Settings{SlowCallRate: 0.1, MinimumCalls: 1}, engine.Counts{Calls: 10, SlowCalls: 10}, engine.Verdict{}},
		{"consecutive precedes failure rate",
			engine.Settings{ConsecutiveFailures: 3, FailureRate: 0.5}, engine.Counts{Calls: 4, Failures: 4, ConsecutiveFailures: 4},
			engine.Verdict{Reason: engine.ReasonConsecutiveFailures, Count: 4}},
		{"failure rate precedes slow-call rate", rate(0.5, 0.5, 2), engine.Counts{Calls: 4, Failures: 2, SlowCalls: 4},
			engine.Verdict{Reason: engine.ReasonFailureRate, Rate: 0.5}},
		{"slow-call rate when failure rate holds not", rate(0.6, 0.5, 2), engine.Counts{Calls: 4, Failures: 2, SlowCalls: 2},
			engine.Verdict{Reason: engine.ReasonSlowCallRate, Rate: 0.5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.Evaluate(tt.c); got != tt.want {
				t.Errorf("Evaluate(%+v) = %+v, want %+v", tt.c, got, tt.want)
			}
		})
	}
}

func TestRates(t *testing.T) {
	s := engine.Settings{MinimumCalls: 4}
	tests := []struct {
		name       string
		c          engine.Counts
		fail, slow float64
	}{
		{"empty", engine.Counts{}, -1, -1},
		{"below MinimumCalls", engine.Counts{Calls: 3, Failures: 3, SlowCalls: 3}, -1, -1},
		{"at MinimumCalls", engine.Counts{Calls: 4, Failures: 1, SlowCalls: 2}, 0.25, 0.5},
		{"no failures", engine.Counts{Calls: 8}, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, sl := s.Rates(tt.c)
			if f != tt.fail || sl != tt.slow {
				t.Errorf("Rates(%+v) = %v, %v; want %v, %v", tt.c, f, sl, tt.fail, tt.slow)
			}
		})
	}
	t.Run("MinimumCalls 0 empty", func(t *testing.T) {
		var z engine.Settings
		if f, sl := z.Rates(engine.Counts{}); f != -1 || sl != -1 {
			t.Errorf("Rates(empty) = %v, %v; want -1, -1", f, sl)
		}
	})
}
