package engine_test

import (
	"testing"
	"time"

	"github.com/breakerlabs/breaker/engine"
)

// The fuzz scripts of TestMachineAgainstModel reconfigure machines in
// every state, and some reconfigurations trip: the model comparison
// covers Reconfigure, not just its no-op paths.
func TestFuzzScriptsReconfigure(t *testing.T) {
	trips := 0
	for _, script := range randomScripts(2, 400) {
		checkScript(t, script, func(tr engine.Transition) {
			if tr.Reason == engine.ReasonReconfigured {
				trips++
			}
		})
	}
	if trips < 5 {
		t.Fatalf("only %d reconfigurations tripped in 400 scripts", trips)
	}
}

func countSettings(size int) engine.Settings {
	return engine.Settings{
		Window:            engine.Window{Kind: engine.CountBased, Size: size},
		MinimumCalls:      1,
		FailureRate:       1,
		OpenTimeout:       time.Second,
		BackoffMultiplier: 2,
		MaxOpenTimeout:    time.Minute,
		HalfOpen:          engine.HalfOpenPolicy{MaxProbes: 2, Mode: engine.Strict, SuccessThreshold: 2, MaxWait: 10 * time.Second},
	}
}

// record reports outcomes in Closed: 'f' a failure, 's' a success.
func record(t *testing.T, m *engine.Machine, at time.Time, outcomes string) {
	t.Helper()
	for _, o := range outcomes {
		tk, rej := m.Admit(at)
		if rej != engine.Admitted {
			t.Fatalf("Admit: %v", rej)
		}
		out := engine.Success
		if o == 'f' {
			out = engine.Failure
		}
		if tr, _ := m.Report(at, tk, out, 0); tr.Happened() {
			t.Fatalf("unexpected trip %+v", tr)
		}
	}
}

func TestReconfigureCountWindow(t *testing.T) {
	t0 := time.Unix(1000, 0)
	cases := []struct {
		name     string
		size     int
		calls    string
		newSize  int
		want     engine.Counts
		wantTrip bool
	}{
		{"same size keeps everything", 5, "sfsfs", 5, engine.Counts{Calls: 5, Failures: 2}, false},
		{"larger keeps everything", 4, "ssfs", 10, engine.Counts{Calls: 4, Failures: 1}, false},
		{"smaller keeps the most recent", 6, "ffffss", 2, engine.Counts{Calls: 2}, false},
		{"smaller after wrapping", 3, "fssssf", 2, engine.Counts{Calls: 2, Failures: 1, ConsecutiveFailures: 1}, false},
		{"empty stays empty", 3, "", 7, engine.Counts{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := countSettings(tc.size)
			s.FailureRate, s.MinimumCalls = 0, 0
			s.ConsecutiveFailures = 100
			m := engine.NewMachine(s, t0)
			record(t, m, t0, tc.calls)
			epoch := m.Epoch()
			s.Window.Size = tc.newSize
			if tr := m.Reconfigure(t0, s); tr.Happened() {
				t.Fatalf("Reconfigure tripped: %+v", tr)
			}
			if got := m.Counts(t0); got != tc.want {
				t.Fatalf("Counts = %+v, want %+v", got, tc.want)
			}
			if m.Epoch() != epoch || m.State() != engine.Closed {
				t.Fatalf("state %v epoch %d, want Closed epoch %d", m.State(), m.Epoch(), epoch)
			}
			// The resized window goes on sliding at its new size.
			record(t, m, t0, "sssssssssss")
			if got := m.Counts(t0); got.Calls != tc.newSize || got.Failures != 0 {
				t.Fatalf("after more calls: %+v, want %d calls, no failures", got, tc.newSize)
			}
		})
	}
}

