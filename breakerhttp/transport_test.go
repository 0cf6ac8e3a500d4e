package breakerhttp_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/breakerlabs/breaker"
	"github.com/breakerlabs/breaker/breakerhttp"
)

func TestNewTransportErrors(t *testing.T) {
	if _, err := breakerhttp.NewTransport(nil, testConfig()); err == nil {
		t.Error("nil Supervisor: no error")
	}
	sup := breaker.NewSupervisor()
	defer sup.Close()
	cfg := testConfig()
	cfg.FailureRate = 1.5
	_, err := breakerhttp.NewTransport(sup, cfg)
	if err == nil || !strings.Contains(err.Error(), "FailureRate") {
		t.Errorf("invalid Config: err = %v", err)
	}
}

func TestTransportClassifiesResponses(t *testing.T) {
	cfg := testConfig()
	cfg.ConsecutiveFailures = 100 // never trips here
	e := newClientEnvConfig(t, cfg, status)
	for _, c := range []struct {
		path    string
		failure bool
	}{
		{"/200", false}, {"/204", false}, {"/400", false}, {"/404", false},
		{"/429", true}, {"/500", true}, {"/502", true}, {"/503", true},
	} {
		var before breaker.Metrics
		if _, ok := e.sup.Get(e.key()); ok {
			before = e.metrics(t)
		}
		code, err := e.get(t, c.path)
		if err != nil || code != statusOf(c.path) {
			t.Fatalf("GET %s = %d, %v", c.path, code, err)
		}
		m := e.metrics(t)
		gotFailure := m.Failures == before.Failures+1 && m.Successes == before.Successes
		gotSuccess := m.Successes == before.Successes+1 && m.Failures == before.Failures
		if c.failure && !gotFailure || !c.failure && !gotSuccess {
			t.Errorf("GET %s: successes %d→%d, failures %d→%d; want failure=%v",
				c.path, before.Successes, m.Successes, before.Failures, m.Failures, c.failure)
		}
	}
	if e.hits.Load() != 8 {
		t.Errorf("server hits = %d, want 8", e.hits.Load())
	}
}

func statusOf(path string) int {
	n, _ := strconv.Atoi(strings.TrimPrefix(path, "/"))
	return n
}

func TestTransportTripsAndRejectsWithoutSending(t *testing.T) {
	e := newClientEnv(t, status)
	for range 3 {
		if code, err := e.get(t, "/500"); err != nil || code != 500 {
			t.Fatalf("GET /500 = %d, %v", code, err)
		}
	}
	m := e.metrics(t)
	if m.State != breaker.Open {
		t.Fatalf("state after 3 failures = %v, want open", m.State)
	}
	hits := e.hits.Load()

	// Through http.Client: the error is a *url.Error wrapping the rejection.
	body := &trackedBody{Reader: strings.NewReader("payload")}
	req, _ := http.NewRequest("POST", e.srv.URL+"/200", body)
	resp, err := e.client.Do(req)
	if resp != nil {
		resp.Body.Close()
		t.Fatalf("got a response while open: %d", resp.StatusCode)
	}
	if !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("err = %v, want ErrOpen", err)
	}
	var rej *breakerhttp.RejectedError
	if !errors.As(err, &rej) {
		t.Fatalf("err = %T %v, want a *RejectedError", err, err)
	}
	if want := `breakerhttp: request to "` + e.key() + `" not sent: breaker: circuit "` + e.key() + `" open until`; !strings.HasPrefix(rej.Error(), want) {
		t.Errorf("Error() = %q, want prefix %q", rej.Error(), want)
	}
	if rej.Key != e.key() || !rej.Until.Equal(e.mk.Now().Add(30*time.Second)) {
		t.Errorf("RejectedError = %+v, want key %q until now+30s", rej, e.key())
	}
	var oe *breaker.OpenError
	if !errors.As(err, &oe) || !oe.Until.Equal(rej.Until) {
		t.Errorf("the rejection does not wrap the *OpenError: %v", err)
	}
	if !body.closed.Load() {
		t.Error("the request body was not closed")
	}
	if d := breakerhttp.RetryAfter(err, e.mk.Now()); d != 30*time.Second {
		t.Errorf("RetryAfter = %v, want 30s", d)
	}

	// Straight RoundTrip, many times, concurrently: nothing is sent.
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			req, _ := http.NewRequest("GET", e.srv.URL+"/200", nil)
			resp, err := e.tr.RoundTrip(req)
			if resp != nil || !errors.Is(err, breaker.ErrOpen) {
				t.Errorf("RoundTrip while open = %v, %v", resp, err)
			}
		})
	}
	wg.Wait()
	if got := e.hits.Load(); got != hits {
		t.Errorf("server hits while open = %d, want 0", got-hits)
	}
	if m := e.metrics(t); m.Rejected != 51 {
		t.Errorf("Rejected = %d, want 51", m.Rejected)
	}
}

