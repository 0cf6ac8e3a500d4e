package engine_test

import (
	"testing"
	"time"

	"github.com/breakerlabs/breaker/engine"
)

// t0 is a bucket edge for every bucket width the tests use that divides
// 10s: 1.7e9 seconds since the Unix epoch.
var t0 = time.Unix(1_700_000_000, 0).UTC()

// windowStep is one step of a window script: at time at, either record
// one call (record) or only read; then the counts must be want.
type windowStep struct {
	at      time.Duration // offset from the script's base time
	record  bool
	outcome engine.Outcome
	slow    bool
	want    engine.Counts
}

// countingSettings never trips (a failure streak of a million) and marks
// calls of a second or more as slow.
func countingSettings(w engine.Window) engine.Settings {
	return engine.Settings{
		Window:              w,
		ConsecutiveFailures: 1_000_000,
		SlowCallDuration:    time.Second,
		OpenTimeout:         time.Second,
		HalfOpen:            engine.HalfOpenPolicy{MaxProbes: 1},
	}
}

func runWindowScript(t *testing.T, w engine.Window, base time.Time, steps []windowStep) {
	t.Helper()
	m := engine.NewMachine(countingSettings(w), base.Add(steps[0].at))
	for i, st := range steps {
		now := base.Add(st.at)
		if st.record {
			tk, rej := m.Admit(now)
			if rej != engine.Admitted {
				t.Fatalf("step %d: Admit rejected: %v", i, rej)
			}
			d := time.Duration(0)
			if st.slow {
				d = time.Second
			}
			if tr, counted := m.Report(now, tk, st.outcome, d); tr.Happened() || counted == (st.outcome == engine.Ignore) {
				t.Fatalf("step %d: Report(%v) = %+v, counted %v", i, st.outcome, tr, counted)
			}
		}
		if got := m.Counts(now); got != st.want {
			t.Fatalf("step %d (at %v, record %v): Counts = %+v, want %+v", i, st.at, st.record, got, st.want)
		}
	}
	if m.State() != engine.Closed {
		t.Fatalf("state = %v, want closed", m.State())
	}
}

func rec(at time.Duration, o engine.Outcome, slow bool, want engine.Counts) windowStep {
	return windowStep{at: at, record: true, outcome: o, slow: slow, want: want}
}

func read(at time.Duration, want engine.Counts) windowStep {
	return windowStep{at: at, want: want}
}

// counts builds a Counts: calls, failures, slow calls, failures in a row.
func counts(calls, fails, slow, consec int) engine.Counts {
	return engine.Counts{Calls: calls, Failures: fails, SlowCalls: slow, ConsecutiveFailures: consec}
}

// slowFails sets the slow failures of c.
func slowFails(c engine.Counts, n int) engine.Counts {
	c.SlowFailures = n
	return c
}

func TestCountWindow(t *testing.T) {
	tests := []struct {
		name  string
		size  int
		steps []windowStep
	}{
		{"fills then wraps", 3, []windowStep{
			rec(0, S, false, counts(1, 0, 0, 0)),
			rec(0, F, false, counts(2, 1, 0, 1)),
			rec(0, F, true, slowFails(counts(3, 2, 1, 2), 1)),
			rec(0, S, false, slowFails(counts(3, 2, 1, 0), 1)), // evicts the first success
			rec(0, S, false, slowFails(counts(3, 1, 1, 0), 1)), // evicts a failure
			rec(0, S, false, counts(3, 0, 0, 0)),               // evicts the slow failure
			rec(0, F, true, slowFails(counts(3, 1, 1, 1), 1)),
		}},
		{"ignored calls take no slot", 2, []windowStep{
			rec(0, F, false, counts(1, 1, 0, 1)),
			rec(0, I, true, counts(1, 1, 0, 1)),
			rec(0, S, false, counts(2, 1, 0, 0)),
			rec(0, I, false, counts(2, 1, 0, 0)),
			rec(0, F, false, counts(2, 1, 0, 1)),
		}},
		{"failures in a row cross the window edge", 2, []windowStep{
			rec(0, F, false, counts(1, 1, 0, 1)),
			rec(0, F, false, counts(2, 2, 0, 2)),
			rec(0, F, false, counts(2, 2, 0, 3)),
			rec(0, F, false, counts(2, 2, 0, 4)),
		}},
		{"size 1", 1, []windowStep{
			rec(0, F, true, slowFails(counts(1, 1, 1, 1), 1)),
			rec(0, S, false, counts(1, 0, 0, 0)),
		}},
		{"size 0 acts as 1", 0, []windowStep{
			rec(0, F, false, counts(1, 1, 0, 1)),
			rec(0, F, false, counts(1, 1, 0, 2)),
		}},
		{"time does not age a count window", 2, []windowStep{
			rec(0, F, false, counts(1, 1, 0, 1)),
			read(1000*time.Hour, counts(1, 1, 0, 1)),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runWindowScript(t, engine.Window{Kind: engine.CountBased, Size: tt.size}, t0, tt.steps)
		})
	}
}

