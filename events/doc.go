// Package events is how a circuit breaker tells the world what it does:
// state changes, actor restarts and, on request, every call's outcome.
//
// # Model
//
// A Hub is the fan-out point. A breaker (or a supervisor, for all its
// breakers) owns one and calls Publish; users call Subscribe and receive
// Event values from Subscription.C.
//
//   - Non-blocking. Publish never waits for a subscriber. Each delivery is a
//     non-blocking send into the subscriber's buffered channel (WithBuffer,
//     default 64). A subscriber never slows a breaker down.
//   - Drop and count. When a subscriber's buffer is full the event is dropped
//     for that subscriber only and counted in Subscription.Dropped. Because
//     Seq has no gaps at the source, a dropped event also shows as a gap in
//     the Seq numbers the subscriber sees.
//   - Order. The publisher assigns Event.Seq per breaker (strictly
//     increasing) and serialises its Publish calls per breaker; the hub keeps
//     the order of serialised calls for each subscriber, so every subscriber
//     sees each breaker's events in Seq order. Events of different breakers
//     may interleave arbitrarily.
//   - Filters. WithKinds selects kinds (default: StateChanged,
//     ActorRestarted and StoreFailed); WithBreakers selects breakers by name (default: all).
//     Per-call kinds cost nothing unless a subscription asks for them: the
//     publisher checks Hub.Wants, a single atomic load, before building such
//     an event.
//   - Close. Subscription.Close stops delivery and closes C; when it returns
//     nothing more is sent. Events already buffered can still be received,
//     and ranging over C ends after them. Closing the hub (as closing a
//     breaker or supervisor does) closes every subscription, and a later
//     Subscribe returns one whose C is already closed.
//   - Re-entrancy. A subscriber may call back into the breaker or supervisor
//     (read its state, Reset, ForceOpen, Subscribe, Close its own
//     subscription) from its receive loop without deadlock, because
//     publishing never waits for subscribers and holds no lock a subscriber
//     could need.
//
// # Logging
//
// Event.String formats an event on one line; Event.LogValue makes it a
// slog.LogValuer whose group holds only the fields that apply (package
// breakerlog logs every transition of a supervisor this way).
//
// Every exported method of Hub and Subscription is safe for concurrent use.
package events