func TestTransportRecovers(t *testing.T) {
	e := newClientEnv(t, status)
	for range 3 {
		e.get(t, "/503")
	}
	if s := e.metrics(t).State; s != breaker.Open {
		t.Fatalf("state = %v, want open", s)
	}
	e.mk.Add(30 * time.Second)
	if s := e.metrics(t).State; s != breaker.HalfOpen {
		t.Fatalf("state after OpenTimeout = %v, want half-open", s)
	}
	if code, err := e.get(t, "/200"); err != nil || code != 200 {
		t.Fatalf("probe = %d, %v", code, err)
	}
	if s := e.metrics(t).State; s != breaker.Closed {
		t.Fatalf("state after a good probe = %v, want closed", s)
	}
}

func TestTransportTooManyProbes(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	e := newClientEnv(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/block" {
			arrived <- struct{}{}
			<-release
		}
		status(w, r)
	})
	for range 3 {
		e.get(t, "/500")
	}
	e.metrics(t) // the trip is applied before the clock moves
	e.mk.Add(30 * time.Second)
	if s := e.metrics(t).State; s != breaker.HalfOpen {
		t.Fatalf("state = %v, want half-open", s)
	}
	probe := make(chan error, 1)
	go func() {
		_, err := e.get(t, "/block")
		probe <- err
	}()
	<-arrived
	hits := e.hits.Load()
	_, err := e.get(t, "/200")
	if !errors.Is(err, breaker.ErrTooManyProbes) {
		t.Errorf("second probe: err = %v, want ErrTooManyProbes", err)
	}
	var rej *breakerhttp.RejectedError
	if !errors.As(err, &rej) || !rej.Until.IsZero() {
		t.Errorf("second probe: want a *RejectedError with no Until, got %#v", err)
	}
	if e.hits.Load() != hits {
		t.Error("a rejected probe reached the server")
	}
	close(release)
	if err := <-probe; err != nil {
		t.Fatalf("probe: %v", err)
	}
	if s := e.metrics(t).State; s != breaker.Closed {
		t.Errorf("state after the probe = %v, want closed", s)
	}
}

func TestTransportIgnoresCancelledRequests(t *testing.T) {
	e := newClientEnv(t, func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	for range 5 {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL, nil)
		go func() {
			for e.hits.Load() == 0 {
				time.Sleep(time.Millisecond)
			}
			cancel()
		}()
		_, err := e.client.Do(req)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		e.hits.Store(0)
	}
	m := e.metrics(t)
	if m.Ignored != 5 || m.Failures != 0 || m.State != breaker.Closed {
		t.Errorf("ignored %d, failures %d, state %v; want 5, 0, closed", m.Ignored, m.Failures, m.State)
	}
}

func TestTransportErrorsAreFailures(t *testing.T) {
	sup := breaker.NewSupervisor()
	defer sup.Close()
	calls := 0
	boom := errors.New("connection refused")
	tr, err := breakerhttp.NewTransport(sup, testConfig(), breakerhttp.WithNext(rtFunc(func(*http.Request) (*http.Response, error) {
		calls++
		return nil, boom
	})))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		req, _ := http.NewRequest("GET", "http://db.internal/x", nil)
		if _, err := tr.RoundTrip(req); !errors.Is(err, boom) {
			t.Fatalf("err = %v, want the transport's error unchanged", err)
		}
	}
	b, _ := sup.Get("db.internal")
	if m := b.Metrics(); m.Failures != 3 || m.State != breaker.Open {
		t.Fatalf("failures %d, state %v; want 3, open", m.Failures, m.State)
	}
	req, _ := http.NewRequest("GET", "http://db.internal/x", nil)
	if _, err := tr.RoundTrip(req); !errors.Is(err, breaker.ErrOpen) || calls != 3 {
		t.Errorf("while open: err %v, calls %d", err, calls)
	}
}

