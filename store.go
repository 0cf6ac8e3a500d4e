package breaker

import (
	"context"
	"time"
)

// Record is one breaker's transition as a StateStore keeps it: only
// transitions are stored and shared, never window counters, and HalfOpen is
// never stored (each instance times Open → HalfOpen itself from Remaining).
//
// A Record is a plain value, safe to copy and share.
type Record struct {
	Name      string
	State     State         // Open, ForcedOpen, Disabled, or Closed (clears the name)
	Since     time.Time     // when the writer entered State, by its own clock
	Remaining time.Duration // Open: time left in the open period when written
	Attempt   int           // failed recoveries since Closed (drives backoff)
	Reason    Reason        // why the writer entered State
	Manual    bool          // Reset/ForceOpen/Disable by an operator: always wins
	Gen       uint64        // set by the store: strictly increasing per name
	BaseGen   uint64        // the Gen the writer had last seen for the name
	Origin    string        // the instance that decided
}

// StateStore keeps breakers' states across restarts. A Supervisor with a
// store (WithStateStore) loads it once when it starts and saves every
// transition behind the actors, never on a call's path.
//
// Implementations must be safe for concurrent use. Load returns every
// stored record; Save stores r (a Closed record clears the name) and
// returns what the store holds for the name afterwards, which may be a
// newer record written by someone else; Close releases the store.
type StateStore interface {
	Load(ctx context.Context) ([]Record, error)
	Save(ctx context.Context, r Record) (Record, error) // returns what the store holds now
	Close() error
}

// SharedStore is a StateStore that several instances share, so that a trip
// on one protects every instance.
type SharedStore interface {
	StateStore
	// Watch calls apply with records saved by other instances, in Gen order
	// per name, until ctx is done; after a reconnect it reloads everything.
	Watch(ctx context.Context, apply func(Record)) error
}
