package breaker

import (
	"time"

	"github.com/breakerlabs/breaker/engine"
)

// command is a manual transition (Reset, ForceOpen, Disable). Both drivers
// use it: the actor receives it in a msgCommand message, MutexBreaker
// applies it under its lock.
type command uint8

const (
	cmdReset command = iota
	cmdForceOpen
	cmdDisable
)

// apply performs the command on m.
func (c command) apply(m *engine.Machine, now time.Time) engine.Transition {
	switch c {
	case cmdForceOpen:
		return m.ForceOpen(now)
	case cmdDisable:
		return m.Disable(now)
	}
	return m.Reset(now)
}
