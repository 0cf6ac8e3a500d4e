package breakerhttp

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlabs/breaker"
)

// Outcome is how a call is counted by its breaker.
type Outcome uint8

// The outcomes of a call.
const (
	Success Outcome = iota // counted as a success
	Failure                // counted as a failure
	Ignore                 // not counted: says nothing about the server
)

// String returns "success", "failure" or "ignore".
func (o Outcome) String() string {
	switch o {
	case Success:
		return "success"
	case Failure:
		return "failure"
	case Ignore:
		return "ignore"
	}
	return fmt.Sprintf("Outcome(%d)", uint8(o))
}

// report resolves p with o.
func report(p breaker.Permit, o Outcome) {
	switch o {
	case Success:
		p.Success()
	case Failure:
		p.Failure()
	default:
		p.Ignore()
	}
}

// DefaultKey is the default breaker key of a request: its URL's host
// (with the port, if the URL has one), or req.Host when the URL has none.
func DefaultKey(req *http.Request) string {
	if req.URL != nil && req.URL.Host != "" {
		return req.URL.Host
	}
	return req.Host
}

// DefaultClassifier is the default judgement of a round trip:
//
//   - an error caused by the request's context being cancelled
//     (context.Canceled: the caller gave up) is ignored (the Transport
//     also ignores, before calling any classifier, every error of a
//     request whose context the caller cancelled, with any cause);
//   - any other error (a connection failure, a timeout, including a
//     context deadline) is a failure;
//   - a 5xx response and 429 Too Many Requests are failures;
//   - every other response (1xx, 2xx, 3xx, other 4xx) is a success: the
//     server is up and answering, the request was wrong.
func DefaultClassifier(resp *http.Response, err error) Outcome {
	switch {
	case err != nil:
		if errors.Is(err, context.Canceled) {
			return Ignore
		}
		return Failure
	case resp.StatusCode >= 500, resp.StatusCode == http.StatusTooManyRequests:
		return Failure
	}
	return Success
}

// ErrRetryAfter is the reason a Transport did not send a request while a
// server's Retry-After was pending: the server asked for time. It matches
// breaker.ErrOpen, so one errors.Is check covers every "not sent, back
// off" error.
var ErrRetryAfter = fmt.Errorf("breakerhttp: server asked to retry later (Retry-After): %w", breaker.ErrOpen)

// RejectedError is the error of a request the Transport did not send. It
// wraps the reason, so errors.Is(err, breaker.ErrOpen) holds while the
// breaker is Open or ForcedOpen (Err is its *breaker.OpenError) or the
// server's Retry-After is pending (Err is ErrRetryAfter), and
// errors.Is(err, breaker.ErrTooManyProbes) while a HalfOpen breaker's
// probes are all in flight.
type RejectedError struct {
	Key   string    // the breaker key (and name) of the request
	Until time.Time // when requests may be sent again, if known; zero otherwise
	Err   error     // the reason
}

// Error describes the rejection.
func (e *RejectedError) Error() string {
	return fmt.Sprintf("breakerhttp: request to %q not sent: %v", e.Key, e.Err)
}

// Unwrap returns the reason.
func (e *RejectedError) Unwrap() error { return e.Err }

