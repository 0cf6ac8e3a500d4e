package breakerhttp_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlabs/breaker"
	"github.com/breakerlabs/breaker/breakerhttp"
)

// testConfig trips after 3 failures in a row, stays open 30 s and closes
// after one successful probe, one at a time.
func testConfig() breaker.Config {
	return breaker.Config{
		Window:              breaker.CountWindow(10),
		ConsecutiveFailures: 3,
		OpenTimeout:         30 * time.Second,
		BackoffMultiplier:   1,
		MaxOpenTimeout:      time.Minute,
		HalfOpen:            breaker.HalfOpenPolicy{MaxProbes: 1, Mode: breaker.Strict, SuccessThreshold: 1},
	}
}

// clientEnv is a Transport on a mock clock in front of a test server.
type clientEnv struct {
	mk     *clock.Mock
	sup    *breaker.Supervisor
	tr     *breakerhttp.Transport
	next   *http.Transport
	client *http.Client
	srv    *httptest.Server
	hits   atomic.Int64 // requests that reached the server
}

func newClientEnv(t *testing.T, h http.HandlerFunc, opts ...breakerhttp.TransportOption) *clientEnv {
	t.Helper()
	return newClientEnvConfig(t, testConfig(), h, opts...)
}

func newClientEnvConfig(t *testing.T, cfg breaker.Config, h http.HandlerFunc, opts ...breakerhttp.TransportOption) *clientEnv {
	t.Helper()
	e := &clientEnv{mk: clock.NewMock()}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.hits.Add(1)
		h(w, r)
	}))
	e.sup = breaker.NewSupervisor(breaker.WithClock(e.mk))
	e.next = &http.Transport{}
	opts = append([]breakerhttp.TransportOption{breakerhttp.WithNext(e.next), breakerhttp.WithClock(e.mk)}, opts...)
	tr, err := breakerhttp.NewTransport(e.sup, cfg, opts...)
	if err != nil {
		t.Fatalf("NewTransport: %v", err)
	}
	e.tr = tr
	e.client = &http.Client{Transport: tr}
	t.Cleanup(func() {
		e.client.CloseIdleConnections()
		e.srv.Close()
		e.sup.Close()
	})
	return e
}

// key is the breaker name of the test server's requests.
func (e *clientEnv) key() string { return strings.TrimPrefix(e.srv.URL, "http://") }

// breaker returns the server's breaker, which must exist.
func (e *clientEnv) breaker(t *testing.T) *breaker.Breaker {
	t.Helper()
	b, ok := e.sup.Get(e.key())
	if !ok {
		t.Fatalf("no breaker %q in %v", e.key(), e.sup.Names())
	}
	return b
}

// metrics settles the breaker (its actor applies every report and trip
// made so far) and returns its metrics.
func (e *clientEnv) metrics(t *testing.T) breaker.Metrics {
	t.Helper()
	return e.breaker(t).Metrics()
}

// get sends a GET for path and returns the status, or the error. It reads
// and closes the body.
func (e *clientEnv) get(t *testing.T, path string) (int, error) {
	t.Helper()
	resp, err := e.client.Get(e.srv.URL + path)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// status is a handler that answers with the status named by the path,
// e.g. /500, and 200 for any other path.
func status(w http.ResponseWriter, r *http.Request) {
	code, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
	if err != nil || code < 200 || code > 599 {
		code = http.StatusOK
	}
	w.WriteHeader(code)
	io.WriteString(w, "body")
}

// trackedBody is a request body that records being closed.
type trackedBody struct {
	io.Reader
	closed atomic.Bool
}

func (b *trackedBody) Close() error { b.closed.Store(true); return nil }

// rtFunc is a RoundTripper made of a function.
type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type (
	netConn = net.Conn
	dialer  = net.Dialer
)
