//go:build !mut_count_stale

package mutant

// CountStale is the switch of the seeded bug under build tag mut_count_stale.
const CountStale = false
