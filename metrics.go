package breaker

import "time"

// Metrics is a point-in-time snapshot of a breaker. It is plain data, safe
// to copy and keep.
type Metrics struct {
	Name      string
	State     State
	Since     time.Time // when the current state was entered
	OpenUntil time.Time // zero unless Open

	// The current window, and the rates computed from it. The rates are −1
	// while the window holds fewer than Config.MinimumCalls calls.
	WindowCalls         int
	WindowFailures      int
	WindowSlowCalls     int
	WindowSlowFailures  int // slow calls in the window that also failed
	FailureRate         float64
	SlowCallRate        float64
	ConsecutiveFailures int
	HalfOpenInFlight    int

	// Lifetime counters. Every admitted call that was reported is in exactly
	// one of Successes, Failures and Ignored; SlowCalls and Timeouts overlap
	// them. Rejected counts calls refused by Open, ForcedOpen or the probe
	// limit; Trips counts entries into Open; Transitions counts every state
	// change.
	Successes, Failures, Ignored, SlowCalls, Timeouts uint64
	Rejected, Fallbacks, Trips, Transitions           uint64
}
