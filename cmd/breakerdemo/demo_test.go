package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// A short run in-process: the timeline shows a trip, a half-open period
// and a recovery, the summary adds up, and nothing is left running.
func TestDemo(t *testing.T) {
	defer goleak.VerifyNone(t)
	var out bytes.Buffer
	startedAt := time.Now()
	if err := run(context.Background(), &out, config{duration: 3 * time.Second, clients: 8}); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	took := time.Since(startedAt)
	s := out.String()
	t.Logf("run took %v; output:\n%s", took, s)
	for _, want := range []string{
		"closed → open", "open → half-open", "half-open → closed",
		"── healthy", "── outage", "── slow", "── recovery",
		"summary after", "spared",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if !regexp.MustCompile(`closed → open +(failure-rate|slow-call-rate) \d+%`).MatchString(s) {
		t.Error("no trip line with a reason and its rate")
	}
	// calls = successes + failures + rejections
	var calls, ok, failed, rejected int
	for _, f := range []struct {
		name string
		v    *int
	}{{"calls", &calls}, {"successes", &ok}, {"failures", &failed}, {"rejections", &rejected}} {
		m := regexp.MustCompile(`(?m)^  ` + f.name + ` +(\d+)`).FindStringSubmatch(s)
		if m == nil {
			t.Fatalf("summary lacks %s", f.name)
		}
		for _, r := range m[1] {
			*f.v = *f.v*10 + int(r-'0')
		}
	}
	// The summary's fallbacks are the breaker's own count (and so
	// circuitbreaker_fallbacks_total): breakerhttp counts what it serves.
	// A client does not count a call cut short by the end of the run, so
	// the breaker may have served up to one more per client.
	fb := regexp.MustCompile(`(?m)^  fallbacks +(\d+)`).FindStringSubmatch(s)
	own := regexp.MustCompile(`own Metrics: .* (\d+) fallbacks`).FindStringSubmatch(s)
	if fb == nil || own == nil {
		t.Fatal("the summary lacks the fallback counts")
	}
	served, counted := atoi(fb[1]), atoi(own[1])
	if served == 0 || counted < served || counted > served+8 {
		t.Errorf("fallbacks served %d, the breaker's Metrics.Fallbacks %d: want them equal (up to one per client)", served, counted)
	}
	if calls == 0 || calls != ok+failed+rejected {
		t.Errorf("calls %d != successes %d + failures %d + rejections %d", calls, ok, failed, rejected)
	}
	if took > 4500*time.Millisecond {
		t.Errorf("a 3s run took %v to finish", took)
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out, config{duration: 0, clients: 8}); err == nil {
		t.Error("duration 0: no error")
	}
	if err := run(context.Background(), &out, config{duration: time.Second, clients: 0}); err == nil {
		t.Error("clients 0: no error")
	}
	if err := run(context.Background(), &out, config{duration: time.Second, clients: 1, listen: "256.0.0.1:99999"}); err == nil {
		t.Error("bad -listen: no error")
	}
}

// An interrupted run stops at once and cleanly.
func TestDemoCancelled(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var out bytes.Buffer
	start := time.Now()
	if err := run(ctx, &out, config{duration: time.Minute, clients: 4}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("cancelled run took %v", d)
	}
	if !strings.Contains(out.String(), "summary after") {
		t.Errorf("no summary:\n%s", out.String())
	}
}

func TestPhaseAt(t *testing.T) {
	d := 20 * time.Second
	for _, c := range []struct {
		at    time.Duration
		phase string
	}{
		{0, "healthy"}, {3999 * time.Millisecond, "healthy"}, {4 * time.Second, "outage"},
		{8 * time.Second, "slow"}, {15 * time.Second, "recovery"}, {25 * time.Second, "recovery"},
	} {
		if i, _ := phaseAt(c.at, d); script[i].name != c.phase {
			t.Errorf("phaseAt(%v) = %s, want %s", c.at, script[i].name, c.phase)
		}
	}
	// The slow phase crosses the slow-call threshold after half-way, so
	// the breaker has time to close after the outage first.
	i, _ := phaseAt(8*time.Second, d)
	lat := script[i].latency
	if lat(0.45) >= slowCall || lat(0.6) < slowCall || lat(0.999) > slowLatency {
		t.Errorf("slow phase latency: %v at 45%%, %v at 60%%, %v at the end", lat(0.45), lat(0.6), lat(0.999))
	}
}

// TestRegressionDemoHelpDescribes: -h printed the flags and nothing about
// what the demo does.
func TestRegressionDemoHelpDescribes(t *testing.T) {
	fs := flag.NewFlagSet("breakerdemo", flag.ContinueOnError)
	fs.Duration("duration", 20*time.Second, "how long the demo runs")
	var out bytes.Buffer
	fs.SetOutput(&out)
	fs.Usage = usage(fs)
	if err := fs.Parse([]string{"-h"}); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("Parse(-h) = %v", err)
	}
	for _, want := range []string{"breakerdemo shows a circuit breaker at work", "Usage:", "-duration"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("-h output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestRegressionDemoHeartbeat: between events the demo printed nothing
// for seconds. After a quiet second it prints one line with the time, the
// state, calls/s and rejected/s; not while other lines are printed.
func TestRegressionDemoHeartbeat(t *testing.T) {
	var out bytes.Buffer
	start := time.Unix(1000, 0)
	tl := newTimeline(&out, start, 20*time.Second)
	var st stats
	tl.st = &st
	st.calls[0].Add(400)
	st.rejected[0].Add(100)
	tl.heartbeat(start.Add(time.Second))
	if got, want := out.String(), "  1.00s  · closed                400 calls/s,  100 rejected/s\n"; got != want {
		t.Errorf("heartbeat after a quiet second = %q; want %q", got, want)
	}
	out.Reset()
	tl.phase(1, start.Add(1500*time.Millisecond))
	out.Reset()
	tl.heartbeat(start.Add(2 * time.Second)) // something was printed half a second ago
	if out.Len() != 0 {
		t.Errorf("heartbeat right after a phase line: %q; want none", out.String())
	}
	st.calls[1].Add(50)
	tl.heartbeat(start.Add(3 * time.Second))
	if got, want := out.String(), "  3.00s  · closed                 50 calls/s,    0 rejected/s\n"; got != want {
		t.Errorf("heartbeat = %q; want %q", got, want)
	}
}

// TestRegressionDemoInterruptedSummary: Ctrl-C printed the summary of a
// cut-short run as if it were complete.
func TestRegressionDemoInterruptedSummary(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // interrupted before it starts
	var out bytes.Buffer
	if err := run(ctx, &out, config{duration: time.Minute, clients: 2}); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`summary after [0-9.]+s, 2 clients \(interrupted: the run was to last 1m0s\)`).MatchString(out.String()) {
		t.Errorf("an interrupted run's summary is not marked as such:\n%s", out.String())
	}
}

func atoi(s string) int {
	n := 0
	for _, r := range s {
		n = n*10 + int(r-'0')
	}
	return n
}
