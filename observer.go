package breaker

import "context"

// CallObserver sees every Acquire of a breaker as it is decided, with the
// caller's context, so that tracing (breakerotel) can mark the caller's span
// with the breaker's answer: a short-circuit then reads differently from a
// downstream failure.
//
// Exactly one of the two methods is called per Acquire, synchronously, on
// the goroutine that called Acquire, after the decision is made and before
// Acquire returns; no breaker lock is held, so an observer may call back
// into the breaker (State, Metrics). Both methods may be called from many
// goroutines at once and must be safe for concurrent use; they must not
// block, and they should not allocate, since they run on the call path.
//
//   - Admitted: Acquire granted a permit in state s (Closed, Disabled, or
//     HalfOpen with probe true for a half-open probe).
//   - Rejected: Acquire returned err, which is what the caller receives: an
//     *OpenError (Open, ForcedOpen, or a trip latched before the actor made
//     it formal; errors.Is(err, ErrOpen)), ErrTooManyProbes, or ErrStopped
//     after Close. s is the state the decision was made in (Open for a
//     latched trip; after Close, the last state).
//
// name is the breaker's name.
type CallObserver interface {
	Admitted(ctx context.Context, name string, s State, probe bool)
	Rejected(ctx context.Context, name string, s State, err error)
}

// WithCallObserver makes every Acquire of the breaker report to o (see
// CallObserver). It is a Breaker, MutexBreaker and Supervisor option: on a
// supervisor it applies to every breaker the supervisor creates (not to one
// made by New and adopted later, which keeps its own). A nil o, the
// default, means no observer: Acquire then pays one predictable branch.
// The last WithCallObserver given wins.
func WithCallObserver(o CallObserver) Option {
	return optionFunc(func(opts *options) { opts.observer = o })
}
