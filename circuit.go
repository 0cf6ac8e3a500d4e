package breaker

import "context"

// Circuit is what *Breaker and *MutexBreaker have in common: the two are
// interchangeable behind it, and Execute and ExecuteWithFallback take
// either. Every method is safe for concurrent use.
type Circuit interface {
	// Name returns the name the breaker was created with.
	Name() string
	// Acquire asks to start a call. On success the caller must report the
	// outcome on the returned Permit exactly once. On rejection the error
	// matches ErrOpen or ErrTooManyProbes (or is ErrStopped after Close,
	// or ctx's error), and the zero Permit is returned.
	Acquire(ctx context.Context) (Permit, error)
	// State returns the current state. It never changes it.
	State() State
	// Metrics returns a snapshot. It never changes the state.
	Metrics() Metrics
	// Reset moves to Closed, clearing the window and the backoff.
	Reset()
	// ForceOpen rejects every call until Reset.
	ForceOpen()
	// Disable admits every call and never trips, until Reset.
	Disable()
	// Close stops the breaker. It is idempotent.
	Close() error
}

// driver is a Circuit of this package (*Breaker or *MutexBreaker): it
// gives Execute and ExecuteWithFallback the base both drivers share, for
// timeouts and fallback counting. A Circuit implemented elsewhere is not
// one.
type driver interface {
	Circuit
	core() *base
}
