package prom

import "iter"

// A scrape is what one scrape read: a row per breaker found, sorted by
// name label, and the breakers' transition counters and histograms. Both
// encoders take the series out of it in the registry's order through
// rowSeries, histograms and transitions.
type scrape struct {
	rows  []row
	trans []transSample // by row, from and to
	hists []histSample  // by row and histKinds
}

// read reads the breaker of entry e into row r, and appends its
// histograms and transition counters, reading its Metrics once. Row r is
// complete, and never changed again, when read returns.
func (sc *scrape) read(r int, e *entry) {
	b := e.b
	m := b.Metrics()
	rw := &sc.rows[r]
	rw.e = e
	for i, st := range states {
		if m.State == st {
			rw.v[srState+i] = 1
		}
	}
	rw.v[srCallsTotal+kindIdxSucceeded] = float64(m.Successes)
	rw.v[srCallsTotal+kindIdxFailed] = float64(m.Failures)
	rw.v[srCallsTotal+kindIdxIgnored] = float64(m.Ignored)
	rw.v[srCallsTotal+kindIdxRejected] = float64(m.Rejected)
	rw.v[srBuffered+kindIdxSucceeded] = float64(max(m.WindowCalls-m.WindowFailures, 0))
	rw.v[srBuffered+kindIdxFailed] = float64(m.WindowFailures)
	rw.v[srSlowCalls+kindIdxSucceeded] = float64(max(m.WindowSlowCalls-m.WindowSlowFailures, 0))
	rw.v[srSlowCalls+kindIdxFailed] = float64(m.WindowSlowFailures)
	rw.v[srFailureRate] = percent(m.FailureRate)
	rw.v[srSlowCallRate] = percent(m.SlowCallRate)
	rw.v[srFallbacks] = float64(m.Fallbacks)
	rw.v[srTimeouts] = float64(m.Timeouts)

	if l, ok := b.Latencies(); ok {
		for _, k := range histKinds {
			h := l.Succeeded
			switch k {
			case kindIdxFailed:
				h = l.Failed
			case kindIdxIgnored:
				h = l.Ignored
			}
			sc.hists = append(sc.hists, newHistSample(e, k, h))
		}
	}

	// Transitions counts every pair: with none, there is no pair to read.
	if m.Transitions == 0 {
		return
	}
	for _, from := range statesByName {
		for _, to := range statesByName {
			if n := b.TransitionCount(states[from], states[to]); n > 0 {
				sc.trans = append(sc.trans, transSample{e: e, v: float64(n), from: from, to: to})
			}
		}
	}
}

// rowSeries yields the gauge and counter series of family f of every row
// (the row and the series number), in the order the registry sorts them:
// by breaker first if byBreaker[f], else by series first. Nothing for the
// histogram and the transition counters.
func (sc *scrape) rowSeries(f int) iter.Seq2[*row, int] {
	return func(yield func(*row, int) bool) {
		if byBreaker[f] {
			for r := range sc.rows {
				for _, i := range famSeries[f] {
					if !yield(&sc.rows[r], i) {
						return
					}
				}
			}
			return
		}
		for _, i := range famSeries[f] {
			for r := range sc.rows {
				if !yield(&sc.rows[r], i) {
					return
				}
			}
		}
	}
}

// histograms yields the histograms in the order the registry sorts them:
// by kind, then by breaker.
func (sc *scrape) histograms() iter.Seq[*histSample] {
	return func(yield func(*histSample) bool) {
		for k := range histKinds {
			for j := k; j < len(sc.hists); j += len(histKinds) {
				if !yield(&sc.hists[j]) {
					return
				}
			}
		}
	}
}

// transitions yields the transition counters in the order the registry
// sorts them: by from, then by breaker, then by to.
func (sc *scrape) transitions() iter.Seq[*transSample] {
	return func(yield func(*transSample) bool) {
		for _, from := range statesByName {
			for j := range sc.trans {
				if sc.trans[j].from == from && !yield(&sc.trans[j]) {
					return
				}
			}
		}
	}
}
