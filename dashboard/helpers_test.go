package dashboard

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/breakerlabs/breaker"
)

// newSupervisor returns a supervisor with the named breakers (default
// config), closed at the end of the test.
func newSupervisor(t *testing.T, names ...string) *breaker.Supervisor {
	t.Helper()
	s := breaker.NewSupervisor()
	t.Cleanup(func() { s.Close() })
	for _, n := range names {
		if _, err := s.GetOrCreate(n, breaker.DefaultConfig()); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// serve starts a test server for a new dashboard over s; both are closed
// at the end of the test (the dashboard first, so streams end).
func serve(t *testing.T, s *breaker.Supervisor, opts ...Option) (*Handler, *httptest.Server) {
	t.Helper()
	h := New(s, opts...)
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		h.Close()
		srv.Close()
	})
	return h, srv
}

// sseEvent is one parsed Server-Sent Event.
type sseEvent struct {
	event, data string
}

// sseReader reads events from a stream response in a goroutine, so that
// tests can wait for them with a deadline.
type sseReader struct {
	resp   *http.Response
	events chan sseEvent
	done   chan struct{}
}

// openStream connects to url's stream and returns once the response
// headers are in.
func openStream(t *testing.T, ctx context.Context, url string) *sseReader {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("stream: status %d", resp.StatusCode)
	}
	r := &sseReader{resp: resp, events: make(chan sseEvent, 1024), done: make(chan struct{})}
	go r.run()
	t.Cleanup(func() {
		resp.Body.Close()
		<-r.done
	})
	return r
}

func (r *sseReader) run() {
	defer close(r.done)
	defer close(r.events)
	sc := bufio.NewScanner(r.resp.Body)
	sc.Buffer(nil, 16<<20)
	var ev sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev.event != "" || ev.data != "" {
				r.events <- ev
			}
			ev = sseEvent{}
		case strings.HasPrefix(line, "event: "):
			ev.event = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			ev.data = line[len("data: "):]
		}
	}
}

// next returns the next event, failing the test after d.
func (r *sseReader) next(t *testing.T, d time.Duration) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-r.events:
		if !ok {
			t.Fatal("stream ended")
		}
		return ev
	case <-time.After(d):
		t.Fatalf("no event within %v", d)
	}
	return sseEvent{}
}

// waitFor returns the first event (skipping others) for which ok holds,
// failing the test after d.
func (r *sseReader) waitFor(t *testing.T, d time.Duration, ok func(sseEvent) bool) sseEvent {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case ev, open := <-r.events:
			if !open {
				t.Fatal("stream ended")
			}
			if ok(ev) {
				return ev
			}
		case <-deadline:
			t.Fatalf("no matching event within %v", d)
		}
	}
}

func decode[T any](t *testing.T, data string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(data), &v); err != nil {
		t.Fatalf("decode %q: %v", data, err)
	}
	return v
}

// get fetches url and returns the status, headers and body.
func get(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	return do(t, http.MethodGet, url, nil)
}

func do(t *testing.T, method, url string, hdr http.Header) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// eventually polls cond until it holds, failing the test after d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
