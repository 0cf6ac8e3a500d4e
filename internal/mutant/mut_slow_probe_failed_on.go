//go:build mut_slow_probe_failed

package mutant

// SlowProbeFailed is the switch of the seeded bug under build tag mut_slow_probe_failed.
const SlowProbeFailed = true
