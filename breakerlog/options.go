package breakerlog

import (
	"log/slog"

	"github.com/breakerlabs/breaker"
)

// An Option configures Attach. Options are plain values, safe to build once
// and share.
type Option func(*options)

type options struct {
	levels [5]slog.Level // by breaker.State: the level of a transition to it
	buffer int
}

// defaultBuffer is the subscription's capacity without WithBuffer: room for
// a burst of transitions (a ResetAll of a large supervisor) while the
// handler writes.
const defaultBuffer = 1024

func defaults() options {
	o := options{buffer: defaultBuffer}
	o.levels[breaker.Closed] = slog.LevelInfo
	o.levels[breaker.HalfOpen] = slog.LevelInfo
	o.levels[breaker.Open] = slog.LevelWarn
	o.levels[breaker.ForcedOpen] = slog.LevelWarn
	o.levels[breaker.Disabled] = slog.LevelWarn
	return o
}

// WithLevel logs the transitions to state to at level l instead of the
// default (Warn for Open, ForcedOpen and Disabled, Info for HalfOpen and
// Closed). A state that is not one of the five is ignored. Several
// WithLevel options add up; for one state the last wins.
func WithLevel(to breaker.State, l slog.Level) Option {
	return func(o *options) {
		if int(to) < len(o.levels) {
			o.levels[to] = l
		}
	}
}

// WithBuffer sets how many events may wait for the logger before further
// ones are dropped (and counted in one Warn); default 1024, at least 1.
func WithBuffer(n int) Option {
	return func(o *options) { o.buffer = max(n, 1) }
}
