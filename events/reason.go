package events

import "github.com/breakerlabs/breaker/engine"

// State is the state of a breaker, the engine's type under another name
// (the root package aliases it as breaker.State too, so all three are one
// type). Values are immutable and safe to share.
type State = engine.State

// Reason is the cause of a state transition, the engine's type under another
// name (also aliased as breaker.Reason). Values are immutable and safe to
// share.
type Reason = engine.Reason

// The reasons for a transition, re-exported from the engine. ReasonNone is
// the zero value and marks "no transition" (events other than StateChanged).
const (
	ReasonNone                = engine.ReasonNone
	ReasonConsecutiveFailures = engine.ReasonConsecutiveFailures // Closed → Open
	ReasonFailureRate         = engine.ReasonFailureRate         // Closed → Open
	ReasonSlowCallRate        = engine.ReasonSlowCallRate        // Closed → Open
	ReasonOpenTimeout         = engine.ReasonOpenTimeout         // Open → HalfOpen
	ReasonProbesSucceeded     = engine.ReasonProbesSucceeded     // HalfOpen → Closed
	ReasonProbeFailed         = engine.ReasonProbeFailed         // HalfOpen → Open
	ReasonHalfOpenTimeout     = engine.ReasonHalfOpenTimeout     // HalfOpen → Open
	ReasonManual              = engine.ReasonManual              // Reset, ForceOpen, Disable
	ReasonProbeSlow           = engine.ReasonProbeSlow           // a half-open probe succeeded slowly (Strict)
	ReasonRemote              = engine.ReasonRemote              // adopted from another instance
	ReasonReconfigured        = engine.ReasonReconfigured        // new thresholds already exceeded
)