func TestTimeWindow(t *testing.T) {
	const (
		s      = time.Second
		window = 10 * s // 5 buckets of 2s
		ns     = time.Nanosecond
	)
	tenByFive := engine.Window{Kind: engine.TimeBased, Duration: window, Buckets: 5}
	tests := []struct {
		name  string
		w     engine.Window
		base  time.Time
		steps []windowStep
	}{
		{"bucket rollover", tenByFive, t0, []windowStep{
			rec(0, F, false, counts(1, 1, 0, 1)),
			read(2*s-ns, counts(1, 1, 0, 1)),
			rec(2*s, S, true, counts(2, 1, 1, 0)), // a new bucket
			read(window-ns, counts(2, 1, 1, 0)),
			read(window, counts(1, 0, 1, 0)), // the first bucket leaves
			read(window+2*s-ns, counts(1, 0, 1, 0)),
			read(window+2*s, counts(0, 0, 0, 0)),
		}},
		{"a call late in its bucket leaves one bucket early", tenByFive, t0, []windowStep{
			rec(2*s-ns, F, false, counts(1, 1, 0, 1)),
			read(window-ns, counts(1, 1, 0, 1)),
			read(window, counts(0, 0, 0, 1)),
		}},
		{"idle gap of exactly one window", tenByFive, t0, []windowStep{
			rec(3*s, F, false, counts(1, 1, 0, 1)),
			rec(3*s+window, F, false, counts(1, 1, 0, 2)),
		}},
		{"idle gap of one window minus 1ns", tenByFive, t0, []windowStep{
			rec(3*s, F, false, counts(1, 1, 0, 1)),
			rec(3*s+window-ns, F, false, counts(1, 1, 0, 2)), // 3s and 13s-1ns are 5 buckets apart
		}},
		{"idle gap of one window plus 1ns", tenByFive, t0, []windowStep{
			rec(3*s, F, false, counts(1, 1, 0, 1)),
			rec(3*s+window+ns, S, false, counts(1, 0, 0, 0)),
		}},
		{"gap of Buckets-1 buckets keeps the old bucket", tenByFive, t0, []windowStep{
			rec(0, F, false, counts(1, 1, 0, 1)),
			rec(8*s, F, false, counts(2, 2, 0, 2)),
			rec(9*s, F, false, counts(3, 3, 0, 3)),
			rec(18*s, S, false, counts(1, 0, 0, 0)), // 4 → 9: a whole window later
		}},
		{"idle gap of a million windows", tenByFive, t0, []windowStep{
			rec(0, F, true, slowFails(counts(1, 1, 1, 1), 1)),
			rec(s, F, false, slowFails(counts(2, 2, 1, 2), 1)),
			read(1_000_000*window, counts(0, 0, 0, 2)),
			rec(1_000_000*window, S, false, counts(1, 0, 0, 0)),
			rec(1_000_000*window+ns, F, false, counts(2, 1, 0, 1)),
			read(1_000_000*window+window-ns, counts(2, 1, 0, 1)),
			read(1_000_000*window+window, counts(0, 0, 0, 1)),
		}},
		{"clock going backwards is clamped", tenByFive, t0, []windowStep{
			rec(5*s, F, false, counts(1, 1, 0, 1)),
			rec(s, F, false, counts(2, 2, 0, 2)), // recorded in the 5s bucket
			read(0, counts(2, 2, 0, 2)),
			read(12*s, counts(2, 2, 0, 2)), // unclamped, the second call would be gone
			read(13*s, counts(2, 2, 0, 2)),
			read(14*s, counts(0, 0, 0, 2)),
			read(s, counts(2, 2, 0, 2)), // a read changes nothing: as of the 5s bucket again
			rec(20*s, S, false, counts(1, 0, 0, 0)),
			read(s, counts(1, 0, 0, 0)), // a record moves the window: the 5s bucket is gone
		}},
		{"a read leaves out what has expired by then, and clears nothing", tenByFive, t0, []windowStep{
			rec(0, F, false, counts(1, 1, 0, 1)),
			rec(4*s, S, true, counts(2, 1, 1, 0)),
			read(10*s, counts(1, 0, 1, 0)), // the 0s bucket has expired, the 4s one has not
			read(4*s, counts(2, 1, 1, 0)),  // an older read still sees both
			read(13*s, counts(1, 0, 1, 0)),
			read(14*s, counts(0, 0, 0, 0)),
			read(9*s, counts(2, 1, 1, 0)),
		}},
		{"before 1970 buckets floor", engine.Window{Kind: engine.TimeBased, Duration: 4 * s, Buckets: 2}, time.Unix(0, 0), []windowStep{
			rec(-3*s, F, false, counts(1, 1, 0, 1)), // bucket -2
			rec(-s, F, false, counts(2, 2, 0, 2)),   // bucket -1
			read(-ns, counts(2, 2, 0, 2)),
			read(0, counts(1, 1, 0, 2)), // bucket 0: -2 is out, -1 still in
			read(2*s-ns, counts(1, 1, 0, 2)),
			read(2*s, counts(0, 0, 0, 2)),
		}},
		{"width rounds down so the window is shorter", engine.Window{Kind: engine.TimeBased, Duration: window, Buckets: 3}, time.Unix(0, 0), []windowStep{
			rec(0, F, false, counts(1, 1, 0, 1)),
			read(3*3333333333*ns-ns, counts(1, 1, 0, 1)),
			read(3*3333333333*ns, counts(0, 0, 0, 1)), // 1ns before Duration
		}},
		{"one bucket", engine.Window{Kind: engine.TimeBased, Duration: window, Buckets: 1}, t0, []windowStep{
			rec(0, F, false, counts(1, 1, 0, 1)),
			rec(window-ns, S, false, counts(2, 1, 0, 0)),
			read(window, counts(0, 0, 0, 0)),
		}},
		{"1ns buckets", engine.Window{Kind: engine.TimeBased, Duration: 3, Buckets: 3}, t0, []windowStep{
			rec(0, F, false, counts(1, 1, 0, 1)),
			rec(1, F, false, counts(2, 2, 0, 2)),
			rec(2, F, false, counts(3, 3, 0, 3)),
			rec(3, S, false, counts(3, 2, 0, 0)),
			read(5, counts(1, 0, 0, 0)),
		}},
		{"zero window does not divide by zero", engine.Window{Kind: engine.TimeBased}, t0, []windowStep{
			rec(0, F, false, counts(1, 1, 0, 1)),
			read(0, counts(1, 1, 0, 1)),
			read(ns, counts(0, 0, 0, 1)),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runWindowScript(t, tt.w, tt.base, tt.steps)
		})
	}
}

func TestBucketIndex(t *testing.T) {
	tests := []struct {
		name  string
		t     time.Time
		width time.Duration
		want  int64
	}{
		{"epoch", time.Unix(0, 0), 2 * time.Second, 0},
		{"last ns of bucket 0", time.Unix(1, 999_999_999), 2 * time.Second, 0},
		{"first ns of bucket 1", time.Unix(2, 0), 2 * time.Second, 1},
		{"1ns before the epoch", time.Unix(0, -1), 2 * time.Second, -1},
		{"exactly -1 width", time.Unix(-2, 0), 2 * time.Second, -1},
		{"floor, not truncation", time.Unix(-3, 0), 2 * time.Second, -2},
		{"1ns width", time.Unix(0, 12345), 1, 12345},
		{"1ns width negative", time.Unix(0, -12345), 1, -12345},
		{"today", t0, 10 * time.Second, 170_000_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := engine.BucketIndex(tt.t, tt.width); got != tt.want {
				t.Errorf("BucketIndex(%v, %v) = %d, want %d", tt.t, tt.width, got, tt.want)
			}
		})
	}
}
