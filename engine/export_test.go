package engine

import "time"

// Exports for the tests of package engine_test only: reads the drivers do
// not need, kept out of the package's API.

// Settings returns the settings the machine was built with.
func (m *Machine) Settings() *Settings { return &m.s }

// Probes returns the successful and bad probes completed in this half-open
// period.
func (m *Machine) Probes() (ok, bad int) { return m.probesOK, m.probesBad }

// Tick applies the timeout that is due at now, if any, at now (see tick;
// the drivers use TickDue).
func (m *Machine) Tick(now time.Time) Transition { return m.tick(now) }

// Admits reports whether calls are admitted in s without consulting the
// half-open probe limit (Closed and Disabled).
func (s State) Admits() bool { return s == Closed || s == Disabled }
