package breakerhttp

import (
	"net/http"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlabs/breaker"
)

// A TransportOption configures NewTransport.
type TransportOption interface {
	applyTransport(*transportOptions)
}

// A MiddlewareOption configures Middleware.
type MiddlewareOption interface {
	applyMiddleware(*middlewareOptions)
}

// An Option configures both NewTransport and Middleware.
type Option interface {
	TransportOption
	MiddlewareOption
}

type transportOptions struct {
	clk       clock.Clock
	next      http.RoundTripper
	key       func(*http.Request) string
	classify  func(*http.Response, error) Outcome
	fallback  func(*http.Request, error) (*http.Response, error)
	maxHold   time.Duration
	holdIsSet bool
	configs   *breaker.ConfigSet
}

type middlewareOptions struct {
	clk        clock.Clock
	classify   func(status int) Outcome
	retryAfter func(rejection error, now time.Time) time.Duration
	reject     func(w http.ResponseWriter, r *http.Request, err error)
}

type transportOption func(*transportOptions)

func (f transportOption) applyTransport(o *transportOptions) { f(o) }

type middlewareOption func(*middlewareOptions)

func (f middlewareOption) applyMiddleware(o *middlewareOptions) { f(o) }

type clockOption struct{ c clock.Clock }

func (c clockOption) applyTransport(o *transportOptions)   { o.clk = c.c }
func (c clockOption) applyMiddleware(o *middlewareOptions) { o.clk = c.c }

// WithClock sets the clock the Transport and the Middleware read the time
// from, to turn deadlines into Retry-After durations and back. Pass the
// clock the breakers were given (breaker.WithClock), so that tests driving
// a clock.Mock see consistent Retry-After values. Default: the real clock.
func WithClock(c clock.Clock) Option {
	if c == nil {
		c = clock.New()
	}
	return clockOption{c}
}

// WithConfigSet makes the Transport create each key's breaker with
// cs.Config(key): the set's entry named by the key (by default the
// request's host, e.g. "api.example.com"), or else cs.Defaults, instead
// of the Config given to NewTransport. NewTransport validates every
// configuration in cs. As with any breaker of the Supervisor, the
// configuration is used when the breaker is created; to change live
// breakers, use Supervisor.Apply (or breaker.WatchConfigFile).
func WithConfigSet(cs breaker.ConfigSet) TransportOption {
	return transportOption(func(o *transportOptions) { o.configs = &cs })
}

// WithNext sets the RoundTripper that sends the requests the breaker
// admits. Default: http.DefaultTransport. A nil rt means the default.
func WithNext(rt http.RoundTripper) TransportOption {
	return transportOption(func(o *transportOptions) { o.next = rt })
}

// WithKey sets how a request is mapped to its breaker: requests with the
// same key share one breaker, named by the key, in the Transport's
// Supervisor. Default: DefaultKey, the request's host. The function must
// be safe for concurrent use and should return few distinct keys (each
// key is a breaker with its own goroutine); a request whose key is empty
// fails without being sent.
func WithKey(key func(*http.Request) string) TransportOption {
	return transportOption(func(o *transportOptions) { o.key = key })
}

// WithClassifier sets how a round trip's result is judged. Default:
// DefaultClassifier. The function must be safe for concurrent use.
func WithClassifier(classify func(*http.Response, error) Outcome) TransportOption {
	return transportOption(func(o *transportOptions) { o.classify = classify })
}

// WithFallback makes the Transport answer the requests it does not send
// (a *RejectedError: the breaker is open, its probes are all in flight,
// or the server's Retry-After is pending) with fallback(req, rejection)
// instead of returning the rejection. The request body is already closed
// when fallback runs. A response without a Body gets http.NoBody, and one
// without a Request gets req; if fallback returns neither a response nor
// an error (or returns the rejection it was given), the rejection is
// returned. A fallback that answers (a response, or an error of its own)
// is counted in the key's breaker Metrics.Fallbacks (and so in
// circuitbreaker_fallbacks_total), as breaker.ExecuteWithFallback counts
// its own; one that declines is not. The function must be safe for
// concurrent use.
func WithFallback(fallback func(req *http.Request, rejection error) (*http.Response, error)) TransportOption {
	return transportOption(func(o *transportOptions) { o.fallback = fallback })
}

// WithMaxRetryAfter caps how long a 429 or 503 response's Retry-After
// header holds a key's requests back (see Transport). Default: the
// Config's MaxOpenTimeout, so the server can keep a key closed to traffic
// no longer than the breaker's own longest back-off. Zero or a negative d
// turns holding off: Retry-After is then only passed on to the caller in
// the response.
func WithMaxRetryAfter(d time.Duration) TransportOption {
	return transportOption(func(o *transportOptions) { o.maxHold, o.holdIsSet = max(d, 0), true })
}

// WithStatusClassifier sets how the Middleware judges a handled request
// from the status code it sent: 200 if the handler wrote nothing, 0 if it
// hijacked the connection. Default: DefaultStatusClassifier (5xx is a
// failure). The function must be safe for concurrent use.
func WithStatusClassifier(classify func(status int) Outcome) MiddlewareOption {
	return middlewareOption(func(o *middlewareOptions) { o.classify = classify })
}

// WithRetryAfter sets how long the Middleware tells a rejected client to
// wait, given the rejection and the time now; the Retry-After header
// carries it in whole seconds, rounded up, at least 1. A result ≤ 0 leaves
// the header out. Default: RetryAfter.
func WithRetryAfter(f func(rejection error, now time.Time) time.Duration) MiddlewareOption {
	return middlewareOption(func(o *middlewareOptions) { o.retryAfter = f })
}

// WithRejectHandler sets what the Middleware writes for a request it does
// not pass to the handler. It is called with the Acquire error (a
// rejection matching breaker.ErrOpen or breaker.ErrTooManyProbes,
// breaker.ErrStopped, or the request context's error) after the
// Retry-After header has been set on w (for rejections), and must write
// the response. Default: 503 Service Unavailable with a one-line plain
// text body.
func WithRejectHandler(h func(w http.ResponseWriter, r *http.Request, err error)) MiddlewareOption {
	return middlewareOption(func(o *middlewareOptions) { o.reject = h })
}