// The outcome is known when the headers arrive: it is reported before the
// caller reads the body.
func TestTransportReportsBeforeBodyIsRead(t *testing.T) {
	release := make(chan struct{})
	e := newClientEnv(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		w.(http.Flusher).Flush()
		<-release
		io.WriteString(w, "late body")
	})
	resp, err := e.client.Get(e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if m := e.metrics(t); m.Failures != 1 {
		t.Errorf("failures before the body was read = %d, want 1", m.Failures)
	}
	close(release)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "late body" {
		t.Errorf("body = %q", b)
	}
}

func TestTransportRetryAfter(t *testing.T) {
	for _, c := range []struct {
		name, header string
		code         int
		hold         time.Duration
	}{
		{"seconds on 503", "10", 503, 10 * time.Second},
		{"seconds on 429", "7", 429, 7 * time.Second},
		{"http date", "", 503, 20 * time.Second}, // header set from the mock clock below
		{"capped by MaxOpenTimeout", "3600", 503, time.Minute},
		{"ignored on 500", "10", 500, 0},
		{"ignored on 200", "10", 200, 0},
		{"malformed", "soon", 503, 0},
		{"zero", "0", 503, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.ConsecutiveFailures = 100
			var e *clientEnv
			e = newClientEnvConfig(t, cfg, func(w http.ResponseWriter, r *http.Request) {
				h := c.header
				if h == "" {
					h = e.mk.Now().Add(20 * time.Second).UTC().Format(http.TimeFormat)
				}
				w.Header().Set("Retry-After", h)
				w.WriteHeader(c.code)
			})
			e.mk.Add(time.Hour) // a mock time with a date worth formatting
			resp, err := e.client.Get(e.srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.code || resp.Header.Get("Retry-After") == "" {
				t.Fatalf("the response was not handed over unchanged: %d %v", resp.StatusCode, resp.Header)
			}
			until, held := e.tr.RetryAfterUntil(e.key())
			if c.hold == 0 {
				if held {
					t.Fatalf("held until %v, want no hold", until)
				}
				if _, err := e.get(t, "/"); err != nil {
					t.Fatalf("next request: %v", err)
				}
				return
			}
			if !held || !until.Equal(e.mk.Now().Add(c.hold)) {
				t.Fatalf("hold = %v, %v; want until now+%v", until, held, c.hold)
			}
			hits := e.hits.Load()
			body := &trackedBody{Reader: strings.NewReader("x")}
			req, _ := http.NewRequest("PUT", e.srv.URL, body)
			_, err = e.client.Do(req)
			if !errors.Is(err, breakerhttp.ErrRetryAfter) || !errors.Is(err, breaker.ErrOpen) {
				t.Fatalf("held request: err = %v, want ErrRetryAfter and ErrOpen", err)
			}
			if d := breakerhttp.RetryAfter(err, e.mk.Now()); d != c.hold {
				t.Errorf("RetryAfter(err) = %v, want %v", d, c.hold)
			}
			if !body.closed.Load() || e.hits.Load() != hits {
				t.Error("a held request was sent or its body left open")
			}
			if m := e.metrics(t); m.Rejected != 0 || m.State != breaker.Closed {
				t.Errorf("a hold is not a breaker rejection: rejected %d, state %v", m.Rejected, m.State)
			}
			e.mk.Add(c.hold - time.Millisecond)
			if _, err := e.get(t, "/"); !errors.Is(err, breakerhttp.ErrRetryAfter) {
				t.Fatalf("just before the end of the hold: err = %v", err)
			}
			e.mk.Add(time.Millisecond)
			if _, held := e.tr.RetryAfterUntil(e.key()); held {
				t.Error("still held after the hold")
			}
			if _, err := e.get(t, "/"); errors.Is(err, breaker.ErrOpen) {
				t.Fatalf("after the hold: err = %v", err)
			}
			if e.hits.Load() != hits+1 {
				t.Errorf("hits after the hold = %d, want %d", e.hits.Load(), hits+1)
			}
		})
	}
}

