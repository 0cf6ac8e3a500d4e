package main

import (
	"testing"

	"github.com/breakerlabs/breaker"
	"github.com/breakerlabs/breaker/events"
)

// A reopen by a slow successful probe says so, rather than "probe-failed":
// in the slow phase no call fails.
func TestReasonProbeSlow(t *testing.T) {
	tests := []struct {
		ev   events.Event
		want string
	}{
		{events.Event{Reason: breaker.ReasonProbeSlow}, "probe-slow: a probe succeeded, too slowly"},
		{events.Event{Reason: breaker.ReasonProbeSlow, Count: 2}, "probe-slow: a probe succeeded, too slowly (after 2 good)"},
		{events.Event{Reason: breaker.ReasonProbeFailed, Count: 1}, "probe-failed (after 1 good)"},
	}
	for _, tt := range tests {
		if got := reason(tt.ev); got != tt.want {
			t.Errorf("reason(%v) = %q, want %q", tt.ev.Reason, got, tt.want)
		}
	}
}
