package engine

import "strconv"

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

// Admits reports whether calls are admitted in s without consulting the
// half-open probe limit (Closed and Disabled).
func (s State) Admits() bool { return s == Closed || s == Disabled }

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
	ReasonHalfOpenTimeout            // HalfOpen → Open: no decision within MaxWait
	ReasonManual                     // Reset, ForceOpen or Disable
)

var reasonNames = [...]string{
	"none", "consecutive-failures", "failure-rate", "slow-call-rate", "open-timeout",
	"probes-succeeded", "probe-failed", "half-open-timeout", "manual",
}

// String returns the lower-case, hyphenated name of the reason
// (e.g. "failure-rate").
func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "Reason(" + strconv.Itoa(int(r)) + ")"
}
