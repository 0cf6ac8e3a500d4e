package breakerhttp_test

import (
	"bufio"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlabs/breaker"
	"github.com/breakerlabs/breaker/breakerhttp"
)

// serverEnv is a handler behind Middleware, served by a test server, with
// the breaker on a mock clock.
type serverEnv struct {
	mk     *clock.Mock
	b      breaker.Circuit
	srv    *httptest.Server
	client *http.Client
	calls  atomic.Int64 // requests that reached the handler
}

func newServerEnv(t *testing.T, c breaker.Circuit, mk *clock.Mock, h http.HandlerFunc, opts ...breakerhttp.MiddlewareOption) *serverEnv {
	t.Helper()
	e := &serverEnv{mk: mk, b: c}
	opts = append([]breakerhttp.MiddlewareOption{breakerhttp.WithClock(mk)}, opts...)
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.calls.Add(1)
		h(w, r)
	})
	e.srv = httptest.NewUnstartedServer(breakerhttp.Middleware(c, opts...)(inner))
	e.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // some tests write superfluous headers on purpose
	e.srv.Start()
	e.client = &http.Client{Transport: &http.Transport{}}
	t.Cleanup(func() {
		e.client.CloseIdleConnections()
		e.srv.Close()
		c.Close()
	})
	return e
}

func newActorServerEnv(t *testing.T, h http.HandlerFunc, opts ...breakerhttp.MiddlewareOption) *serverEnv {
	t.Helper()
	mk := clock.NewMock()
	b, err := breaker.New("handler", testConfig(), breaker.WithClock(mk))
	if err != nil {
		t.Fatal(err)
	}
	return newServerEnv(t, b, mk, h, opts...)
}

// get returns the response's status, Retry-After header and body.
func (e *serverEnv) get(t *testing.T, path string) (int, string, string) {
	t.Helper()
	resp, err := e.client.Get(e.srv.URL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After"), string(b)
}

func TestMiddlewareCountsStatuses(t *testing.T) {
	cfg := testConfig()
	cfg.ConsecutiveFailures = 100
	mk := clock.NewMock()
	b, _ := breaker.New("h", cfg, breaker.WithClock(mk))
	e := newServerEnv(t, b, mk, status)
	for _, p := range []string{"/200", "/204", "/301", "/404", "/429", "/500", "/503"} {
		if code, _, _ := e.get(t, p); code != statusOf(p) {
			t.Fatalf("GET %s = %d", p, code)
		}
	}
	m := b.Metrics()
	if m.Successes != 5 || m.Failures != 2 {
		t.Errorf("successes %d, failures %d; want 5, 2", m.Successes, m.Failures)
	}
}

func TestMiddlewareNeverLetsARequestThroughWhileOpen(t *testing.T) {
	e := newActorServerEnv(t, status)
	for range 3 {
		if code, _, _ := e.get(t, "/500"); code != 500 {
			t.Fatalf("GET /500 = %d", code)
		}
	}
	if s := e.b.Metrics().State; s != breaker.Open {
		t.Fatalf("state = %v, want open", s)
	}
	calls := e.calls.Load()
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			code, ra, body := e.get(t, "/200")
			if code != 503 || ra != "30" || !strings.Contains(body, "circuit open") {
				t.Errorf("request %d while open: %d, Retry-After %q, body %q", i, code, ra, body)
			}
		})
	}
	wg.Wait()
	if got := e.calls.Load() - calls; got != 0 {
		t.Fatalf("%d requests reached the handler while open", got)
	}

	// Retry-After counts down, rounded up, at least 1.
	for _, c := range []struct {
		advance time.Duration
		want    string
	}{
		{500 * time.Millisecond, "30"}, // 29.5 s left
		{20 * time.Second, "10"},       // 9.5 s
		{9 * time.Second, "1"},         // 0.5 s
		{499 * time.Millisecond, "1"},  // 1 ms
	} {
		e.mk.Add(c.advance)
		if code, ra, _ := e.get(t, "/200"); code != 503 || ra != c.want {
			t.Errorf("%v later: %d, Retry-After %q; want 503, %q", c.advance, code, ra, c.want)
		}
	}
	if e.calls.Load() != calls {
		t.Fatal("a request reached the handler while open")
	}
	e.mk.Add(time.Millisecond)
	if code, ra, _ := e.get(t, "/200"); code != 200 || ra != "" {
		t.Errorf("probe after the open timeout: %d, Retry-After %q", code, ra)
	}
	if s := e.b.Metrics().State; s != breaker.Closed {
		t.Errorf("state after a good probe = %v, want closed", s)
	}
}

