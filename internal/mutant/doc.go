// Package mutant holds the switches of deliberately seeded bugs, for the
// mutation check (make mutation): each bug is compiled in only under its
// own build tag, and the check asserts that the test suite fails for every
// one of them. In a normal build every switch is a false constant, so the
// compiler removes the seeded code entirely.
//
//	tag                  seeded bug
//	mut_skip_epoch       the engine counts outcomes of any epoch (no stale check)
//	mut_rate_gt          a rate trips only when over the threshold (> for >=)
//	mut_leak_probe       an ignored half-open probe keeps its slot
//	mut_double_probe     a probe reported twice counts twice
//	mut_publish_first    the actor publishes a state before arming its timer
//	mut_block_subscriber a full subscriber buffer blocks the publisher
//	mut_count_stale      a stale Closed-state report lands in the current window
//	mut_quiet_reopen     MaxWait with no probe in flight reopens (and backs off)
//	mut_slow_probe_failed a Strict reopen by a slow success says probe-failed
package mutant
