package breaker

import (
	"math"

	"github.com/breakerlabs/breaker/engine"
)

// tuning is a breaker's configuration as its paths read it. It is
// immutable once published: Reconfigure publishes a new one, so a reader
// that loads it once sees one configuration throughout.
type tuning struct {
	cfg        Config
	settings   engine.Settings // cfg as the engine reads it
	timesCalls bool            // outcomes need a duration or a timestamp
	// measureFrom is when (nanos) measuring began, if a reconfiguration
	// switched it on; math.MinInt64 if the breaker measured from the
	// start. A call's duration runs from the later of its start and this,
	// so a call admitted while nothing was measured (no start time) is
	// timed from when measuring began.
	measureFrom int64
}

func newTuning(cfg Config) *tuning {
	t := &tuning{cfg: cfg, settings: cfg.settings(), measureFrom: math.MinInt64}
	t.timesCalls = t.settings.TracksDuration()
	return t
}
