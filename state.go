package breaker

import "github.com/breakerlabs/breaker/engine"

// State is the state of a breaker; see the engine package for its values'
// meaning. It is an alias, so breaker.State and engine.State are one type.
type State = engine.State

// The states of a breaker.
const (
	Closed     = engine.Closed     // admits every call and records outcomes
	Open       = engine.Open       // rejects every call until the open deadline
	HalfOpen   = engine.HalfOpen   // admits at most HalfOpen.MaxProbes probes at a time
	ForcedOpen = engine.ForcedOpen // rejects every call until Reset
	Disabled   = engine.Disabled   // admits every call, never trips, still counts
)

// Reason is the cause of a state transition.
type Reason = engine.Reason

// The reasons for a transition.
const (
	ReasonConsecutiveFailures = engine.ReasonConsecutiveFailures // too many failures in a row
	ReasonFailureRate         = engine.ReasonFailureRate         // failure rate at or over the threshold
	ReasonSlowCallRate        = engine.ReasonSlowCallRate        // slow-call rate at or over the threshold
	ReasonOpenTimeout         = engine.ReasonOpenTimeout         // the open duration elapsed
	ReasonProbesSucceeded     = engine.ReasonProbesSucceeded     // half-open probes succeeded
	ReasonProbeFailed         = engine.ReasonProbeFailed         // a half-open probe failed (or the rate was too low)
	ReasonHalfOpenTimeout     = engine.ReasonHalfOpenTimeout     // a half-open probe still unreported at MaxWait
	ReasonManual              = engine.ReasonManual              // Reset, ForceOpen or Disable
	ReasonProbeSlow           = engine.ReasonProbeSlow           // a half-open probe succeeded slowly (Strict)
	ReasonRemote              = engine.ReasonRemote              // adopted from another instance
	ReasonReconfigured        = engine.ReasonReconfigured        // new thresholds already exceeded
)