// Transport is an http.RoundTripper that sends each request through a
// circuit breaker: one per key (by default the request's host), made on
// first use with the Transport's Config (or, with WithConfigSet, the
// set's configuration for the key) in its Supervisor, named by the key.
// Breakers of the same name in that Supervisor are shared, with other
// Transports too, and keep the Config they were created with until it is
// changed through the Supervisor (Reconfigure, Apply).
//
// For each request, RoundTrip:
//
//  1. Acquires a permit from the key's breaker. If the breaker rejects,
//     the request is not sent: its body is closed and RoundTrip returns a
//     *RejectedError (matching breaker.ErrOpen or breaker.ErrTooManyProbes),
//     or the fallback's answer (WithFallback). Nothing is dialled and no
//     goroutine is started.
//  2. Sends the request with the next RoundTripper (WithNext).
//  3. Reports the outcome as soon as RoundTrip of the next RoundTripper
//     returns, that is when the response headers have arrived, without
//     waiting for the body to be read: DefaultClassifier counts errors,
//     5xx and 429 as failures and the rest as successes, and ignores a
//     cancelled request (WithClassifier changes this). A request whose
//     context the caller cancelled is ignored before any classifier
//     runs, whatever error the round trip returned: net/http returns
//     the cancellation's cause (context.WithCancelCause, as
//     errgroup.WithContext uses), and siblings cancelled because one
//     request failed say nothing about the server. A context that ran
//     past its deadline is left to the classifier (a failure by
//     default). A call's duration,
//     for slow-call detection, is therefore its time to response headers.
//     A panic in the next RoundTripper counts as a failure and goes on.
//  4. Returns the response (or error) unchanged. Failure responses are
//     handed to the caller like any other: the caller reads and closes
//     the body as usual. (Should the next RoundTripper break its contract
//     and return a response with an error, the response body is closed
//     and only the error returned.)
//
// Retry-After: a 429 or 503 response carrying a valid Retry-After header
// (seconds or an HTTP date) is returned to the caller unchanged, counted
// as DefaultClassifier says, and also holds the key's requests back: until
// that time has passed (capped by WithMaxRetryAfter, by default the
// Config's MaxOpenTimeout), requests to the key are not sent and fail with
// a *RejectedError wrapping ErrRetryAfter, with Until set to the end of
// the hold (a hold past the year 2262 ends then). A later Retry-After extends the hold, never shortens it. Held
// requests are not breaker calls: they are neither admitted nor counted in
// the breaker's Metrics, and use no half-open probe slot. So a breaker
// whose probe got a 503 with Retry-After: 120 stays closed to traffic for
// 120 s even if its OpenTimeout is shorter.
//
// Config.CallTimeout and Config.IsFailure are not used: bound requests
// with http.Client.Timeout or a context deadline (a request that times
// out is a failure) and judge them with WithClassifier.
//
// A Transport is safe for concurrent use. Its breakers live in the
// Supervisor, so close the Supervisor, not the Transport, to stop them;
// after that RoundTrip fails with breaker.ErrStopped.
type Transport struct {
	sup      *breaker.Supervisor
	cfg      breaker.Config
	next     http.RoundTripper
	key      func(*http.Request) string
	classify func(*http.Response, error) Outcome
	fallback func(*http.Request, error) (*http.Response, error)
	clk      clock.Clock
	maxHold  time.Duration
	holds    sync.Map           // key → *atomic.Int64: the hold's end, Unix ns
	configs  *breaker.ConfigSet // WithConfigSet; nil: cfg for every key
}

// NewTransport returns a Transport that makes its breakers with cfg in s.
// It returns an error if s is nil or cfg is invalid (cfg.Validate).
func NewTransport(s *breaker.Supervisor, cfg breaker.Config, opts ...TransportOption) (*Transport, error) {
	if s == nil {
		return nil, errors.New("breakerhttp: NewTransport needs a Supervisor, got nil")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var o transportOptions
	for _, opt := range opts {
		if opt != nil {
			opt.applyTransport(&o)
		}
	}
	if o.configs != nil {
		if err := validateSet(*o.configs); err != nil {
			return nil, err
		}
	}
	t := &Transport{
		sup:      s,
		cfg:      cfg,
		next:     o.next,
		key:      o.key,
		classify: o.classify,
		fallback: o.fallback,
		clk:      o.clk,
		maxHold:  cfg.MaxOpenTimeout,
		configs:  o.configs,
	}
	if t.next == nil {
		t.next = http.DefaultTransport
	}
	if t.key == nil {
		t.key = DefaultKey
	}
	if t.classify == nil {
		t.classify = DefaultClassifier
	}
	if t.clk == nil {
		t.clk = clock.New()
	}
	if o.holdIsSet {
		t.maxHold = o.maxHold
	}
	return t, nil
}

// RoundTrip sends req through its key's breaker; see Transport.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	key := t.key(req)
	if key == "" {
		closeBody(req)
		return nil, fmt.Errorf("breakerhttp: no breaker key for request to %q", req.URL.Redacted())
	}
	cfg := t.cfg
	if t.configs != nil {
		cfg = t.configs.Config(key)
	}
	b, err := t.sup.GetOrCreate(key, cfg)
	if err != nil {
		closeBody(req)
		return nil, fmt.Errorf("breakerhttp: breaker %q: %w", key, err)
	}
	if until, held := t.held(key); held {
		closeBody(req)
		return t.reject(b, req, &RejectedError{Key: key, Until: until, Err: ErrRetryAfter})
	}
	p, err := b.Acquire(req.Context())
	if err != nil {
		closeBody(req)
		var oe *breaker.OpenError
		switch {
		case errors.As(err, &oe):
			return t.reject(b, req, &RejectedError{Key: key, Until: oe.Until, Err: err})
		case errors.Is(err, breaker.ErrTooManyProbes):
			return t.reject(b, req, &RejectedError{Key: key, Err: err})
		}
		return nil, err // breaker.ErrStopped, or the context's error
	}
	resp, err := t.send(p, req)
	if resp != nil && t.maxHold > 0 &&
		(resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		now := t.clk.Now()
		if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), now); ok && d > 0 {
			t.hold(key, now.Add(min(d, t.maxHold)))
		}
	}
	return resp, err
}

