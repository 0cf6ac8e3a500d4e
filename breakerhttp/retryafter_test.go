package breakerhttp_test

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/breakerlabs/breaker"
	"github.com/breakerlabs/breaker/breakerhttp"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"120", 2 * time.Minute, true},
		{" 5 ", 5 * time.Second, true},
		{"0", 0, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{"Sat, 01 Mar 2025 12:00:30 GMT", 30 * time.Second, true},
		{"Saturday, 01-Mar-25 12:00:30 GMT", 30 * time.Second, true}, // RFC 850
		{"Sat Mar  1 12:00:30 2025", 30 * time.Second, true},         // asctime
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},       // in the past
		{"99999999999999999999", time.Duration(math.MaxInt64), true},
		{"", 0, false},
		{"-5", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{"12abc", 0, false},
	} {
		got, ok := breakerhttp.ParseRetryAfter(c.in, now)
		if got != c.want || ok != c.ok {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	open := &breaker.OpenError{Breaker: "b", Until: now.Add(2500 * time.Millisecond)}
	for _, c := range []struct {
		name string
		err  error
		want time.Duration
	}{
		{"open", open, 2500 * time.Millisecond},
		{"open, wrapped", fmt.Errorf("get: %w", open), 2500 * time.Millisecond},
		{"open, past", &breaker.OpenError{Breaker: "b", Until: now.Add(-time.Second)}, 0},
		{"forced open", &breaker.OpenError{Breaker: "b"}, breakerhttp.ForcedOpenRetryAfter},
		{"too many probes", breaker.ErrTooManyProbes, breakerhttp.TooManyProbesRetryAfter},
		{"rejected open", &breakerhttp.RejectedError{Key: "b", Until: open.Until, Err: open}, 2500 * time.Millisecond},
		{"rejected by Retry-After", &breakerhttp.RejectedError{Key: "b", Until: now.Add(time.Minute), Err: breakerhttp.ErrRetryAfter}, time.Minute},
		{"stopped", breaker.ErrStopped, 0},
		{"other", errors.New("x"), 0},
		{"nil", nil, 0},
	} {
		if got := breakerhttp.RetryAfter(c.err, now); got != c.want {
			t.Errorf("%s: RetryAfter = %v, want %v", c.name, got, c.want)
		}
	}
	if !errors.Is(breakerhttp.ErrRetryAfter, breaker.ErrOpen) {
		t.Error("ErrRetryAfter does not match breaker.ErrOpen")
	}
}

func TestOutcomeString(t *testing.T) {
	for o, want := range map[breakerhttp.Outcome]string{
		breakerhttp.Success: "success", breakerhttp.Failure: "failure",
		breakerhttp.Ignore: "ignore", 9: "Outcome(9)",
	} {
		if got := o.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", uint8(o), got, want)
		}
	}
}
