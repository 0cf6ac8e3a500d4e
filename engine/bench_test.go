package engine_test

import (
	"testing"
	"time"

	"github.com/breakerlabs/breaker/engine"
)

var benchWindows = []struct {
	name string
	w    engine.Window
}{
	{"count", engine.Window{Kind: engine.CountBased, Size: 100}},
	{"time", engine.Window{Kind: engine.TimeBased, Duration: 10 * time.Second, Buckets: 10}},
}

// closedCalls returns a Closed machine over w whose thresholds never trip,
// and a function that reports its i-th call: 1000 calls a second (so time
// buckets roll over), a quarter of them failed, a third of them slow.
func closedCalls(w engine.Window) func(i int) (engine.Transition, bool) {
	s := engine.Settings{
		Window:              w,
		MinimumCalls:        10,
		ConsecutiveFailures: 1 << 30,
		FailureRate:         1, // every call in the window would have to fail
		SlowCallDuration:    time.Second,
		SlowCallRate:        1,
		OpenTimeout:         time.Second,
		HalfOpen:            engine.HalfOpenPolicy{MaxProbes: 1, SuccessThreshold: 1},
	}
	now := t0
	m := engine.NewMachine(s, now)
	tk, _ := m.Admit(now)
	outcomes := [...]engine.Outcome{engine.Success, engine.Failure, engine.Success, engine.Success}
	return func(i int) (engine.Transition, bool) {
		now = now.Add(time.Millisecond)
		return m.Report(now, tk, outcomes[i%len(outcomes)], time.Duration(i%3)*600*time.Millisecond)
	}
}

// BenchmarkRecordEvaluate measures the Closed-state bookkeeping a driver
// does per call: Report records the outcome in the window and evaluates
// the trip conditions, every time in full since nothing trips.
func BenchmarkRecordEvaluate(b *testing.B) {
	for _, w := range benchWindows {
		b.Run(w.name, func(b *testing.B) {
			call := closedCalls(w.w)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if tr, counted := call(i); tr.Happened() || !counted {
					b.Fatalf("call %d: transition %+v, counted %v", i, tr, counted)
				}
			}
		})
	}
}

// TestRecordEvaluateAllocs keeps BenchmarkRecordEvaluate's 0 allocs/op
// true in every `go test` run.
func TestRecordEvaluateAllocs(t *testing.T) {
	for _, w := range benchWindows {
		t.Run(w.name, func(t *testing.T) {
			call := closedCalls(w.w)
			i := 0
			allocs := testing.AllocsPerRun(10_000, func() {
				if tr, counted := call(i); tr.Happened() || !counted {
					t.Fatalf("call %d: transition %+v, counted %v", i, tr, counted)
				}
				i++
			})
			if allocs != 0 {
				t.Errorf("Report allocates %v times per call, want 0", allocs)
			}
		})
	}
}
