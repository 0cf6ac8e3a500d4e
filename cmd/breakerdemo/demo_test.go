package main

import (
	"bytes"
	"context"
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
