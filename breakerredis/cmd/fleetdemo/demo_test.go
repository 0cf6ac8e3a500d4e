package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"regexp"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestDemo plays the script three times faster against a private
// redis-server: a trips on its own, b and c follow it, one instance probes
// at a time, and everyone ends closed.
func TestDemo(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("BREAKER_INTEGRATION") == "1" {
			t.Fatalf("redis-server not found (BREAKER_INTEGRATION=1): %v", err)
		}
		t.Skip("redis-server not installed; set BREAKER_INTEGRATION=1 to make this a failure")
	}
	var out bytes.Buffer
	if err := run(context.Background(), &out, "", 0.35); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	s := out.String()
	count := func(re string) int { return len(regexp.MustCompile(re).FindAllString(s, -1)) }
	// a sends the most traffic and trips first; b and c follow it. On a
	// loaded machine (the race detector, a busy CI box) one may trip on its
	// own before a's record arrives: either way all three open, at least
	// one of them on its own.
	own, followed := count(`(?m)closed +→ open +consecutive-failures$`), count(`(?m)closed +→ open +remote, from [abc], `)
	if own < 1 || own+followed != 3 {
		t.Errorf("%d instances tripped on their own and %d followed, want 1+ and 3 in all:\n%s", own, followed, s)
	}
	if n := count(`(?m)half-open +→ closed +probes-succeeded$`); n != 1 {
		t.Errorf("%d probers closed, want 1:\n%s", n, s)
	}
	if n := count(`(?m)open +→ closed +remote, from [abc], `); n != 2 {
		t.Errorf("%d instances followed the prober's close, want 2:\n%s", n, s)
	}
	// one prober per round: every half-open period ends in a verdict
	half, verdicts := count(`→ half-open`), count(`half-open +→ (open|closed) +probe`)
	if half == 0 || half != verdicts {
		t.Errorf("%d half-open periods, %d probe verdicts; want one prober per round:\n%s", half, verdicts, s)
	}
}
