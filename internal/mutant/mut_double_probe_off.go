//go:build !mut_double_probe

package mutant

// DoubleProbe is the switch of the seeded bug under build tag mut_double_probe.
const DoubleProbe = false
