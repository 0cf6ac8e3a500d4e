package breaker

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/breakerlabs/breaker/engine"
)

// Sentinel errors. Compare with errors.Is: rejections from an open breaker
// are *OpenError values that match ErrOpen.
var (
	// ErrOpen matches every rejection by an Open or ForcedOpen breaker.
	ErrOpen = errors.New("breaker: circuit open")
	// ErrTooManyProbes is returned by Acquire on a HalfOpen breaker whose
	// HalfOpen.MaxProbes probes are all in flight.
	ErrTooManyProbes = errors.New("breaker: too many half-open probes in flight")
	// ErrTimeout matches the error of a call run by Do or Execute that did not
	// finish within Config.CallTimeout.
	ErrTimeout = errors.New("breaker: call timed out")
	// ErrStopped is returned by Acquire after Close, and by a closed
	// Supervisor's GetOrCreate and Register.
	ErrStopped = errors.New("breaker: stopped")
	// ErrExists is matched by the error of Supervisor.Register when the
	// supervisor already has a breaker of that name.
	ErrExists = errors.New("breaker: name already taken")
)

// OpenError is the rejection of an Open or ForcedOpen breaker. It matches
// ErrOpen under errors.Is. One OpenError is made per open period and shared
// by every rejection in it, so it must be treated as read-only.
type OpenError struct {
	Breaker string    // the breaker's name
	Until   time.Time // when the breaker may half-open; zero when ForcedOpen
}

// Error describes the rejection.
func (e *OpenError) Error() string {
	if e.Until.IsZero() {
		return "breaker: circuit " + strconv.Quote(e.Breaker) + " forced open"
	}
	return "breaker: circuit " + strconv.Quote(e.Breaker) + " open until " + e.Until.Format(time.RFC3339Nano)
}

// Is reports whether target is ErrOpen.
func (e *OpenError) Is(target error) bool { return target == ErrOpen }

// newOpenError makes the rejection of the open period tr enters: until
// its deadline for Open, with a zero Until for ForcedOpen.
func newOpenError(name string, tr engine.Transition) *OpenError {
	e := &OpenError{Breaker: name}
	if tr.To == engine.Open {
		e.Until = tr.Deadline
	}
	return e
}

// ConfigError is the error Config.Validate (and so New, NewMutex and
// Supervisor.GetOrCreate) returns for an invalid Config: every problem
// found, each an error naming its field ("breaker: Config.FailureRate must
// be in (0,1], got 1.5"). Its message is one line, the problems joined
// with "; ", so it reads well in a log line; a program that wants them one
// by one uses errors.As:
//
//	var ce *breaker.ConfigError
//	if errors.As(err, &ce) {
//		for _, p := range ce.Problems { ... }
//	}
//
// It is plain data, safe to share.
type ConfigError struct {
	Problems []error // at least one
}

// Error returns the problems on one line: the first one's message, then
// the others' without their repeated "breaker: " prefix, joined with "; ".
func (e *ConfigError) Error() string {
	var sb strings.Builder
	for i, p := range e.Problems {
		msg := p.Error()
		if i > 0 {
			sb.WriteString("; ")
			msg = strings.TrimPrefix(msg, "breaker: ")
		}
		sb.WriteString(strings.ReplaceAll(msg, "\n", " "))
	}
	return sb.String()
}

// Unwrap returns the problems, so errors.Is and errors.As see each one.
func (e *ConfigError) Unwrap() []error { return e.Problems }
