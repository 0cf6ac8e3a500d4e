//go:build !mut_skip_epoch

package mutant

// SkipEpoch is the switch of the seeded bug under build tag mut_skip_epoch.
const SkipEpoch = false
