package main

import (
	"fmt"
	"io"
	"time"

	"github.com/breakerlabs/breaker"
)

// With -state the breaker's state survives a restart through a
// filestore.Store. Its open period is then long enough to outlast one (the
// default 1 s would be over before `go run` has started again).
const stateOpenTimeout = 10 * time.Second

// stateConfig lengthens cfg's open period for a run with -state.
func stateConfig(cfg breaker.Config) breaker.Config {
	cfg.OpenTimeout = max(cfg.OpenTimeout, stateOpenTimeout)
	cfg.MaxOpenTimeout = max(cfg.MaxOpenTimeout, cfg.OpenTimeout*3/2)
	return cfg
}

// restored says what the breaker started as, given the state file.
func restored(w io.Writer, path string, m breaker.Metrics, storeErr error) {
	switch {
	case storeErr != nil:
		fmt.Fprintf(w, "state: %v\n  the breaker starts closed\n", storeErr)
	case m.State == breaker.Open:
		fmt.Fprintf(w, "state: restored from %s: %q is OPEN for another %v (it tripped before the restart);\n"+
			"  calls are refused until then, then half-open probes decide\n",
			path, m.Name, time.Until(m.OpenUntil).Round(10*time.Millisecond))
	case m.State == breaker.HalfOpen:
		fmt.Fprintf(w, "state: restored from %s: %q is half-open: its open period ended while the demo was stopped,\n"+
			"  so probes decide before traffic flows again\n", path, m.Name)
	case m.State != breaker.Closed:
		fmt.Fprintf(w, "state: restored from %s: %q is %v\n", path, m.Name, m.State)
	default:
		fmt.Fprintf(w, "state: %s holds nothing for %q: it starts closed\n", path, m.Name)
	}
}

// saved says what the state file holds at the end of a run.
func saved(w io.Writer, path string, m breaker.Metrics, storeErr error) {
	switch {
	case storeErr != nil:
		fmt.Fprintf(w, "\nstate: not saved: %v\n", storeErr)
	case m.State == breaker.Open:
		fmt.Fprintf(w, "\nstate: saved to %s: %q is open for another %v; run again before then and it starts open\n",
			path, m.Name, time.Until(m.OpenUntil).Round(10*time.Millisecond))
	default:
		fmt.Fprintf(w, "\nstate: saved to %s: %q is %v\n", path, m.Name, m.State)
	}
}
