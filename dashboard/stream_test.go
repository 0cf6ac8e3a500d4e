package dashboard

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlabs/breaker"
)

func TestStreamSendsHeadersBeforeTheFirstEvent(t *testing.T) {
	s := newSupervisor(t, "payments")
	h := New(s)
	release := make(chan struct{})
	h.testBeforeRegister = func(*client) { <-release }
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer h.Close()
	defer close(release)

	got := make(chan *http.Response, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/stream", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			got <- nil
			return
		}
		got <- resp
	}()
	// The snapshot cannot have been built yet (registration is held), so
	// the headers must arrive on their own.
	var resp *http.Response
	select {
	case resp = <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("no response headers while the first event was held back")
	}
	if resp == nil {
		t.Fatal("request failed")
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type = %q", ct)
	}
	if resp.Header.Get("Content-Security-Policy") == "" {
		t.Error("no Content-Security-Policy on the stream")
	}
	buf := make([]byte, 64)
	n, err := resp.Body.Read(buf)
	if err != nil || string(buf[:n]) != "retry: 1000\n\n" {
		t.Fatalf("first bytes = %q, %v; want the retry field", buf[:n], err)
	}
}

func TestStreamStartsWithASnapshot(t *testing.T) {
	s := newSupervisor(t, "payments", "search")
	_, srv := serve(t, s)
	r := openStream(t, context.Background(), srv.URL+"/api/stream")
	ev := r.next(t, 5*time.Second)
	if ev.event != "snapshot" {
		t.Fatalf("first event %q, want snapshot", ev.event)
	}
	snap := decode[Snapshot](t, ev.data)
	if len(snap.Breakers) != 2 || snap.Breakers[0].Name != "payments" || snap.Breakers[1].Name != "search" {
		t.Fatalf("snapshot breakers = %+v", snap.Breakers)
	}
	if b := snap.Breakers[0]; b.State != "closed" || b.Config != nil {
		t.Errorf("payments = %+v", b)
	}
	if snap.Control || snap.Interval != 1000 || snap.History != 120000 || snap.Now == 0 {
		t.Errorf("snapshot header = %+v", snap)
	}
}

func TestStreamDeliversForceOpenWithin100ms(t *testing.T) {
	s := newSupervisor(t, "payments", "search")
	_, srv := serve(t, s)
	r := openStream(t, context.Background(), srv.URL+"/api/stream")
	if ev := r.next(t, 5*time.Second); ev.event != "snapshot" {
		t.Fatalf("first event %q", ev.event)
	}
	b, _ := s.Get("search")
	for i := range 5 {
		start := time.Now()
		b.ForceOpen()
		ev := r.waitFor(t, time.Second, func(ev sseEvent) bool { return ev.event == "transition" })
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Errorf("round %d: transition after %v, want ≤ 100ms", i, d)
		}
		tr := decode[Transition](t, ev.data)
		if tr.Breaker != "search" || tr.From != "closed" || tr.To != "forced-open" || tr.Reason != "manual" || tr.Seq == 0 {
			t.Errorf("transition = %+v", tr)
		}
		b.Reset()
		r.waitFor(t, time.Second, func(ev sseEvent) bool { return ev.event == "transition" })
	}
}

func TestStreamSendsRatesEveryInterval(t *testing.T) {
	s := newSupervisor(t, "payments")
	_, srv := serve(t, s, WithInterval(20*time.Millisecond))
	r := openStream(t, context.Background(), srv.URL+"/api/stream")
	r.next(t, 5*time.Second) // snapshot
	b, _ := s.Get("payments")
	p, err := b.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p.Failure()
	ev := r.waitFor(t, 5*time.Second, func(ev sseEvent) bool {
		if ev.event != "stats" {
			return false
		}
		st := decode[Stats](t, ev.data)
		return len(st.Rows) == 1 && st.Rows[0].Failures == 1 && st.Rows[0].Rates != nil
	})
	st := decode[Stats](t, ev.data)
	if row := st.Rows[0]; row.Name != "payments" || row.History != nil || row.Config != nil {
		t.Errorf("row = %+v", row)
	}
	// An unchanged breaker is left out of the following stats.
	r.waitFor(t, 5*time.Second, func(ev sseEvent) bool {
		return ev.event == "stats" && len(decode[Stats](t, ev.data).Rows) == 0
	})
}

// TestStreamOutlivesServerWriteTimeout runs a stream for several times the
// server's WriteTimeout: the per-write deadlines keep it alive.
func TestStreamOutlivesServerWriteTimeout(t *testing.T) {
	s := newSupervisor(t, "payments")
	h := New(s, WithInterval(20*time.Millisecond))
	srv := httptest.NewUnstartedServer(h)
	srv.Config.WriteTimeout = 150 * time.Millisecond
	srv.Start()
	defer srv.Close()
	defer h.Close()
	r := openStream(t, context.Background(), srv.URL+"/api/stream")
	r.next(t, 5*time.Second)
	start := time.Now()
	for time.Since(start) < 5*srv.Config.WriteTimeout {
		r.next(t, 2*time.Second) // stats keep coming
	}
	b, _ := s.Get("payments")
	b.ForceOpen()
	r.waitFor(t, 2*time.Second, func(ev sseEvent) bool { return ev.event == "transition" })
}

