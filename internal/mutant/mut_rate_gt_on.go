//go:build mut_rate_gt

package mutant

// RateGreater is the switch of the seeded bug under build tag mut_rate_gt.
const RateGreater = true