// send makes the round trip under permit p and reports its outcome
// exactly once, also if the next RoundTripper or the classifier panics.
func (t *Transport) send(p breaker.Permit, req *http.Request) (resp *http.Response, err error) {
	resolved := false
	defer func() {
		if resolved {
			return
		}
		r := recover()
		if resp != nil && resp.Body != nil {
			resp.Body.Close() // the classifier panicked: the caller never gets resp
		}
		if r != nil {
			p.Failure()
			panic(r)
		}
		p.Ignore() // runtime.Goexit
	}()
	resp, err = t.next.RoundTrip(req)
	if resp != nil && err != nil {
		// A RoundTripper must not return both; http.Client would drop the
		// response without closing it.
		if resp.Body != nil {
			resp.Body.Close()
		}
		resp = nil
	}
	if resp == nil && err == nil {
		err = fmt.Errorf("breakerhttp: %T returned a nil response and a nil error", t.next)
	}
	o := Ignore
	if err == nil || !cancelled(req.Context()) {
		o = t.classify(resp, err)
	}
	resolved = true
	report(p, o)
	return resp, err
}

// cancelled reports whether ctx was cancelled by the caller (not ended by
// its deadline), whatever cause it was cancelled with.
func cancelled(ctx context.Context) bool {
	return errors.Is(ctx.Err(), context.Canceled)
}

// reject answers a request that was not sent, with the fallback if there
// is one and it answers; an answer is counted in b's Metrics.Fallbacks.
func (t *Transport) reject(b *breaker.Breaker, req *http.Request, rej *RejectedError) (*http.Response, error) {
	if t.fallback == nil {
		return nil, rej
	}
	resp, err := t.fallback(req, rej)
	if resp == nil && (err == nil || err == error(rej)) {
		return nil, rej // the fallback had nothing to offer
	}
	b.RecordFallback()
	if resp != nil {
		if resp.Body == nil {
			resp.Body = http.NoBody
		}
		if resp.Request == nil {
			resp.Request = req
		}
	}
	return resp, err
}

// held reports whether key's requests are held back by a Retry-After, and
// until when.
func (t *Transport) held(key string) (time.Time, bool) {
	v, ok := t.holds.Load(key)
	if !ok {
		return time.Time{}, false
	}
	end := v.(*atomic.Int64).Load()
	if end == 0 {
		return time.Time{}, false
	}
	until := time.Unix(0, end)
	if !t.clk.Now().Before(until) {
		return time.Time{}, false
	}
	return until, true
}

// hold holds key's requests back until until, unless they already are
// for longer.
func (t *Transport) hold(key string, until time.Time) {
	v, _ := t.holds.LoadOrStore(key, new(atomic.Int64))
	end := v.(*atomic.Int64)
	n := int64(math.MaxInt64) // until is past 2262, where UnixNano wraps
	if until.Before(maxHoldEnd) {
		n = until.UnixNano()
	}
	for {
		cur := end.Load()
		if cur >= n || end.CompareAndSwap(cur, n) {
			return
		}
	}
}

// maxHoldEnd is the latest hold end that Unix nanoseconds can hold (in
// 2262); a later one is clamped to it.
var maxHoldEnd = time.Unix(0, math.MaxInt64)

// RetryAfterUntil returns when the hold that a server's Retry-After put on
// key ends, and whether one is pending.
func (t *Transport) RetryAfterUntil(key string) (time.Time, bool) {
	return t.held(key)
}

// CloseIdleConnections closes the idle connections of the next
// RoundTripper, if it has such a method (http.Transport does).
// http.Client.CloseIdleConnections calls it.
func (t *Transport) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// closeBody closes a request body the Transport will not send, as a
// RoundTripper must.
func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// validateSet validates every configuration of cs, naming the entry of
// each problem.
func validateSet(cs breaker.ConfigSet) error {
	var errs []error
	if err := cs.Defaults.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("breakerhttp: WithConfigSet: Defaults: %w", err))
	}
	names := make([]string, 0, len(cs.Breakers))
	for name := range cs.Breakers {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if err := cs.Breakers[name].Validate(); err != nil {
			errs = append(errs, fmt.Errorf("breakerhttp: WithConfigSet: Breakers[%q]: %w", name, err))
		}
	}
	return errors.Join(errs...)
}
