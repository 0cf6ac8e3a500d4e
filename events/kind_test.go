package events_test

import (
	"testing"
	"time"

	"github.com/breakerlabs/breaker/engine"
	"github.com/breakerlabs/breaker/events"
)

func TestKindString(t *testing.T) {
	want := map[events.Kind]string{
		events.StateChanged:   "state-changed",
		events.CallRejected:   "call-rejected",
		events.CallSucceeded:  "call-succeeded",
		events.CallFailed:     "call-failed",
		events.CallIgnored:    "call-ignored",
		events.FallbackUsed:   "fallback-used",
		events.ActorRestarted: "actor-restarted",
		events.StoreFailed:    "store-failed",
		events.Kind(200):      "Kind(200)",
	}
	for k, s := range want {
		if got := k.String(); got != s {
			t.Errorf("Kind(%d).String() = %q, want %q", uint8(k), got, s)
		}
	}
	all := events.AllKinds()
	if len(all) != 8 || all[0] != events.StateChanged || all[7] != events.StoreFailed {
		t.Errorf("AllKinds() = %v", all)
	}
}

func TestReasonAliases(t *testing.T) {
	// The aliases are the engine's types: values are interchangeable.
	var r events.Reason = engine.ReasonFailureRate
	if r != events.ReasonFailureRate || r.String() != "failure-rate" {
		t.Errorf("Reason alias broken: %v", r)
	}
	var s events.State = engine.HalfOpen
	if s.String() != "half-open" {
		t.Errorf("State alias broken: %v", s)
	}
	pairs := []struct{ a, b engine.Reason }{
		{events.ReasonNone, engine.ReasonNone},
		{events.ReasonConsecutiveFailures, engine.ReasonConsecutiveFailures},
		{events.ReasonFailureRate, engine.ReasonFailureRate},
		{events.ReasonSlowCallRate, engine.ReasonSlowCallRate},
		{events.ReasonOpenTimeout, engine.ReasonOpenTimeout},
		{events.ReasonProbesSucceeded, engine.ReasonProbesSucceeded},
		{events.ReasonProbeFailed, engine.ReasonProbeFailed},
		{events.ReasonHalfOpenTimeout, engine.ReasonHalfOpenTimeout},
		{events.ReasonManual, engine.ReasonManual},
	}
	for _, p := range pairs {
		if p.a != p.b {
			t.Errorf("re-exported reason %v != engine %v", p.a, p.b)
		}
	}
}

func TestEventString(t *testing.T) {
	cases := []struct {
		e    events.Event
		want string
	}{
		{events.Event{Breaker: "payments", Seq: 3, Kind: events.StateChanged, From: engine.Closed, To: engine.Open,
			Reason: events.ReasonFailureRate, Rate: 0.62}, "payments #3 state-changed closed → open (failure-rate 0.62)"},
		{events.Event{Breaker: "payments", Seq: 4, Kind: events.StateChanged, From: engine.Closed, To: engine.Open,
			Reason: events.ReasonConsecutiveFailures, Count: 5}, "payments #4 state-changed closed → open (consecutive-failures 5)"},
		{events.Event{Breaker: "payments", Seq: 5, Kind: events.StateChanged, From: engine.Open, To: engine.HalfOpen,
			Reason: events.ReasonOpenTimeout}, "payments #5 state-changed open → half-open (open-timeout)"},
		{events.Event{Breaker: "db", Seq: 9, Kind: events.CallFailed, Duration: 12 * time.Millisecond}, "db #9 call-failed 12ms"},
		{events.Event{Breaker: "db", Seq: 10, Kind: events.CallRejected}, "db #10 call-rejected"},
		{events.Event{Breaker: "db", Seq: 11, Kind: events.ActorRestarted, To: engine.Open}, "db #11 actor-restarted (open)"},
	}
	for _, c := range cases {
		if got := c.e.String(); got != c.want {
			t.Errorf("String() = %q, want %q", got, c.want)
		}
	}
}