func TestStreamEndsOnClose(t *testing.T) {
	s := newSupervisor(t, "payments")
	h, srv := serve(t, s)
	r := openStream(t, context.Background(), srv.URL+"/api/stream")
	r.next(t, 5*time.Second)
	h.Close()
	select {
	case <-r.done:
	case <-time.After(5 * time.Second):
		t.Fatal("stream still open after Close")
	}
	if code, _, _ := get(t, srv.URL+"/api/stream"); code != http.StatusServiceUnavailable {
		t.Errorf("stream after Close: %d, want 503", code)
	}
	if code, _, _ := get(t, srv.URL+"/api/snapshot"); code != http.StatusServiceUnavailable {
		t.Errorf("snapshot after Close: %d, want 503", code)
	}
	if code, _, _ := get(t, srv.URL+"/"); code != http.StatusOK {
		t.Errorf("page after Close: %d, want 200", code)
	}
	if err := h.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestStreamResyncsAfterOverflow: when a client's queue overflows it is
// dropped and the client gets a fresh snapshot, then live events again.
func TestStreamResyncsAfterOverflow(t *testing.T) {
	s := newSupervisor(t, "payments")
	h := New(s)
	defer h.Close()
	clients := make(chan *client, 1)
	h.testBeforeRegister = func(c *client) { clients <- c }
	w := newStalledWriter("event: snapshot")
	defer w.close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.ServeHTTP(w, w.request())
	}()
	<-w.blocked // registered; writing the snapshot, which the client does not read
	c := <-clients
	b, _ := s.Get("payments")
	for range queueLimit {
		b.ForceOpen()
		b.Reset()
	}
	eventually(t, 5*time.Second, "the queue to overflow", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.resync
	})
	w.unstall()
	// The held snapshot, then a resync snapshot, then live events.
	eventually(t, 5*time.Second, "a resync snapshot", func() bool { return w.count("event: snapshot") >= 2 })
	if n := w.count("event: transition"); n >= 2*queueLimit {
		t.Errorf("%d transitions delivered: the queue was not bounded", n)
	}
	b.Disable()
	eventually(t, 5*time.Second, "the transition after the resync", func() bool {
		return w.contains(`"to":"disabled"`)
	})
	w.close()
	<-done
}

// TestStalledClientBlocksNobody: a client that stops reading delays no
// other client, no snapshot and no admin action, and is dropped at its
// write deadline.
func TestStalledClientBlocksNobody(t *testing.T) {
	s := newSupervisor(t, "payments", "search")
	_, srv := serve(t, s, WithControl(func(*http.Request) bool { return true }),
		WithWriteTimeout(500*time.Millisecond), WithInterval(10*time.Millisecond))
	h := srv.Config.Handler.(*Handler)
	w := newStalledWriter("event: snapshot")
	defer w.close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.ServeHTTP(w, w.request())
	}()
	<-w.blocked

	r := openStream(t, context.Background(), srv.URL+"/api/stream")
	r.next(t, 5*time.Second)
	b, _ := s.Get("search")
	start := time.Now()
	b.ForceOpen()
	r.waitFor(t, time.Second, func(ev sseEvent) bool { return ev.event == "transition" })
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("transition reached the live client after %v while another client stalled", d)
	}
	if code, _, _ := get(t, srv.URL+"/api/snapshot"); code != http.StatusOK {
		t.Errorf("snapshot: %d", code)
	}
	if code, _, body := do(t, http.MethodPost, srv.URL+"/api/breakers/search/reset", nil); code != http.StatusOK {
		t.Errorf("reset: %d %s", code, body)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the stalled stream outlived its write deadline")
	}
}

// A transition to Open carries its deadline, so the page can count down
// at once.
func TestStreamTransitionToOpenHasDeadline(t *testing.T) {
	s := newSupervisor(t)
	cfg := breaker.DefaultConfig()
	cfg.ConsecutiveFailures = 1
	b, err := s.GetOrCreate("payments", cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, srv := serve(t, s)
	r := openStream(t, context.Background(), srv.URL+"/api/stream")
	r.next(t, 5*time.Second)
	p, err := b.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p.Failure()
	ev := r.waitFor(t, 2*time.Second, func(ev sseEvent) bool { return ev.event == "transition" })
	tr := decode[Transition](t, ev.data)
	if tr.To != "open" || tr.Reason != "consecutive-failures" || tr.Until == 0 {
		t.Fatalf("transition = %+v", tr)
	}
	if want := b.Metrics().OpenUntil.UnixMilli(); tr.Until != want {
		t.Errorf("until %d, want %d", tr.Until, want)
	}
}

// The sampler ticks only while a stream is connected.
func TestSamplerRunsOnlyWhileWatched(t *testing.T) {
	mk := clock.NewMock()
	s := breaker.NewSupervisor(breaker.WithClock(mk))
	defer s.Close()
	if _, err := s.GetOrCreate("payments", breaker.DefaultConfig()); err != nil {
		t.Fatal(err)
	}
	h, srv := serve(t, s, WithClock(mk))
	mk.Add(10 * time.Second)
	if h.sampling.Load() {
		t.Fatal("sampling with no one connected")
	}
	for range 2 { // connect, watch, leave; twice
		ctx, cancel := context.WithCancel(context.Background())
		r := openStream(t, ctx, srv.URL+"/api/stream")
		r.next(t, 5*time.Second) // snapshot: registered
		if !h.sampling.Load() {
			t.Fatal("not sampling while a client is connected")
		}
		mk.Add(time.Second)
		if ev := r.next(t, 5*time.Second); ev.event != "stats" {
			t.Fatalf("event %q, want stats", ev.event)
		}
		cancel()
		eventually(t, 5*time.Second, "the sampler to stop", func() bool { return !h.sampling.Load() })
	}
}
