package breaker

import (
	"sync/atomic"

	"github.com/breakerlabs/breaker/engine"
)

// lifetime holds a breaker's lifetime counters. The per-call ones are
// striped because the fast path increments them from every core.
//
// An actor breaker's Closed-state successes and failures are counted in
// its count window's packed word (liveWindow.n) instead: the lifetime
// totals are the striped counters, plus what the actor folded out of
// retired windows (folded*), plus the current window's share. gen is a
// sequence lock over the folds, so a reader never sees a window's counts
// twice or not at all.
type lifetime struct {
	successes, failures, ignored, slow, rejected stripedCounter
	gen                                          atomic.Uint64 // odd while the actor folds; the actor writes it
	foldedSuccesses, foldedFailures              atomic.Uint64 // written by the actor inside a fold
	timeouts, fallbacks                          atomic.Uint64
	transitions                                  atomic.Pointer[[5][5]atomic.Uint64] // [from][to]; written by the state owner; nil until the first transition
	latency                                      atomic.Pointer[[3]latencyHistogram] // by engine.Outcome; nil until the first duration measured
}

// fill copies the counters into m.
func (l *lifetime) fill(m *Metrics) {
	m.Successes = l.successes.load()
	m.Failures = l.failures.load()
	m.Ignored = l.ignored.load()
	m.SlowCalls = l.slow.load()
	m.Rejected = l.rejected.load()
	m.Timeouts = l.timeouts.Load()
	m.Fallbacks = l.fallbacks.Load()
	t := l.transitions.Load()
	if t == nil {
		return
	}
	for from := range t {
		for to := range t[from] {
			n := t[from][to].Load()
			m.Transitions += n
			if State(to) == Open {
				m.Trips += n
			}
		}
	}
}

// countTransition counts one transition. The state owner only (the actor,
// or the holder of a MutexBreaker's lock), so the table is allocated once.
func (l *lifetime) countTransition(from, to State) {
	t := l.transitions.Load()
	if t == nil {
		t = new([5][5]atomic.Uint64)
		l.transitions.Store(t)
	}
	t[from][to].Add(1)
}

// histograms returns the latency histograms, allocating them the first
// time (a breaker that never measures a duration never has them). Safe
// for concurrent use.
func (l *lifetime) histograms() *[3]latencyHistogram {
	if h := l.latency.Load(); h != nil {
		return h
	}
	h := new([3]latencyHistogram)
	if l.latency.CompareAndSwap(nil, h) {
		return h
	}
	return l.latency.Load()
}

// beginFold and endFold bracket a fold: the actor moving counts from a
// window's packed word into folded*. The actor only.
func (l *lifetime) beginFold() { l.gen.Add(1) }
func (l *lifetime) endFold()   { l.gen.Add(1) }

// fold adds counts moved out of a window. The actor only, inside a fold.
func (l *lifetime) fold(successes, failures uint64) {
	l.foldedSuccesses.Add(successes)
	l.foldedFailures.Add(failures)
}

// transitionCount returns how many times a breaker went from one state to
// another. Safe for concurrent use.
func (l *lifetime) transitionCount(from, to State) uint64 {
	t := l.transitions.Load()
	if t == nil || int(from) >= len(t) || int(to) >= len(t) {
		return 0
	}
	return t[from][to].Load()
}

// countOutcome adds a reported outcome to the lifetime counters.
func (l *lifetime) countOutcome(o engine.Outcome, slow bool) {
	switch o {
	case engine.Success:
		l.successes.inc()
	case engine.Failure:
		l.failures.inc()
	default:
		l.ignored.inc()
	}
	if slow {
		l.slow.inc()
	}
}
