package dashboard

import "time"

// quantile estimates the q-quantile (0 < q ≤ 1) of the durations counted
// in counts, a non-cumulative histogram over bounds with one extra bucket
// for longer durations (breaker.Histogram's layout). Inside a bucket the
// durations are taken as evenly spread (the first bucket starts at 0).
// over reports that the quantile lies in the unbounded last bucket; the
// estimate is then the last bound. With no counts it returns 0.
func quantile(q float64, counts []uint64, bounds []time.Duration) (d time.Duration, over bool) {
	var total uint64
	for _, n := range counts {
		total += n
	}
	if total == 0 || len(bounds) == 0 {
		return 0, false
	}
	target := q * float64(total)
	var cum float64
	for i, n := range counts {
		if n == 0 {
			continue
		}
		next := cum + float64(n)
		if next >= target {
			if i >= len(bounds) {
				return bounds[len(bounds)-1], true
			}
			var lower time.Duration
			if i > 0 {
				lower = bounds[i-1]
			}
			frac := (target - cum) / float64(n)
			return lower + time.Duration(frac*float64(bounds[i]-lower)), false
		}
		cum = next
	}
	// Rounding left target a hair above the total: the top non-empty bucket.
	for i := len(counts) - 1; i >= 0; i-- {
		if counts[i] > 0 {
			if i >= len(bounds) {
				return bounds[len(bounds)-1], true
			}
			return bounds[i], false
		}
	}
	return 0, false
}
