package engine

// Verdict is the outcome of evaluating the trip conditions on a window.
// Reason is ReasonNone when no condition holds.
type Verdict struct {
	Reason Reason
	Rate   float64 // the failure or slow-call rate that tripped, for the rate reasons
	Count  int     // the failures in a row, for ReasonConsecutiveFailures
}

// Evaluate checks the enabled trip conditions, in this order: consecutive
// failures, failure rate, slow-call rate. A rate is compared only once the
// window holds at least MinimumCalls calls, and trips when it is at or over
// its threshold. Evaluate is pure and safe for concurrent use.
func (s *Settings) Evaluate(c Counts) Verdict {
	if s.ConsecutiveFailures > 0 && c.ConsecutiveFailures >= s.ConsecutiveFailures {
		return Verdict{Reason: ReasonConsecutiveFailures, Count: c.ConsecutiveFailures}
	}
	if c.Calls == 0 || c.Calls < s.MinimumCalls {
		return Verdict{}
	}
	if s.FailureRate > 0 {
		if r := float64(c.Failures) / float64(c.Calls); atOrOver(r, s.FailureRate) {
			return Verdict{Reason: ReasonFailureRate, Rate: r}
		}
	}
	if s.SlowCallRate > 0 && s.SlowCallDuration > 0 {
		if r := float64(c.SlowCalls) / float64(c.Calls); atOrOver(r, s.SlowCallRate) {
			return Verdict{Reason: ReasonSlowCallRate, Rate: r}
		}
	}
	return Verdict{}
}

// Rates returns the failure and slow-call rates of c, or −1 for both while
// the window holds fewer than MinimumCalls calls (as resilience4j reports).
func (s *Settings) Rates(c Counts) (failureRate, slowCallRate float64) {
	if c.Calls == 0 || c.Calls < s.MinimumCalls {
		return -1, -1
	}
	return float64(c.Failures) / float64(c.Calls), float64(c.SlowCalls) / float64(c.Calls)
}

// atOrOver reports whether rate r trips a threshold: at or over it.
func atOrOver(r, threshold float64) bool {
	return r >= threshold
}
