package breaker

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/breakerlabs/breaker/engine"
)

// tuningKey identifies a Config with no IsFailure: its engine settings and
// the one field they leave out.
type tuningKey struct {
	settings    engine.Settings
	callTimeout time.Duration
}

// sharedTunings interns the tunings breakers start with, so that a million
// breakers made from one configuration hold one pointer each instead of a
// copy of the configuration and its settings (≈330 B). A Config with
// IsFailure set cannot be compared, so it gets its own tuning; so does
// every Reconfigure. The table only grows, by one entry per distinct
// configuration breakers were created with.
var sharedTunings sync.Map // tuningKey → *tuning

// lastTuning is the tuning interned last: breakers are usually made many
// at a time from one configuration, and comparing with it is cheaper than
// hashing the key.
var lastTuning atomic.Pointer[struct {
	key tuningKey
	t   *tuning
}]

// sharedTuning returns the tuning a breaker created with cfg starts with,
// shared with every other breaker created with an equal cfg. Tunings are
// never written once published (retune replaces a breaker's whole).
func sharedTuning(cfg Config) *tuning {
	if cfg.IsFailure != nil {
		return newTuning(cfg)
	}
	k := tuningKey{settings: cfg.settings(), callTimeout: cfg.CallTimeout}
	if l := lastTuning.Load(); l != nil && l.key == k {
		return l.t
	}
	v, ok := sharedTunings.Load(k)
	if !ok {
		v, _ = sharedTunings.LoadOrStore(k, newTuning(cfg))
	}
	t := v.(*tuning)
	lastTuning.Store(&struct {
		key tuningKey
		t   *tuning
	}{k, t})
	return t
}