func TestTransportRetryAfterExtendsOnly(t *testing.T) {
	cfg := testConfig()
	cfg.ConsecutiveFailures = 100
	header := make(chan string, 2)
	e := newClientEnvConfig(t, cfg, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", <-header)
		w.WriteHeader(503)
	})
	// Two requests in flight get two Retry-Afters: the longer one wins,
	// whatever the order.
	header <- "20"
	header <- "5"
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { e.get(t, "/") })
	}
	wg.Wait()
	if until, _ := e.tr.RetryAfterUntil(e.key()); !until.Equal(e.mk.Now().Add(20 * time.Second)) {
		t.Errorf("hold until %v, want now+20s", until)
	}
}

func TestTransportWithMaxRetryAfterZeroDisablesHolds(t *testing.T) {
	cfg := testConfig()
	cfg.ConsecutiveFailures = 100
	e := newClientEnvConfig(t, cfg, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "10")
		w.WriteHeader(429)
	}, breakerhttp.WithMaxRetryAfter(0))
	for range 3 {
		if code, err := e.get(t, "/"); err != nil || code != 429 {
			t.Fatalf("GET = %d, %v", code, err)
		}
	}
	if e.hits.Load() != 3 {
		t.Errorf("hits = %d, want 3", e.hits.Load())
	}
}

func TestTransportFallback(t *testing.T) {
	var gotRejection error
	e := newClientEnv(t, status, breakerhttp.WithFallback(func(req *http.Request, rejection error) (*http.Response, error) {
		gotRejection = rejection
		return &http.Response{StatusCode: 200, Header: http.Header{"X-Fallback": {"1"}}}, nil
	}))
	for range 3 {
		e.get(t, "/500")
	}
	e.metrics(t)
	resp, err := e.client.Get(e.srv.URL + "/200")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("X-Fallback") != "1" || len(b) != 0 || resp.Request == nil {
		t.Errorf("fallback response = %+v", resp)
	}
	var rej *breakerhttp.RejectedError
	if !errors.As(gotRejection, &rej) || !errors.Is(gotRejection, breaker.ErrOpen) {
		t.Errorf("fallback got %v, want the *RejectedError", gotRejection)
	}
	if e.hits.Load() != 3 {
		t.Errorf("hits = %d, want 3", e.hits.Load())
	}
}

func TestTransportWithKeyAndClassifier(t *testing.T) {
	e := newClientEnv(t, status,
		breakerhttp.WithKey(func(r *http.Request) string { return "api" + strings.Split(r.URL.Path, "/")[1] }),
		breakerhttp.WithClassifier(func(resp *http.Response, err error) breakerhttp.Outcome {
			if resp != nil && resp.StatusCode == 404 {
				return breakerhttp.Failure
			}
			return breakerhttp.DefaultClassifier(resp, err)
		}))
	e.get(t, "/404")
	e.get(t, "/200")
	if names := e.sup.Names(); len(names) != 2 || names[0] != "api200" || names[1] != "api404" {
		t.Fatalf("breakers = %v", names)
	}
	b, _ := e.sup.Get("api404")
	if m := b.Metrics(); m.Failures != 1 {
		t.Errorf("404 with a custom classifier: failures = %d", m.Failures)
	}

	e2 := newClientEnv(t, status, breakerhttp.WithKey(func(*http.Request) string { return "" }))
	body := &trackedBody{Reader: strings.NewReader("x")}
	req, _ := http.NewRequest("POST", e2.srv.URL, body)
	if _, err := e2.tr.RoundTrip(req); err == nil || !body.closed.Load() || e2.hits.Load() != 0 {
		t.Errorf("empty key: err %v, body closed %v, hits %d", err, body.closed.Load(), e2.hits.Load())
	}
}

func TestTransportPanicIsAFailure(t *testing.T) {
	sup := breaker.NewSupervisor()
	defer sup.Close()
	tr, _ := breakerhttp.NewTransport(sup, testConfig(), breakerhttp.WithNext(rtFunc(func(*http.Request) (*http.Response, error) {
		panic("next exploded")
	})))
	func() {
		defer func() {
			if r := recover(); r != "next exploded" {
				t.Errorf("recovered %v, want the panic to go on", r)
			}
		}()
		req, _ := http.NewRequest("GET", "http://h/", nil)
		tr.RoundTrip(req)
	}()
	b, _ := sup.Get("h")
	if m := b.Metrics(); m.Failures != 1 {
		t.Errorf("failures = %d, want 1", m.Failures)
	}
}

