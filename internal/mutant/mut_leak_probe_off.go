//go:build !mut_leak_probe

package mutant

// LeakProbe is the switch of the seeded bug under build tag mut_leak_probe.
const LeakProbe = false
