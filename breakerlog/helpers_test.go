package breakerlog_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/breakerlabs/breaker"
)

// lines is an io.Writer that keeps what a JSON handler writes, for
// concurrent reading.
type lines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// all returns the lines written so far.
func (l *lines) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := strings.TrimSuffix(l.buf.String(), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// waitLines polls until n lines have been written (a deadline guards
// against a hang) and returns them.
func (l *lines) waitLines(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := l.all()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %d log lines; have %d:\n%s", n, len(got), strings.Join(got, "\n"))
		}
		time.Sleep(time.Millisecond)
	}
}

func jsonLogger(w *lines) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// t0 is when the mock clock starts: every line's time is an offset from it.
var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func newMock() *clock.Mock {
	mk := clock.NewMock()
	mk.Set(t0)
	return mk
}

// testConfig trips on 3 failures in a row, stays open 10 s (20 s after a
// failed probe) and closes on one successful probe.
func testConfig() breaker.Config {
	return breaker.Config{
		Window:              breaker.CountWindow(10),
		MinimumCalls:        1,
		ConsecutiveFailures: 3,
		OpenTimeout:         10 * time.Second,
		BackoffMultiplier:   2,
		MaxOpenTimeout:      time.Minute,
		HalfOpen:            breaker.HalfOpenPolicy{MaxProbes: 1, Mode: breaker.Strict, SuccessThreshold: 1},
	}
}

// call acquires a permit from b and reports fail or success; it fails the
// test if b rejects.
func call(t *testing.T, b *breaker.Breaker, fail bool) {
	t.Helper()
	p, err := b.Acquire(context.Background())
	if err != nil {
		t.Fatalf("Acquire in %v: %v", b.State(), err)
	}
	if fail {
		p.Failure()
	} else {
		p.Success()
	}
}

// waitState polls until b publishes st.
func waitState(t *testing.T, b *breaker.Breaker, st breaker.State) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for b.State() != st {
		if time.Now().After(deadline) {
			t.Fatalf("state %v, want %v", b.State(), st)
		}
		time.Sleep(time.Millisecond)
	}
}
