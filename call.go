package breaker

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Execute runs fn under the circuit c:
//
//   - If c rejects the call, Execute returns the rejection (matching
//     ErrOpen or ErrTooManyProbes, or ErrStopped) without running fn.
//   - fn runs with a context that ends after Config.CallTimeout (if set),
//     measured on the breaker's clock. A call that ends after that deadline
//     is a failure, and Execute returns an error matching both ErrTimeout
//     and fn's own error (if any).
//   - Otherwise fn's result and error are returned unchanged, and the
//     outcome is reported as Permit.Done(err) would.
//   - A panic in fn is reported as a failure and re-panicked; a
//     runtime.Goexit in fn (t.FailNow, say) reports the call as ignored.
//     Either way the permit is resolved, so a half-open probe slot is
//     never leaked. So does a panic in Config.IsFailure (a failure).
//   - A nil c (or a nil *Breaker or *MutexBreaker in it) or a nil fn is a
//     programming error, returned as an error without acquiring anything.
//
// Execute is safe for concurrent use.
func Execute[T any](ctx context.Context, c Circuit, fn func(context.Context) (T, error)) (T, error) {
	v, _, err := execute(ctx, c, fn)
	return v, err
}

// execute is Execute, also reporting whether the call was rejected (as
// opposed to fn returning an error that happens to wrap a rejection).
func execute[T any](ctx context.Context, c Circuit, fn func(context.Context) (T, error)) (_ T, rejected bool, _ error) {
	var zero T
	if err := checkCall(c, fn == nil); err != nil {
		return zero, false, err
	}
	p, err := c.Acquire(ctx)
	if err != nil {
		return zero, isRejection(err), err
	}
	var b *base
	if d, ok := c.(driver); ok {
		b = d.core()
	}
	resolved := false
	defer func() {
		if resolved {
			return
		}
		if r := recover(); r != nil {
			p.Failure()
			panic(r)
		}
		p.Ignore() // runtime.Goexit
	}()
	callCtx := ctx
	var deadline time.Time
	var callTimeout time.Duration
	if b != nil {
		callTimeout = b.tuning().cfg.CallTimeout
	}
	if callTimeout > 0 {
		var cancel context.CancelFunc
		deadline = b.clk.Now().Add(callTimeout)
		callCtx, cancel = b.clk.WithDeadline(ctx, deadline)
		defer cancel()
	}
	v, err := fn(callCtx)
	// A call that ends at or after its deadline timed out, whether or not
	// the clock's timer has cancelled the context yet; a parent context
	// that ended first is the caller's doing, not a timeout.
	if !deadline.IsZero() && ctx.Err() == nil &&
		(errors.Is(callCtx.Err(), context.DeadlineExceeded) || !b.clk.Now().Before(deadline)) {
		resolved = true
		b.lifetime.timeouts.Add(1)
		p.Failure()
		if err == nil {
			return v, false, fmt.Errorf("%w after %v", ErrTimeout, callTimeout)
		}
		return v, false, fmt.Errorf("%w after %v: %w", ErrTimeout, callTimeout, err)
	}
	resolved = true
	p.Done(err)
	return v, false, err
}

// ExecuteWithFallback is Execute, except that when c rejects the call
// (Open, ForcedOpen, too many probes) it returns fallback(ctx, rejection)
// instead, and counts the fallback in Metrics.Fallbacks (and a
// FallbackUsed event). Errors from fn itself are returned as Execute
// returns them, without the fallback; so is ErrStopped. A nil fallback
// returns the rejection, uncounted.
//
// Unlike failsafe-go's and resilience4j's fallbacks, this one runs only
// when the breaker refuses the call, never when fn fails or panics: the
// breaker decides admission, and what to do with fn's own error is the
// caller's business (handle it after ExecuteWithFallback returns).
func ExecuteWithFallback[T any](ctx context.Context, c Circuit,
	fn func(context.Context) (T, error),
	fallback func(context.Context, error) (T, error)) (T, error) {
	v, rejected, err := execute(ctx, c, fn)
	if !rejected || fallback == nil {
		return v, err
	}
	if d, ok := c.(driver); ok {
		d.core().RecordFallback()
	}
	return fallback(ctx, err)
}

var (
	errNilCircuit = errors.New("breaker: Execute with a nil Circuit")
	errNilFn      = errors.New("breaker: Execute or Do with a nil fn")
)

// checkCall returns the error of a call that cannot be made: c is nil
// (or holds a nil breaker), or fn is.
func checkCall(c Circuit, nilFn bool) error {
	switch c := c.(type) {
	case nil:
		return errNilCircuit
	case *Breaker:
		if c == nil {
			return errNilCircuit
		}
	case *MutexBreaker:
		if c == nil {
			return errNilCircuit
		}
	}
	if nilFn {
		return errNilFn
	}
	return nil
}

// isRejection reports whether err is a breaker's refusal to admit a call.
func isRejection(err error) bool {
	return errors.Is(err, ErrOpen) || errors.Is(err, ErrTooManyProbes)
}
