package engine

import (
	"fmt"
	"strconv"
)

// State is the state of a circuit breaker.
type State uint8

// The states of a circuit breaker. The zero value is Closed.
const (
	Closed     State = iota // admits every call and records outcomes
	Open                    // rejects every call until the open deadline
	HalfOpen                // admits a bounded number of probe calls
	ForcedOpen              // rejects every call until Reset
	Disabled                // admits every call, never trips, still counts
)

var stateNames = [...]string{"closed", "open", "half-open", "forced-open", "disabled"}

// String returns the lower-case, hyphenated name of the state
// ("closed", "open", "half-open", "forced-open", "disabled").
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText encodes the state as its String form, so JSON shows the name.
func (s State) MarshalText() ([]byte, error) {
	if int(s) >= len(stateNames) {
		return nil, fmt.Errorf("breaker: unknown State %d", uint8(s))
	}
	return []byte(stateNames[s]), nil
}

// UnmarshalText decodes a state's String form ("closed", "open", …).
func (s *State) UnmarshalText(b []byte) error {
	for i, name := range stateNames {
		if string(b) == name {
			*s = State(i)
			return nil
		}
	}
	return fmt.Errorf("breaker: unknown State %q", b)
}

// Reason is the cause of a state transition.
type Reason uint8

// The reasons for a transition. The zero value, ReasonNone, is never the
// reason of a transition; it marks "no transition".
const (
	ReasonNone                Reason = iota
	ReasonConsecutiveFailures        // Closed → Open: too many failures in a row
	ReasonFailureRate                // Closed → Open: failure rate at or over the threshold
	ReasonSlowCallRate               // Closed → Open: slow-call rate at or over the threshold
	ReasonOpenTimeout                // Open → HalfOpen: the open duration elapsed
	ReasonProbesSucceeded            // HalfOpen → Closed
	ReasonProbeFailed                // HalfOpen → Open
	ReasonHalfOpenTimeout            // HalfOpen → Open: probes still unreported at MaxWait
	ReasonManual                     // Reset, ForceOpen or Disable
	ReasonProbeSlow                  // HalfOpen → Open (Strict): a probe succeeded, but slowly
	ReasonRemote                     // adopted from another instance through a shared store
	ReasonReconfigured               // Closed → Open: new thresholds already exceeded
)

var reasonNames = [...]string{
	"none", "consecutive-failures", "failure-rate", "slow-call-rate", "open-timeout",
	"probes-succeeded", "probe-failed", "half-open-timeout", "manual",
	"probe-slow", "remote", "reconfigured",
}

// String returns the lower-case, hyphenated name of the reason
// (e.g. "failure-rate").
func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "Reason(" + strconv.Itoa(int(r)) + ")"
}

// MarshalText encodes the reason as its String form, so JSON shows the name.
func (r Reason) MarshalText() ([]byte, error) {
	if int(r) >= len(reasonNames) {
		return nil, fmt.Errorf("breaker: unknown Reason %d", uint8(r))
	}
	return []byte(reasonNames[r]), nil
}

// UnmarshalText decodes a reason's String form ("failure-rate", …).
func (r *Reason) UnmarshalText(b []byte) error {
	for i, name := range reasonNames {
		if string(b) == name {
			*r = Reason(i)
			return nil
		}
	}
	return fmt.Errorf("breaker: unknown Reason %q", b)
}
