package breaker

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/benbjohnson/clock"
)

// The actor arms a state's timer before it publishes the state (DESIGN §2),
// so a test that sees State() == Open and at once advances a mock clock
// always fires the open timer. Nothing here sends the actor a message after
// the trip (no settle, no Metrics): only the timer can move it on. Seeded
// bug mut_publish_first (publish, then arm) makes the timer miss the
// advance and the breaker stay Open.
func TestActorArmsTimerBeforePublishing(t *testing.T) {
	cfg := DefaultConfig()
	cfg.ConsecutiveFailures = 1
	cfg.HalfOpen.MaxWait = 0
	for round := range 30 {
		mk := clock.NewMock()
		b, err := New("timer-first", cfg, WithClock(mk))
		if err != nil {
			t.Fatal(err)
		}
		p, err := b.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		p.Failure() // the actor trips on its own: the report only nudges it
		for b.State() != Open {
			runtime.Gosched() // react to the publication as fast as a caller can
		}
		mk.Add(cfg.OpenTimeout)
		eventually(t, fmt.Sprintf("round %d: half-open after the clock passed the open deadline (a timer armed after the state was published misses the advance)", round),
			func() bool { return b.State() == HalfOpen })
		b.Close()
	}
}