func TestMiddlewareForcedOpenAndTooManyProbes(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	e := newActorServerEnv(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/block" {
			arrived <- struct{}{}
			<-release
		}
		status(w, r)
	})
	e.b.ForceOpen()
	if code, ra, _ := e.get(t, "/200"); code != 503 || ra != "60" {
		t.Errorf("forced open: %d, Retry-After %q; want 503, 60", code, ra)
	}
	e.b.Reset()
	for range 3 {
		e.get(t, "/500")
	}
	e.b.Metrics()
	e.mk.Add(30 * time.Second)
	if s := e.b.Metrics().State; s != breaker.HalfOpen {
		t.Fatalf("state = %v, want half-open", s)
	}
	done := make(chan int)
	go func() {
		code, _, _ := e.get(t, "/block")
		done <- code
	}()
	<-arrived
	calls := e.calls.Load()
	code, ra, body := e.get(t, "/200")
	if code != 503 || ra != "1" || !strings.Contains(body, "recovering") {
		t.Errorf("too many probes: %d, Retry-After %q, body %q; want 503, 1", code, ra, body)
	}
	if e.calls.Load() != calls {
		t.Error("a second probe reached the handler")
	}
	close(release)
	if code := <-done; code != 200 {
		t.Errorf("probe = %d", code)
	}
	if s := e.b.Metrics().State; s != breaker.Closed {
		t.Errorf("state = %v, want closed", s)
	}
}

func TestMiddlewarePanicIsAFailure(t *testing.T) {
	mk := clock.NewMock()
	b, _ := breaker.New("h", testConfig(), breaker.WithClock(mk))
	defer b.Close()
	h := breakerhttp.Middleware(b, breakerhttp.WithClock(mk))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200) // the status does not matter: the panic decides
		panic(http.ErrAbortHandler)
	}))
	for range 3 {
		func() {
			defer func() {
				if r := recover(); r != http.ErrAbortHandler {
					t.Errorf("recovered %v, want the handler's panic", r)
				}
			}()
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
		}()
	}
	if m := b.Metrics(); m.Failures != 3 || m.State != breaker.Open {
		t.Errorf("failures %d, state %v; want 3, open", m.Failures, m.State)
	}
}

func TestMiddlewareRecordsStatus(t *testing.T) {
	cfg := testConfig()
	cfg.ConsecutiveFailures = 100
	for _, c := range []struct {
		name    string
		h       http.HandlerFunc
		failure bool
	}{
		{"nothing written", func(http.ResponseWriter, *http.Request) {}, false},
		{"write only", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "x") }, false},
		{"early hints then 500", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Link", "</a.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(500)
		}, true},
		{"500 then write", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(500)
			io.WriteString(w, "x")
		}, true},
		{"flush then 500 is too late", func(w http.ResponseWriter, _ *http.Request) {
			w.(http.Flusher).Flush()
			w.WriteHeader(500) // superfluous: 200 was sent
		}, false},
		{"ResponseController flush", func(w http.ResponseWriter, _ *http.Request) {
			if err := http.NewResponseController(w).Flush(); err != nil {
				panic(err)
			}
		}, false},
		{"ResponseController deadline then 502", func(w http.ResponseWriter, _ *http.Request) {
			if err := http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
				panic(err)
			}
			w.WriteHeader(502)
		}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			mk := clock.NewMock()
			b, _ := breaker.New("h", cfg, breaker.WithClock(mk))
			e := newServerEnv(t, b, mk, c.h)
			e.get(t, "/")
			m := b.Metrics()
			if c.failure && m.Failures != 1 || !c.failure && m.Successes != 1 {
				t.Errorf("successes %d, failures %d; want failure=%v", m.Successes, m.Failures, c.failure)
			}
		})
	}
}

func TestMiddlewarePreservesFlusherAndHijacker(t *testing.T) {
	cfg := testConfig()
	cfg.ConsecutiveFailures = 100
	mk := clock.NewMock()
	b, _ := breaker.New("h", cfg, breaker.WithClock(mk))
	e := newServerEnv(t, b, mk, func(w http.ResponseWriter, r *http.Request) {
		if _, ok := w.(http.Flusher); !ok {
			t.Error("the ResponseWriter lost http.Flusher")
		}
		hj, ok := w.(http.Hijacker)
		if !ok {
			t.Error("the ResponseWriter lost http.Hijacker")
			return
		}
		conn, rw, err := hj.Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		rw.WriteString("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		rw.Flush()
	})
	code, _, _ := e.get(t, "/")
	if code != 500 {
		t.Fatalf("hijacked response = %d", code)
	}
	// The middleware cannot see what a hijacker writes: status 0, a success
	// by default.
	// The client may see the response before the handler has returned.
	for deadline := time.Now().Add(5 * time.Second); b.Metrics().Successes != 1; {
		if time.Now().After(deadline) {
			t.Fatalf("successes = %d, want 1", b.Metrics().Successes)
		}
		time.Sleep(time.Millisecond)
	}

	// A ResponseWriter with neither interface gets a wrapper with neither.
	var rw http.ResponseWriter
	h := breakerhttp.Middleware(b)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { rw = w }))
	h.ServeHTTP(plainWriter{httptest.NewRecorder()}, httptest.NewRequest("GET", "/", nil))
	if _, ok := rw.(http.Flusher); ok {
		t.Error("the wrapper claims http.Flusher over a writer without it")
	}
	if _, ok := rw.(http.Hijacker); ok {
		t.Error("the wrapper claims http.Hijacker over a writer without it")
	}
}

