//go:build mut_quiet_reopen

package mutant

// QuietReopen is the switch of the seeded bug under build tag mut_quiet_reopen.
const QuietReopen = true
