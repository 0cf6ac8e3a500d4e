package breakerhttp

import (
	"bufio"
	"errors"
	"net"
	"net/http"

	"github.com/benbjohnson/clock"
	"github.com/breakerlabs/breaker"
)

// DefaultStatusClassifier is the Middleware's default judgement of a
// handled request: a 5xx status is a failure, anything else a success
// (including 0, a hijacked connection).
func DefaultStatusClassifier(status int) Outcome {
	if status >= 500 {
		return Failure
	}
	return Success
}

// Middleware returns middleware that protects a handler with the circuit
// c. For each request it acquires a permit from c:
//
//   - If c rejects the request (Open, ForcedOpen, or a HalfOpen breaker
//     whose probes are all in flight), the handler is not called. The
//     response is 503 Service Unavailable with a Retry-After header: the
//     seconds until the breaker's open deadline, rounded up and at least
//     1; ForcedOpenRetryAfter (60 s) when it is forced open, with no
//     deadline; TooManyProbesRetryAfter (1 s) when its probes are all in
//     flight. WithRetryAfter and WithRejectHandler change this. The
//     same is written, without Retry-After, if Acquire fails otherwise
//     (breaker.ErrStopped after c is closed, or the request's context
//     ended while waiting for a probe slot).
//   - Otherwise the handler is called with a ResponseWriter that records
//     the status code, and the outcome is reported when it returns:
//     DefaultStatusClassifier counts a 5xx status as a failure and
//     anything else as a success (WithStatusClassifier changes this). A
//     panic in the handler is counted as a failure and re-panicked, so
//     the server still sees it (http.ErrAbortHandler included).
//
// The ResponseWriter given to the handler implements http.Flusher and
// http.Hijacker when the server's does, and Unwrap for
// http.ResponseController. A status is recorded by WriteHeader (1xx
// informational statuses other than 101 are not final and not recorded),
// by the first Write or Flush (200), or is 200 if the handler wrote
// nothing at all; a hijacked connection records 0.
//
// The middleware reads the clock (WithClock) only to compute Retry-After.
//
// Middleware panics if c is nil.
func Middleware(c breaker.Circuit, opts ...MiddlewareOption) func(http.Handler) http.Handler {
	if c == nil {
		panic("breakerhttp: Middleware with a nil Circuit")
	}
	var o middlewareOptions
	for _, opt := range opts {
		if opt != nil {
			opt.applyMiddleware(&o)
		}
	}
	if o.clk == nil {
		o.clk = clock.New()
	}
	if o.classify == nil {
		o.classify = DefaultStatusClassifier
	}
	if o.retryAfter == nil {
		o.retryAfter = RetryAfter
	}
	if o.reject == nil {
		o.reject = defaultReject
	}
	return func(next http.Handler) http.Handler {
		return &protected{c: c, next: next, o: o}
	}
}

// protected is a handler behind a breaker.
type protected struct {
	c    breaker.Circuit
	next http.Handler
	o    middlewareOptions
}

func (h *protected) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, err := h.c.Acquire(r.Context())
	if err != nil {
		if errors.Is(err, breaker.ErrOpen) || errors.Is(err, breaker.ErrTooManyProbes) {
			if d := h.o.retryAfter(err, h.o.clk.Now()); d > 0 {
				w.Header().Set("Retry-After", retryAfterHeader(d))
			}
		}
		h.o.reject(w, r, err)
		return
	}
	rec := &recorder{ResponseWriter: w}
	resolved := false
	defer func() {
		if resolved {
			return
		}
		if v := recover(); v != nil {
			p.Failure()
			panic(v)
		}
		p.Ignore() // runtime.Goexit
	}()
	h.next.ServeHTTP(wrap(rec), r)
	status := rec.status
	if status == 0 && !rec.hijacked {
		status = http.StatusOK // what net/http sends for a handler that wrote nothing
	}
	o := h.o.classify(status)
	resolved = true
	report(p, o)
}

// defaultReject writes 503 Service Unavailable.
func defaultReject(w http.ResponseWriter, _ *http.Request, err error) {
	msg := "service unavailable"
	switch {
	case errors.Is(err, breaker.ErrOpen):
		msg += ": circuit open"
	case errors.Is(err, breaker.ErrTooManyProbes):
		msg += ": circuit recovering"
	}
	http.Error(w, msg, http.StatusServiceUnavailable)
}

// recorder records the final status code written through it.
type recorder struct {
	http.ResponseWriter
	status   int // 0 until a final status is sent
	hijacked bool
}

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap gives http.ResponseController the server's ResponseWriter.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *recorder) flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.ResponseWriter.(http.Flusher).Flush()
}

func (w *recorder) hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := w.ResponseWriter.(http.Hijacker).Hijack()
	if err == nil {
		w.hijacked = true
	}
	return c, rw, err
}

// The recorder with the optional interfaces of the server's ResponseWriter.
type (
	flushRecorder       struct{ *recorder }
	hijackRecorder      struct{ *recorder }
	flushHijackRecorder struct{ *recorder }
)

func (w flushRecorder) Flush() { w.flush() }

func (w hijackRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) { return w.hijack() }

func (w flushHijackRecorder) Flush() { w.flush() }

func (w flushHijackRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) { return w.hijack() }

// wrap returns rec as a ResponseWriter with the optional interfaces its
// underlying ResponseWriter has.
func wrap(rec *recorder) http.ResponseWriter {
	_, f := rec.ResponseWriter.(http.Flusher)
	_, h := rec.ResponseWriter.(http.Hijacker)
	switch {
	case f && h:
		return flushHijackRecorder{rec}
	case f:
		return flushRecorder{rec}
	case h:
		return hijackRecorder{rec}
	}
	return rec
}
