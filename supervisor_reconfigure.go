package breaker

import (
	"errors"
	"fmt"
	"slices"
)

// Reconfigure validates cfg and makes it the configuration of the breaker
// named name, keeping what the breaker has learned:
//
//   - Its state, epoch and lifetime counters are kept: no transition, no
//     event, and permits already granted stay valid.
//   - Its window's statistics are kept when the window's kind and size are
//     unchanged. A count window of another size keeps its most recent
//     calls (as many as fit); a time window with another duration or
//     number of buckets keeps the buckets that still fit (each moved to
//     the new bucket holding its start, so no call stays longer than the
//     new duration); a window of another kind starts empty. The failures
//     in a row are kept. Outcomes of calls in flight while a window is
//     resized count in the lifetime counters, not in the new window.
//   - If the breaker is Closed and the new thresholds are already exceeded
//     by what its window holds, it trips now, with ReasonReconfigured.
//   - An Open breaker's deadline is recomputed from when it opened, with
//     the new open timeout and backoff for its current attempt; one that
//     is already past moves the breaker to HalfOpen now.
//   - A HalfOpen breaker keeps its probes in flight (a lower MaxProbes
//     admits no new probe until enough have reported) and its tally so
//     far, which the new policy judges from the next probe report on; its
//     MaxWait deadline is recomputed from when the period began.
//   - ForcedOpen and Disabled breakers stay so; the new configuration
//     applies from their next transition.
//
// cfg replaces the whole configuration, IsFailure and CallTimeout
// included (a call already running keeps the timeout it started with).
// Reconfigure returns the validation error, changing nothing; an error if
// the supervisor has no breaker named name; or ErrStopped after Close. It
// returns once the new configuration, and any transition it causes, is
// published. Safe for concurrent use.
func (s *Supervisor) Reconfigure(name string, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	b, ok := s.Get(name)
	switch {
	case s.closed.Load():
		return ErrStopped
	case !ok:
		return fmt.Errorf("breaker: Reconfigure: the supervisor has no breaker named %q", name)
	}
	return b.Reconfigure(cfg)
}

// Apply reconfigures every breaker of the supervisor from cs: a breaker
// named in cs.Breakers gets that configuration, every other one
// cs.Defaults, each as Reconfigure describes. It validates every
// configuration in cs first and, if any is invalid, returns a
// *ConfigSetError naming each problem by its place in the set
// ("breakers.payments.failureRate: must be in (0,1], got 1.5") and
// changes nothing: all or nothing.
//
// A configuration in cs without IsFailure (which a file cannot express)
// keeps the breaker's own. Apply changes only breakers that exist: a name
// in cs with no breaker is not created (GetOrCreate(name, cs.Config(name))
// does that), and breakers created while Apply runs may miss it.
// Concurrent Apply calls are applied one after the other. It returns
// ErrStopped after Close. Safe for concurrent use.
func (s *Supervisor) Apply(cs ConfigSet) error {
	if err := cs.validate(); err != nil {
		return err
	}
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	if s.closed.Load() {
		return ErrStopped
	}
	for _, b := range s.all() {
		cfg := cs.Config(b.name)
		if cfg.IsFailure == nil {
			cfg.IsFailure = b.tuning().cfg.IsFailure
		}
		if err := b.Reconfigure(cfg); err != nil && !errors.Is(err, ErrStopped) {
			return err // cannot happen: cfg is valid
		}
	}
	return nil
}

// validate validates every configuration of cs, reporting each problem
// by its JSON path, as ParseConfigSet does.
func (cs ConfigSet) validate() error {
	p := &setParser{}
	p.validate("defaults", cs.Defaults, nil)
	names := make([]string, 0, len(cs.Breakers))
	for name := range cs.Breakers {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		p.validate("breakers"+nameSegment(name), cs.Breakers[name], nil)
	}
	if len(p.problems) > 0 {
		return &ConfigSetError{Problems: p.problems}
	}
	return nil
}
