// Package engine is the pure decision logic of a circuit breaker.
//
// Nothing in this package starts a goroutine, takes a lock, touches a
// channel or reads a clock. Callers hand it timestamps and outcomes; it
// answers with decisions: the next state, the reason, the figure that caused
// it and the next deadline. The actor-based Breaker and the MutexBreaker in
// the root package are two drivers of this one state machine, which is why it
// can be tested exhaustively and fuzzed against a naive model.
//
// A Machine is not safe for concurrent use: exactly one owner (an actor
// goroutine, or the holder of a mutex) may call its methods.
package engine
