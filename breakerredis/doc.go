// Package breakerredis is a fleet-wide breaker.SharedStore on Redis: a trip
// on one instance of a service makes every instance reject, within a few
// milliseconds, without Redis ever being on a call's path.
//
//	st := breakerredis.New(rdb, "checkout") // rdb: any redis.UniversalClient
//	defer st.Close()
//	sup := breaker.NewSupervisor(breaker.WithStateStore(st))
//	defer sup.Close()
//
// Each instance decides on its own; instances share transitions, never
// counters. The supervisor saves a transition from its background writer;
// the store runs one Lua script that merges it with what the namespace
// holds (one hash, one field per breaker), gives it a Gen and publishes it
// on the namespace's channel in the same atomic step. Every other instance
// hears it on Watch and its breaker adopts it (reason ReasonRemote).
//
// The merge rule, biased to fail-safe: an operator's action (ForceOpen,
// Disable, Reset) always wins; opening is always accepted, and two trips
// at once give one open period ending at the later deadline; closing is
// accepted only from a writer that had seen the latest record. The time an
// open period has left travels, never a timestamp: the script computes it
// from Redis's TIME and each instance adds it to its own clock, so clock
// skew between instances does not matter. The propagation delay does: the
// time a record takes to reach Redis, and then each instance, lengthens
// the period it starts there by as much (fail-safe: never shortens it).
//
// Consistency is eventual. Pub/sub is at-most-once, so Watch reloads the
// whole namespace after every reconnection and periodically
// (WithAntiEntropy); records carry Gens, so a stale or replayed message
// changes nothing. While Redis is unreachable every instance runs on its
// own state as if it had no store; the supervisor reports one StoreFailed
// per outage; on reconnection the fleet converges, and records Redis lost
// (a restart without persistence) are saved again by the instances that
// hold them.
//
// WithQuorum(k) keeps one misbehaving instance from opening the fleet;
// WithSingleProber lets one instance probe a recovering dependency while
// the others stay Open until it decides.
package breakerredis