func TestTransportClosesResponseItDrops(t *testing.T) {
	sup := breaker.NewSupervisor()
	defer sup.Close()
	body := &trackedBody{Reader: strings.NewReader("x")}
	bad := errors.New("both")
	tr, _ := breakerhttp.NewTransport(sup, testConfig(), breakerhttp.WithNext(rtFunc(func(*http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Body: body}, bad
	})))
	req, _ := http.NewRequest("GET", "http://h/", nil)
	resp, err := tr.RoundTrip(req)
	if resp != nil || !errors.Is(err, bad) || !body.closed.Load() {
		t.Errorf("resp %v, err %v, body closed %v", resp, err, body.closed.Load())
	}

	// A classifier that panics: the response never reaches the caller.
	body2 := &trackedBody{Reader: strings.NewReader("x")}
	tr2, _ := breakerhttp.NewTransport(sup, testConfig(),
		breakerhttp.WithKey(func(*http.Request) string { return "k2" }),
		breakerhttp.WithNext(rtFunc(func(*http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: 200, Body: body2}, nil
		})),
		breakerhttp.WithClassifier(func(*http.Response, error) breakerhttp.Outcome { panic("classifier") }))
	func() {
		defer func() { recover() }()
		tr2.RoundTrip(req)
	}()
	b, _ := sup.Get("k2")
	if m := b.Metrics(); m.Failures != 1 || !body2.closed.Load() {
		t.Errorf("classifier panic: failures %d, body closed %v", m.Failures, body2.closed.Load())
	}
}

func TestTransportAfterSupervisorClose(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(status))
	defer srv.Close()
	sup := breaker.NewSupervisor()
	next := &http.Transport{}
	defer next.CloseIdleConnections()
	tr, _ := breakerhttp.NewTransport(sup, testConfig(), breakerhttp.WithNext(next))
	req, _ := http.NewRequest("GET", srv.URL, nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	sup.Close()
	req, _ = http.NewRequest("GET", srv.URL, nil)
	if _, err := tr.RoundTrip(req); !errors.Is(err, breaker.ErrStopped) {
		t.Errorf("after Close: err = %v, want ErrStopped", err)
	}
}

// Rejections must not open connections: a transport whose dialer counts
// dials sees none while the breaker is open.
func TestTransportRejectionsDialNothing(t *testing.T) {
	e := newClientEnv(t, status)
	for range 3 {
		e.get(t, "/500")
	}
	e.metrics(t)
	e.client.CloseIdleConnections()
	var dials int
	var mu sync.Mutex
	e.next.DialContext = func(ctx context.Context, network, addr string) (netConn, error) {
		mu.Lock()
		dials++
		mu.Unlock()
		return (&dialer{}).DialContext(ctx, network, addr)
	}
	for range 20 {
		if _, err := e.get(t, "/200"); !errors.Is(err, breaker.ErrOpen) {
			t.Fatalf("err = %v", err)
		}
	}
	if dials != 0 {
		t.Errorf("dials while open = %d", dials)
	}
}

func TestDefaultKey(t *testing.T) {
	req, _ := http.NewRequest("GET", "https://api.example.com:8443/x", nil)
	if k := breakerhttp.DefaultKey(req); k != "api.example.com:8443" {
		t.Errorf("DefaultKey = %q", k)
	}
	req, _ = http.NewRequest("GET", "https://api.example.com/x", nil)
	if k := breakerhttp.DefaultKey(req); k != "api.example.com" {
		t.Errorf("DefaultKey = %q", k)
	}
	req = &http.Request{URL: &url.URL{Path: "/x"}, Host: "h.internal"}
	if k := breakerhttp.DefaultKey(req); k != "h.internal" {
		t.Errorf("DefaultKey without URL.Host = %q", k)
	}
}

func TestTransportFallbackWithNothing(t *testing.T) {
	e := newClientEnv(t, status, breakerhttp.WithFallback(func(*http.Request, error) (*http.Response, error) {
		return nil, nil
	}))
	for range 3 {
		e.get(t, "/500")
	}
	e.metrics(t)
	if _, err := e.get(t, "/"); !errors.Is(err, breaker.ErrOpen) {
		t.Errorf("err = %v, want the rejection", err)
	}
}
