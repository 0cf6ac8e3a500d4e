package events

import "strconv"

// Kind is the kind of an Event. Kinds are small integers so that a set of
// them fits in one machine word (see Hub.Wants). A Kind is a plain value and
// safe to use from any goroutine.
type Kind uint8

// The kinds of events a breaker or supervisor publishes.
const (
	// StateChanged: the breaker moved From one state To another for Reason.
	StateChanged Kind = iota
	// CallRejected: a call was refused (open, forced open, too many probes).
	CallRejected
	// CallSucceeded: a permitted call reported success; Duration is its
	// duration when the breaker measured it.
	CallSucceeded
	// CallFailed: a permitted call reported failure; Duration as above.
	CallFailed
	// CallIgnored: a permitted call's outcome was ignored (not counted).
	CallIgnored
	// FallbackUsed: ExecuteWithFallback ran its fallback for a rejected call.
	FallbackUsed
	// ActorRestarted: the supervisor restarted a breaker's actor after a
	// panic, from the state it last published.
	ActorRestarted
	// StoreFailed: saving to, loading from or watching the state store
	// failed (once per outage); Err says what the store said, and Breaker
	// names the breaker whose save failed ("" for a load or a watch).
	StoreFailed

	numKinds = iota
)

var kindNames = [...]string{
	"state-changed", "call-rejected", "call-succeeded", "call-failed",
	"call-ignored", "fallback-used", "actor-restarted", "store-failed",
}

// String returns the lower-case, hyphenated name of the kind
// (e.g. "state-changed"), or "Kind(n)" for an unknown value.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// AllKinds returns every defined Kind, in order. It returns a new slice on
// each call, so the caller may keep or modify it. Handy as
// WithKinds(AllKinds()...).
func AllKinds() []Kind {
	ks := make([]Kind, numKinds)
	for i := range ks {
		ks[i] = Kind(i)
	}
	return ks
}

// kindSet is a set of kinds as a bitmask: bit k is set when kind k is in it.
// Kinds of 32 or more never match (a Go shift past the width yields 0).
type kindSet uint32

func (k Kind) bit() kindSet { return kindSet(1) << k }

// defaultKinds is what a subscription without WithKinds receives.
const defaultKinds = kindSet(1)<<StateChanged | kindSet(1)<<ActorRestarted | kindSet(1)<<StoreFailed