func TestReconfigureTimeWindowKeepsBucketsThatFit(t *testing.T) {
	t0 := time.Unix(1000, 0)
	s := countSettings(1)
	s.FailureRate, s.ConsecutiveFailures, s.MinimumCalls = 0, 100, 0
	s.Window = engine.Window{Kind: engine.TimeBased, Duration: 10 * time.Second, Buckets: 10}
	m := engine.NewMachine(s, t0)
	for i := range 10 { // one failure a second, t0 … t0+9s
		record(t, m, t0.Add(time.Duration(i)*time.Second), "f")
	}
	now := t0.Add(9*time.Second + 500*time.Millisecond)
	if got := m.Counts(now).Calls; got != 10 {
		t.Fatalf("before: %d calls, want 10", got)
	}
	// Shorter: 4s in 2s buckets. The buckets of t0+6s … t0+9s fit.
	s.Window = engine.Window{Kind: engine.TimeBased, Duration: 4 * time.Second, Buckets: 2}
	m.Reconfigure(now, s)
	if got := m.Counts(now).Calls; got != 4 {
		t.Fatalf("after shortening to 4s: %d calls, want 4", got)
	}
	// Longer again: what was dropped stays dropped; what was kept stays.
	s.Window = engine.Window{Kind: engine.TimeBased, Duration: time.Minute, Buckets: 60}
	m.Reconfigure(now, s)
	if got := m.Counts(now).Calls; got != 4 {
		t.Fatalf("after lengthening to 1m: %d calls, want 4", got)
	}
	// The kept calls leave the window with the start of the 2s bucket
	// they were moved to: those of t0+6s and t0+7s at t0+66s, not later.
	if got := m.Counts(t0.Add(65*time.Second + 900*time.Millisecond)).Calls; got != 4 {
		t.Fatalf("at t0+65.9s: %d calls, want 4", got)
	}
	if got := m.Counts(t0.Add(66 * time.Second)).Calls; got != 2 {
		t.Fatalf("at t0+66s: %d calls, want 2", got)
	}
	// Another kind: empty, failures in a row kept.
	s.Window = engine.Window{Kind: engine.CountBased, Size: 5}
	m.Reconfigure(t0.Add(66*time.Second), s)
	if got := m.Counts(t0.Add(66 * time.Second)); got.Calls != 0 || got.ConsecutiveFailures != 10 {
		t.Fatalf("after switching to a count window: %+v, want an empty window and 10 failures in a row", got)
	}
}

func TestReconfigureTripsWithReasonReconfigured(t *testing.T) {
	t0 := time.Unix(1000, 0)
	s := countSettings(10)
	s.FailureRate, s.MinimumCalls = 0.5, 4
	m := engine.NewMachine(s, t0)
	record(t, m, t0, "ssfsf") // 40 %
	s.FailureRate = 0.4
	tr := m.Reconfigure(t0.Add(time.Second), s)
	if tr.From != engine.Closed || tr.To != engine.Open || tr.Reason != engine.ReasonReconfigured || tr.Rate != 0.4 {
		t.Fatalf("Reconfigure = %+v, want Closed → Open (reconfigured) at rate 0.4", tr)
	}
	if !tr.Deadline.Equal(t0.Add(2*time.Second)) || m.Attempt() != 0 {
		t.Fatalf("deadline %v attempt %d, want %v and 0", tr.Deadline, m.Attempt(), t0.Add(2*time.Second))
	}
}

func TestReconfigureOpenRetimes(t *testing.T) {
	t0 := time.Unix(1000, 0)
	s := countSettings(1)
	m := engine.NewMachine(s, t0)
	record0 := func() {
		tk, _ := m.Admit(t0)
		m.Report(t0, tk, engine.Failure, 0)
	}
	record0()
	if m.State() != engine.Open || !m.Deadline().Equal(t0.Add(time.Second)) {
		t.Fatalf("not open until t0+1s: %v %v", m.State(), m.Deadline())
	}
	epoch := m.Epoch()
	s.OpenTimeout = 30 * time.Second
	m.Reconfigure(t0.Add(500*time.Millisecond), s)
	if !m.Deadline().Equal(t0.Add(30*time.Second)) || m.Epoch() != epoch || m.State() != engine.Open {
		t.Fatalf("longer timeout: deadline %v epoch %d", m.Deadline(), m.Epoch())
	}
	// A timeout already over: due now.
	s.OpenTimeout = time.Second
	now := t0.Add(5 * time.Second)
	m.Reconfigure(now, s)
	if !m.Deadline().Equal(now) {
		t.Fatalf("timeout already over: deadline %v, want %v", m.Deadline(), now)
	}
	if tr := m.TickDue(now); tr.To != engine.HalfOpen || !tr.At.Equal(now) {
		t.Fatalf("TickDue = %+v, want HalfOpen now", tr)
	}
}

