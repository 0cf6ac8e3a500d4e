package breakerhttp_test

// Regression tests for defects found by using the Transport as a new user
// would and by attacking it (issue 10). Each fails without its fix.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/breakerlabs/breaker"
	"github.com/breakerlabs/breaker/breakerhttp"
)

// TestRegressionCancelCauseIsNotAFailure: a request whose context is
// cancelled with a cause (context.WithCancelCause, as errgroup.WithContext
// does when a sibling fails) makes net/http return the cause, not
// context.Canceled. The Transport counted it as a failure, so cancelled
// siblings tripped a healthy host's breaker. The request context's own
// state decides first: cancelled by the caller is ignored, whatever the
// error says.
func TestRegressionCancelCauseIsNotAFailure(t *testing.T) {
	arrived := make(chan struct{}, 1)
	e := newClientEnv(t, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done()
	})
	cause := errors.New("a sibling request failed")
	const n = 5 // more than testConfig's 3 consecutive failures
	for range n {
		ctx, cancel := context.WithCancelCause(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL, nil)
		go func() {
			<-arrived
			cancel(cause)
		}()
		_, err := e.client.Do(req)
		if err == nil {
			t.Fatal("a cancelled request succeeded")
		}
	}
	m := e.metrics(t)
	if m.State != breaker.Closed || m.Failures != 0 || m.Ignored != n {
		t.Errorf("after %d requests cancelled with a cause: state %v, failures %d, ignored %d; want closed, 0, %d",
			n, m.State, m.Failures, m.Ignored, n)
	}

	// A deadline is still the server's fault: a failure.
	ctx, cancel := context.WithTimeoutCause(context.Background(), time.Millisecond, errors.New("too slow"))
	defer cancel()
	// The handler may or may not be reached before the deadline; arrived
	// has room for its one signal either way, so nothing waits on it.
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL, nil)
	if _, err := e.client.Do(req); err == nil {
		t.Fatal("a timed-out request succeeded")
	}
	if m := e.metrics(t); m.Failures != 1 {
		t.Errorf("a request past its deadline: failures %d; want 1", m.Failures)
	}
}

// TestRegressionRetryAfterHoldNeverOverflows: a Retry-After hold ending
// past the year 2262 (a huge Retry-After with a huge cap) wrapped
// time.UnixNano and was silently ignored. It must clamp and hold.
func TestRegressionRetryAfterHoldNeverOverflows(t *testing.T) {
	cfg := testConfig()
	cfg.ConsecutiveFailures = 100
	cfg.MaxOpenTimeout = math.MaxInt64
	for _, header := range []string{"99999999999999999999", "9223372036", "Fri, 31 Dec 9999 23:59:59 GMT"} {
		t.Run(header, func(t *testing.T) {
			e := newClientEnvConfig(t, cfg, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", header)
				w.WriteHeader(http.StatusServiceUnavailable)
			})
			e.mk.Set(time.Now()) // a realistic date: 2262 is a few centuries away
			if code, err := e.get(t, "/"); err != nil || code != 503 {
				t.Fatalf("first request: %d, %v", code, err)
			}
			until, held := e.tr.RetryAfterUntil(e.key())
			if !held || until.Before(e.mk.Now().AddDate(200, 0, 0)) {
				t.Fatalf("RetryAfterUntil = %v, %v; want a hold centuries long", until, held)
			}
			_, err := e.get(t, "/")
			if !errors.Is(err, breakerhttp.ErrRetryAfter) || e.hits.Load() != 1 {
				t.Fatalf("second request: %v (%d sent); want held back with ErrRetryAfter", err, e.hits.Load())
			}
		})
	}
}

// TestRegressionTransportFallbackCounted: with WithFallback the Transport
// served fallbacks while the breaker's Metrics.Fallbacks (and so
// circuitbreaker_fallbacks_total) stayed 0. A fallback that answers is
// counted, as ExecuteWithFallback counts its own; one that declines
// (nil, nil) is not.
func TestRegressionTransportFallbackCounted(t *testing.T) {
	serve := true
	e := newClientEnv(t, status, breakerhttp.WithFallback(func(req *http.Request, rejection error) (*http.Response, error) {
		if !serve {
			return nil, nil
		}
		return &http.Response{StatusCode: 200, Body: io.NopCloser(http.NoBody)}, nil
	}))
	for range 3 {
		e.get(t, "/500")
	}
	for i := range 4 {
		if code, err := e.get(t, "/200"); err != nil || code != 200 {
			t.Fatalf("fallback %d: %d, %v", i, code, err)
		}
	}
	serve = false
	if _, err := e.get(t, "/200"); !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("a declined fallback: %v; want the rejection", err)
	}
	if m := e.metrics(t); m.Fallbacks != 4 || m.Rejected != 5 {
		t.Errorf("Fallbacks %d, Rejected %d; want 4 (served), 5", m.Fallbacks, m.Rejected)
	}
}

// TestTransportPanickingClassifierResolvesPermit: any panicking user code
// on the call path must leave the permit resolved (as a failure) and the
// panic going on unchanged; a half-open probe slot is never lost.
func TestTransportPanickingClassifierResolvesPermit(t *testing.T) {
	errPanic := errors.New("classifier panicked")
	boom := false
	cfg := testConfig()
	cfg.HalfOpen.MaxWait = 0
	e := newClientEnvConfig(t, cfg, status, breakerhttp.WithClassifier(func(resp *http.Response, err error) breakerhttp.Outcome {
		if boom {
			panic(errPanic)
		}
		return breakerhttp.DefaultClassifier(resp, err)
	}))
	for range 3 {
		e.get(t, "/500")
	}
	e.mk.Add(cfg.OpenTimeout)
	if st := e.breaker(t).State(); st != breaker.HalfOpen {
		t.Fatalf("state %v; want half-open", st)
	}
	boom = true
	func() {
		defer func() {
			if r := recover(); !errors.Is(asError(r), errPanic) {
				t.Errorf("recovered %v; want the classifier's panic", r)
			}
		}()
		e.get(t, "/200")
	}()
	boom = false
	if m := e.metrics(t); m.State != breaker.Open || m.HalfOpenInFlight != 0 {
		t.Fatalf("after the probe's classifier panicked: %v with %d probes in flight; want open, 0", m.State, m.HalfOpenInFlight)
	}
}

// asError turns a recovered value into an error, for errors.Is. net/http's
// client does not recover a RoundTripper's panic, so the value arrives
// as the classifier threw it.
func asError(r any) error {
	if err, ok := r.(error); ok {
		return err
	}
	return fmt.Errorf("%v", r)
}
