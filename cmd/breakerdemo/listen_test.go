package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// With -listen, the demo serves the dashboard at / and the metrics at
// /metrics while it runs, and says so in its first lines.
func TestDemoServesDashboardAndMetrics(t *testing.T) {
	defer goleak.VerifyNone(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // the demo listens on it again
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, &out, config{duration: time.Minute, clients: 2, listen: addr}) }()

	base := "http://" + addr + "/"
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "dashboard: ") {
		if time.Now().After(deadline) {
			t.Fatalf("no dashboard line:\n%s", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	lines := strings.SplitN(out.String(), "\n", 3)
	if want := "dashboard: " + base + "  metrics: " + base + "metrics"; len(lines) < 2 || lines[1] != want {
		t.Errorf("second line %q, want %q", lines[1], want)
	}
	fetch := func(path string) string {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /%s: %d", path, resp.StatusCode)
		}
		return string(b)
	}
	if page := fetch(""); !strings.Contains(page, "<title>Breakers</title>") {
		t.Errorf("/ is not the dashboard:\n%.200s", page)
	}
	// The transport creates the breaker at the clients' first call.
	for snap := fetch("api/snapshot"); !strings.Contains(snap, `"name":"backend"`); snap = fetch("api/snapshot") {
		if time.Now().After(deadline) {
			t.Fatalf("snapshot lacks the demo's breaker:\n%.300s", snap)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if m := fetch("metrics"); !strings.Contains(m, `breaker="backend"`) && !strings.Contains(m, `name="backend"`) {
		t.Errorf("metrics lack the demo's breaker:\n%.300s", m)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
