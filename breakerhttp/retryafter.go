package breakerhttp

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/breakerlabs/breaker"
)

// How long RetryAfter tells a client to wait when the breaker cannot say
// when it will admit calls again.
const (
	// ForcedOpenRetryAfter is the wait for a ForcedOpen breaker, which
	// stays open until someone calls Reset: an operator's decision with no
	// deadline, typically maintenance.
	ForcedOpenRetryAfter = 60 * time.Second
	// TooManyProbesRetryAfter is the wait for a HalfOpen breaker whose
	// probes are all in flight: their outcomes decide within about one
	// call's duration.
	TooManyProbesRetryAfter = time.Second
)

// RetryAfter returns how long a client should wait before retrying a
// call refused with rejection, as of now:
//
//   - an Open breaker's *breaker.OpenError: until its Until (0 if that
//     has passed);
//   - a ForcedOpen breaker's *breaker.OpenError (zero Until):
//     ForcedOpenRetryAfter;
//   - breaker.ErrTooManyProbes: TooManyProbesRetryAfter;
//   - a *RejectedError holding the server's Retry-After (ErrRetryAfter):
//     until its Until;
//   - anything else: 0, no advice.
//
// A *RejectedError is judged by the rejection it wraps.
func RetryAfter(rejection error, now time.Time) time.Duration {
	var re *RejectedError
	if errors.As(rejection, &re) && errors.Is(re.Err, ErrRetryAfter) {
		return max(re.Until.Sub(now), 0)
	}
	var oe *breaker.OpenError
	switch {
	case errors.As(rejection, &oe):
		if oe.Until.IsZero() {
			return ForcedOpenRetryAfter
		}
		return max(oe.Until.Sub(now), 0)
	case errors.Is(rejection, breaker.ErrTooManyProbes):
		return TooManyProbesRetryAfter
	}
	return 0
}

// retryAfterHeader formats d as a Retry-After value: whole seconds,
// rounded up, at least 1.
func retryAfterHeader(d time.Duration) string {
	secs := int64(math.Ceil(d.Seconds()))
	return strconv.FormatInt(max(secs, 1), 10)
}

// ParseRetryAfter parses a Retry-After header value (RFC 9110, section
// 10.2.3): a number of seconds, or an HTTP date, which is turned into a
// duration from now. A date in the past gives 0. It reports false for an
// empty or malformed value.
func ParseRetryAfter(value string, now time.Time) (time.Duration, bool) {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0, false
	}
	if value[0] >= '0' && value[0] <= '9' {
		secs, err := strconv.ParseUint(value, 10, 64)
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return time.Duration(math.MaxInt64), true
			}
			return 0, false
		}
		if secs > uint64(math.MaxInt64/int64(time.Second)) {
			return time.Duration(math.MaxInt64), true
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(value)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}
