package events_test

import (
	"fmt"

	"github.com/breakerlabs/breaker/engine"
	"github.com/breakerlabs/breaker/events"
)

func Example() {
	hub := events.NewHub() // owned by a breaker or a supervisor

	// A subscriber: state changes (the default kinds) of one breaker.
	sub := hub.Subscribe(events.WithBreakers("payments"), events.WithBuffer(16))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for e := range sub.C() { // ends when sub or the hub is closed
			fmt.Println(e)
		}
		fmt.Println("dropped:", sub.Dropped())
	}()

	// The publisher (the breaker's actor) assigns Seq and never waits.
	hub.Publish(events.Event{Breaker: "payments", Seq: 3, Kind: events.StateChanged,
		From: engine.Closed, To: engine.Open, Reason: events.ReasonFailureRate, Rate: 0.62})
	if hub.Wants(events.CallFailed) { // false: nobody asked for per-call events
		hub.Publish(events.Event{Breaker: "payments", Seq: 4, Kind: events.CallFailed})
	}
	hub.Publish(events.Event{Breaker: "search", Seq: 1, Kind: events.StateChanged,
		From: engine.Closed, To: engine.ForcedOpen, Reason: events.ReasonManual})
	hub.Publish(events.Event{Breaker: "payments", Seq: 4, Kind: events.StateChanged,
		From: engine.Open, To: engine.HalfOpen, Reason: events.ReasonOpenTimeout})

	hub.Close() // closes sub.C() after the buffered events
	<-done
	// Output:
	// payments #3 state-changed closed → open (failure-rate 0.62)
	// payments #4 state-changed open → half-open (open-timeout)
	// dropped: 0
}