// plainWriter hides every optional interface of its ResponseWriter.
type plainWriter struct{ w http.ResponseWriter }

func (p plainWriter) Header() http.Header         { return p.w.Header() }
func (p plainWriter) Write(b []byte) (int, error) { return p.w.Write(b) }
func (p plainWriter) WriteHeader(code int)        { p.w.WriteHeader(code) }

func TestMiddlewareOptions(t *testing.T) {
	mk := clock.NewMock()
	b, _ := breaker.New("h", testConfig(), breaker.WithClock(mk))
	var rejected error
	e := newServerEnv(t, b, mk, status,
		breakerhttp.WithStatusClassifier(func(code int) breakerhttp.Outcome {
			if code == 404 {
				return breakerhttp.Failure
			}
			return breakerhttp.DefaultStatusClassifier(code)
		}),
		breakerhttp.WithRetryAfter(func(rej error, now time.Time) time.Duration { return 90 * time.Second }),
		breakerhttp.WithRejectHandler(func(w http.ResponseWriter, r *http.Request, err error) {
			rejected = err
			w.WriteHeader(http.StatusTooManyRequests)
		}))
	for range 3 {
		e.get(t, "/404")
	}
	b.Metrics()
	code, ra, _ := e.get(t, "/200")
	if code != 429 || ra != "90" || !errors.Is(rejected, breaker.ErrOpen) {
		t.Errorf("custom rejection: %d, Retry-After %q, err %v", code, ra, rejected)
	}
}

func TestMiddlewareWithMutexBreakerAndClose(t *testing.T) {
	mk := clock.NewMock()
	b, _ := breaker.NewMutex("h", testConfig(), breaker.WithClock(mk))
	e := newServerEnv(t, b, mk, status)
	for range 3 {
		e.get(t, "/500")
	}
	calls := e.calls.Load()
	if code, ra, _ := e.get(t, "/200"); code != 503 || ra != "30" || e.calls.Load() != calls {
		t.Errorf("MutexBreaker open: %d, Retry-After %q", code, ra)
	}
	b.Close()
	if code, ra, _ := e.get(t, "/200"); code != 503 || ra != "" || e.calls.Load() != calls {
		t.Errorf("after Close: %d, Retry-After %q; want 503 without Retry-After", code, ra)
	}
}

// hijackOnly is a ResponseWriter with http.Hijacker but not http.Flusher.
type hijackOnly struct{ plainWriter }

func (hijackOnly) Hijack() (net.Conn, *bufio.ReadWriter, error) { return nil, nil, errors.New("no") }

func TestMiddlewareWrapperInterfaces(t *testing.T) {
	mk := clock.NewMock()
	cfg := testConfig()
	cfg.ConsecutiveFailures = 100
	b, _ := breaker.New("h", cfg, breaker.WithClock(mk))
	defer b.Close()

	// httptest.ResponseRecorder flushes but cannot hijack.
	rec := httptest.NewRecorder()
	breakerhttp.Middleware(b)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if _, ok := w.(http.Hijacker); ok {
			t.Error("Hijacker over a ResponseRecorder")
		}
		w.(http.Flusher).Flush()
		w.WriteHeader(500) // too late: 200 was sent by Flush
	})).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if !rec.Flushed || rec.Code != 200 {
		t.Errorf("recorder: flushed %v, code %d", rec.Flushed, rec.Code)
	}

	// A hijack-only writer: the wrapper hijacks but does not flush; a
	// failed Hijack leaves the status to what is written.
	breakerhttp.Middleware(b)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if _, ok := w.(http.Flusher); ok {
			t.Error("Flusher over a hijack-only writer")
		}
		if _, _, err := w.(http.Hijacker).Hijack(); err == nil {
			t.Error("Hijack succeeded")
		}
		w.WriteHeader(503)
	})).ServeHTTP(hijackOnly{plainWriter{httptest.NewRecorder()}}, httptest.NewRequest("GET", "/", nil))
	if m := b.Metrics(); m.Successes != 1 || m.Failures != 1 {
		t.Errorf("successes %d, failures %d; want 1, 1", m.Successes, m.Failures)
	}
}

func TestMiddlewareNilCircuitPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	breakerhttp.Middleware(nil)
}
