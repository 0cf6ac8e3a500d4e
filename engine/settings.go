package engine

import (
	"fmt"
	"time"
)

// WindowKind selects how the sliding window forgets calls.
type WindowKind uint8

// Window kinds.
const (
	CountBased WindowKind = iota // the last Size calls
	TimeBased                    // the calls of the last Duration, in Buckets buckets
)

// String returns "count" or "time".
func (k WindowKind) String() string {
	switch k {
	case CountBased:
		return "count"
	case TimeBased:
		return "time"
	}
	return fmt.Sprintf("WindowKind(%d)", uint8(k))
}

// MarshalText encodes the kind as "count" or "time".
func (k WindowKind) MarshalText() ([]byte, error) {
	if k > TimeBased {
		return nil, fmt.Errorf("breaker: unknown WindowKind %d", uint8(k))
	}
	return []byte(k.String()), nil
}

// UnmarshalText decodes "count" or "time".
func (k *WindowKind) UnmarshalText(b []byte) error {
	switch string(b) {
	case "count":
		*k = CountBased
	case "time":
		*k = TimeBased
	default:
		return fmt.Errorf("breaker: unknown WindowKind %q (want \"count\" or \"time\")", b)
	}
	return nil
}

// HalfOpenMode selects how half-open probes decide between Closed and Open.
type HalfOpenMode uint8

// Half-open modes.
const (
	Strict HalfOpenMode = iota // any bad probe re-opens; SuccessThreshold successes in a row close
	ByRate                     // after MinimumProbes, close if the success rate ≥ SuccessRate
)

// String returns "strict" or "by-rate".
func (m HalfOpenMode) String() string {
	switch m {
	case Strict:
		return "strict"
	case ByRate:
		return "by-rate"
	}
	return fmt.Sprintf("HalfOpenMode(%d)", uint8(m))
}

// MarshalText encodes the mode as "strict" or "by-rate".
func (m HalfOpenMode) MarshalText() ([]byte, error) {
	if m > ByRate {
		return nil, fmt.Errorf("breaker: unknown HalfOpenMode %d", uint8(m))
	}
	return []byte(m.String()), nil
}

// UnmarshalText decodes "strict" or "by-rate".
func (m *HalfOpenMode) UnmarshalText(b []byte) error {
	switch string(b) {
	case "strict":
		*m = Strict
	case "by-rate":
		*m = ByRate
	default:
		return fmt.Errorf("breaker: unknown HalfOpenMode %q (want \"strict\" or \"by-rate\")", b)
	}
	return nil
}

// Window describes the sliding window over which rates are computed.
type Window struct {
	Kind     WindowKind    `json:"kind"`
	Size     int           `json:"size,omitempty"`     // CountBased: the last Size calls
	Duration time.Duration `json:"duration,omitempty"` // TimeBased: calls in the last Duration ...
	Buckets  int           `json:"buckets,omitempty"`  // ... kept in this many buckets
}

// BucketWidth is the width of one bucket of a time-based window
// (Duration / Buckets, at least 1ns; Buckets < 1 counts as one bucket).
func (w Window) BucketWidth() time.Duration {
	bw := w.Duration
	if w.Buckets > 1 {
		bw /= time.Duration(w.Buckets)
	}
	return max(bw, 1)
}

// HalfOpenPolicy says how many probes a half-open breaker admits and how
// their outcomes decide the next state. A probe is bad if it failed, or if
// it was slow while slow-call tripping is enabled (SlowCallRate > 0): a
// slow success reopens a Strict breaker (ReasonProbeSlow) and counts
// against SuccessRate in ByRate mode. MaxWait > 0 reclaims lost probes:
// when it ends with probes still unreported, the breaker reopens
// (ReasonHalfOpenTimeout); when it ends with none in flight, the half-open
// period restarts without a transition, since no traffic is no evidence.
type HalfOpenPolicy struct {
	MaxProbes        int           `json:"maxProbes"`
	Mode             HalfOpenMode  `json:"mode"`
	SuccessThreshold int           `json:"successThreshold,omitempty"` // Strict
	MinimumProbes    int           `json:"minimumProbes,omitempty"`    // ByRate
	SuccessRate      float64       `json:"successRate,omitempty"`      // ByRate, in (0,1]
	MaxWait          time.Duration `json:"maxWait,omitempty"`
}

// Settings is the part of a breaker's configuration the state machine
// needs. The root package validates it before handing it over; a Machine
// built from invalid Settings behaves sanely but unspecified.
type Settings struct {
	Window              Window
	MinimumCalls        int
	ConsecutiveFailures int
	FailureRate         float64
	SlowCallDuration    time.Duration
	SlowCallRate        float64
	OpenTimeout         time.Duration
	BackoffMultiplier   float64
	MaxOpenTimeout      time.Duration
	HalfOpen            HalfOpenPolicy
}

// OpenDuration is how long the breaker stays Open after a trip, given the
// number of trips from HalfOpen since it was last Closed:
// OpenTimeout × BackoffMultiplier^attempt, capped at MaxOpenTimeout.
func (s *Settings) OpenDuration(attempt int) time.Duration {
	limit := max(s.MaxOpenTimeout, s.OpenTimeout)
	if s.BackoffMultiplier <= 1 || attempt <= 0 {
		return s.OpenTimeout
	}
	d, fl := float64(s.OpenTimeout), float64(limit)
	for i := 0; i < attempt && d < fl; i++ {
		d *= s.BackoffMultiplier
	}
	if d >= fl {
		// The cap, as the integer it is: float64(limit) may round up past
		// the largest Duration, and converting that back overflows.
		return limit
	}
	return time.Duration(d)
}

// TracksDuration reports whether outcomes need a call duration: slow-call
// tracking is on or the window is time-based.
func (s *Settings) TracksDuration() bool {
	return s.SlowCallDuration > 0 || s.Window.Kind == TimeBased
}
