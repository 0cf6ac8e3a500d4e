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
	for _, want := range []string{
		`(?m)^ +[0-9.]+s  a  closed +→ open +consecutive-failures$`,
		`(?m)^ +[0-9.]+s  b  closed +→ open +remote, from a, `,
		`(?m)^ +[0-9.]+s  c  closed +→ open +remote, from a, `,
		`(?m)^ +[0-9.]+s  [abc]  half-open +→ open +probe-failed$`,
		`(?m)^ +[0-9.]+s  [abc]  half-open +→ closed +probes-succeeded$`,
	} {
		if !regexp.MustCompile(want).MatchString(s) {
			t.Errorf("output lacks %s:\n%s", want, s)
		}
	}
	if n := len(regexp.MustCompile(`(?m)→ closed +remote, from [abc]`).FindAllString(s, -1)); n != 2 {
		t.Errorf("%d instances followed the prober's close, want 2:\n%s", n, s)
	}
	if n := len(regexp.MustCompile(`(?m)→ half-open`).FindAllString(s, -1)); n != 2 {
		t.Errorf("%d half-open periods across the fleet, want 2 (one prober per round):\n%s", n, s)
	}
}