func TestReconfigureHalfOpenKeepsProbes(t *testing.T) {
	t0 := time.Unix(1000, 0)
	s := countSettings(1)
	s.HalfOpen.MaxProbes = 3
	m := engine.NewMachine(s, t0)
	tk, _ := m.Admit(t0)
	m.Report(t0, tk, engine.Failure, 0)
	now := t0.Add(time.Second)
	m.TickDue(now)
	var probes []engine.Ticket
	for range 3 {
		p, rej := m.Admit(now)
		if rej != engine.Admitted {
			t.Fatal(rej)
		}
		probes = append(probes, p)
	}
	epoch := m.Epoch()
	s.HalfOpen.MaxProbes = 1
	s.HalfOpen.SuccessThreshold = 1
	s.HalfOpen.MaxWait = 0
	if tr := m.Reconfigure(now, s); tr.Happened() {
		t.Fatalf("Reconfigure in HalfOpen transitioned: %+v", tr)
	}
	if m.InFlight() != 3 || m.Epoch() != epoch || !m.Deadline().IsZero() {
		t.Fatalf("in flight %d epoch %d deadline %v; want 3, %d, none", m.InFlight(), m.Epoch(), m.Deadline(), epoch)
	}
	if _, rej := m.Admit(now); rej != engine.RejectTooMany {
		t.Fatalf("Admit with 3 in flight and MaxProbes 1: %v", rej)
	}
	m.Report(now, probes[0], engine.Ignore, 0)
	m.Report(now, probes[1], engine.Ignore, 0)
	if _, rej := m.Admit(now); rej != engine.RejectTooMany {
		t.Fatalf("Admit with 1 in flight and MaxProbes 1: %v", rej)
	}
	// The new policy judges the next report: one success closes.
	if tr, _ := m.Report(now, probes[2], engine.Success, 0); tr.To != engine.Closed || tr.Reason != engine.ReasonProbesSucceeded {
		t.Fatalf("a success under SuccessThreshold 1: %+v", tr)
	}
}

func TestSameShapeAndRebucket(t *testing.T) {
	cw := func(n int) engine.Window { return engine.Window{Kind: engine.CountBased, Size: n} }
	tw := func(d time.Duration, b int) engine.Window {
		return engine.Window{Kind: engine.TimeBased, Duration: d, Buckets: b}
	}
	for _, tc := range []struct {
		a, b engine.Window
		same bool
	}{
		{cw(10), cw(10), true},
		{cw(10), cw(11), false},
		{cw(10), tw(time.Second, 10), false},
		{tw(time.Second, 10), tw(time.Second, 10), true},
		{tw(time.Second, 10), tw(time.Second+5, 10), true}, // the same 100ms buckets
		{tw(time.Second, 10), tw(2*time.Second, 20), false},
		{tw(time.Second, 10), tw(time.Second, 5), false},
		{engine.Window{Kind: engine.CountBased, Size: 3, Duration: time.Hour}, cw(3), true},
	} {
		if got := engine.SameShape(tc.a, tc.b); got != tc.same {
			t.Errorf("SameShape(%+v, %+v) = %v", tc.a, tc.b, got)
		}
	}
	for _, tc := range []struct {
		i        int64
		from, to time.Duration
		want     int64
	}{
		{7, time.Second, time.Second, 7},
		{7, time.Second, 2 * time.Second, 3},
		{7, 2 * time.Second, time.Second, 14},
		{-1, time.Second, 2 * time.Second, -1},
		{-3, time.Second, 2 * time.Second, -2},
		{-4, time.Second, 2 * time.Second, -2},
	} {
		if got := engine.Rebucket(tc.i, tc.from, tc.to); got != tc.want {
			t.Errorf("Rebucket(%d, %v, %v) = %d, want %d", tc.i, tc.from, tc.to, got, tc.want)
		}
	}
}
