package breaker

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/breakerlabs/breaker/engine"
)

// Window describes the sliding window over which the failure and slow-call
// rates are computed: the last Size calls (CountBased) or the calls of the
// last Duration, kept in Buckets buckets (TimeBased). Build one with
// CountWindow or TimeWindow. It is an alias of engine.Window.
//
// Inside a Config, a Window's Duration is encoded in JSON as a Go duration
// string ("1m0s"); see Config.MarshalJSON.
type Window = engine.Window

// WindowKind selects how a Window forgets calls: CountBased or TimeBased.
// It encodes as text ("count" or "time"). It is an alias of engine.WindowKind.
type WindowKind = engine.WindowKind

// HalfOpenPolicy says how many probes a half-open breaker admits at a time
// (MaxProbes), how their outcomes decide between Closed and Open (Mode and
// its fields), and how long a probe may stay unreported (MaxWait; 0 means
// no limit). It is an alias of engine.HalfOpenPolicy.
//
// A probe is bad if it failed, or if it succeeded slowly (took
// SlowCallDuration or longer) while SlowCallRate > 0: a dependency that
// answers slowly has not recovered. A Strict reopen decided by a slow
// success has its own reason, ReasonProbeSlow.
//
// MaxWait reclaims lost probes: when it ends with probes still unreported,
// the breaker reopens (ReasonHalfOpenTimeout, one backoff step further).
// When it ends with no probe in flight, no traffic is no evidence: the
// half-open period restarts, with no transition, no event and no backoff
// growth, and the probes already judged keep counting. A dependency that
// recovered during a quiet spell meets a breaker ready to probe, not one
// that kept reopening while nobody called.
//
// Inside a Config, MaxWait is encoded in JSON as a Go duration string; see
// Config.MarshalJSON.
type HalfOpenPolicy = engine.HalfOpenPolicy

// HalfOpenMode selects how half-open probes decide: Strict or ByRate. It
// encodes as text ("strict" or "by-rate"). It is an alias of
// engine.HalfOpenMode.
type HalfOpenMode = engine.HalfOpenMode

// Window kinds.
const (
	// CountBased windows hold the outcomes of the last Window.Size calls.
	CountBased = engine.CountBased
	// TimeBased windows hold the calls of the last Window.Duration, in
	// Window.Buckets buckets; a call is forgotten up to one bucket early.
	TimeBased = engine.TimeBased
)

// Half-open modes.
const (
	// Strict re-opens on any bad probe (a failure, or a slow success while
	// SlowCallRate > 0) and closes after HalfOpen.SuccessThreshold good
	// probes in a row.
	Strict = engine.Strict
	// ByRate decides once HalfOpen.MinimumProbes probes have completed:
	// Closed if good probes/probes ≥ HalfOpen.SuccessRate, else Open (a
	// slow success is not a good probe while SlowCallRate > 0).
	ByRate = engine.ByRate
)

// CountWindow returns a count-based window over the last size calls.
func CountWindow(size int) Window {
	return Window{Kind: CountBased, Size: size}
}

// TimeWindow returns a time-based window over the calls of the last d,
// kept in the given number of buckets. A call leaves the window between
// d − d/buckets and d after it was recorded: more buckets, finer precision.
func TimeWindow(d time.Duration, buckets int) Window {
	return Window{Kind: TimeBased, Duration: d, Buckets: buckets}
}

// Config is the configuration of a breaker: when it trips (the window and
// the trip conditions), how long it stays open (OpenTimeout with
// exponential backoff), how it recovers (HalfOpen), and how calls made
// through Do and Execute are bounded and judged (CallTimeout, IsFailure).
//
// Config is plain data: copying it is safe, and a breaker keeps its own
// copy, so changing a Config after New has no effect on the breaker. Start
// from DefaultConfig, AggressiveConfig or LenientConfig, adjust fields, and
// call Validate (New does so too).
//
// A Config encodes to and decodes from JSON with lowerCamelCase keys and
// durations as Go duration strings such as "30s"; IsFailure is not encoded.
type Config struct {
	// Window is the sliding window the failure and slow-call rates are
	// computed over.
	Window Window `json:"window"`
	// MinimumCalls is how many calls the window must hold before the rates
	// are evaluated. It must be ≥ 1 when a rate condition is enabled, and
	// at most Window.Size for a count-based window.
	MinimumCalls int `json:"minimumCalls"`
	// ConsecutiveFailures trips the breaker after that many failures in a
	// row, regardless of MinimumCalls. 0 disables it.
	ConsecutiveFailures int `json:"consecutiveFailures"`
	// FailureRate trips the breaker when failures/calls in the window
	// reaches it. In (0,1]; 0 disables it.
	FailureRate float64 `json:"failureRate"`
	// SlowCallDuration is the duration at or above which a call counts as
	// slow. 0 disables slow-call tracking (and the clock reads it costs).
	SlowCallDuration time.Duration `json:"slowCallDuration"`
	// SlowCallRate trips the breaker when slow calls/calls in the window
	// reaches it. In (0,1]; 0 disables it. Needs SlowCallDuration > 0.
	SlowCallRate float64 `json:"slowCallRate"`
	// OpenTimeout is how long the breaker stays Open after a trip from
	// Closed, before it lets probes through. Must be > 0.
	OpenTimeout time.Duration `json:"openTimeout"`
	// BackoffMultiplier multiplies the open duration for each trip from
	// HalfOpen since the breaker was last Closed. ≥ 1; 1 means a constant
	// open timeout.
	BackoffMultiplier float64 `json:"backoffMultiplier"`
	// MaxOpenTimeout caps the backed-off open duration; ≥ OpenTimeout.
	MaxOpenTimeout time.Duration `json:"maxOpenTimeout"`
	// HalfOpen is the recovery policy.
	HalfOpen HalfOpenPolicy `json:"halfOpen"`
	// CallTimeout bounds each call made through Do and Execute (a context
	// deadline; a call that overruns counts as a failure). 0 means none.
	CallTimeout time.Duration `json:"callTimeout"`
	// IsFailure decides whether a non-nil error reported through
	// Permit.Done, Do or Execute counts as a failure (true) or is ignored
	// (false). nil means every error except context.Canceled is a failure.
	// It is not encoded in JSON.
	IsFailure func(error) bool `json:"-"`
}

// DefaultConfig returns a general-purpose configuration modelled on
// resilience4j's defaults, adapted for services with modest traffic:
//
//   - Window: the last 100 calls (CountWindow(100)), as resilience4j.
//   - MinimumCalls: 20 (resilience4j: 100), so a rate is judged after 20
//     calls rather than a full window, yet never on a handful of calls.
//   - FailureRate: 0.5, as resilience4j: trip when half the calls fail.
//   - ConsecutiveFailures: 10, so a dependency that is down outright trips
//     the breaker even while traffic is too low to reach MinimumCalls.
//   - Slow-call tracking: off (SlowCallDuration 0, SlowCallRate 0). What
//     is slow depends on the service, and timing every call costs a clock
//     read on the fast path; set both fields to opt in.
//   - OpenTimeout: 30s, doubling (BackoffMultiplier 2) for each failed
//     recovery, up to MaxOpenTimeout 5m: a dependency that keeps failing
//     its probes is probed less and less often, but at least every 5
//     minutes.
//   - HalfOpen: Strict, 3 probes at a time, closing after 3 successes in a
//     row; MaxWait 30s re-opens a breaker whose probes never report (e.g.
//     hung calls), so lost probe slots are reclaimed; with no probe in
//     flight it only restarts the half-open period.
//   - CallTimeout: 0 (none): the caller's context governs; no library can
//     guess a sensible deadline for an unknown dependency.
func DefaultConfig() Config {
	return Config{
		Window:              CountWindow(100),
		MinimumCalls:        20,
		ConsecutiveFailures: 10,
		FailureRate:         0.5,
		OpenTimeout:         30 * time.Second,
		BackoffMultiplier:   2,
		MaxOpenTimeout:      5 * time.Minute,
		HalfOpen: HalfOpenPolicy{
			MaxProbes:        3,
			Mode:             Strict,
			SuccessThreshold: 3,
			MaxWait:          30 * time.Second,
		},
	}
}

// AggressiveConfig returns a configuration that trips early and stays open
// longer, for dependencies whose failure is costly to keep hitting (a
// struggling database, a rate-limited partner API):
//
//   - Window: the last 50 calls, MinimumCalls 10: a smaller window reacts
//     to a change of behaviour sooner.
//   - FailureRate: 0.25: trip when a quarter of the calls fail.
//   - ConsecutiveFailures: 5: a short run of failures is enough.
//   - Slow calls: a call of 2s or more is slow, and SlowCallRate 0.5 trips
//     the breaker when half the calls are slow, since a dependency that
//     slows down is often about to fail. (This makes every call read the
//     clock.)
//   - OpenTimeout: 60s, doubling up to MaxOpenTimeout 10m, giving the
//     dependency time to recover before it is probed again.
//   - HalfOpen: Strict, 1 probe at a time, closing only after 5 successes
//     in a row; MaxWait 30s.
//   - CallTimeout: 0 (none).
func AggressiveConfig() Config {
	return Config{
		Window:              CountWindow(50),
		MinimumCalls:        10,
		ConsecutiveFailures: 5,
		FailureRate:         0.25,
		SlowCallDuration:    2 * time.Second,
		SlowCallRate:        0.5,
		OpenTimeout:         60 * time.Second,
		BackoffMultiplier:   2,
		MaxOpenTimeout:      10 * time.Minute,
		HalfOpen: HalfOpenPolicy{
			MaxProbes:        1,
			Mode:             Strict,
			SuccessThreshold: 5,
			MaxWait:          30 * time.Second,
		},
	}
}

// LenientConfig returns a configuration that tolerates more failures and
// recovers sooner, for dependencies with a noisy but harmless error rate,
// or where a false trip costs more than a few failed calls:
//
//   - Window: the last 200 calls, MinimumCalls 50: rates are judged on
//     more evidence, so bursts average out.
//   - FailureRate: 0.75: trip only when three calls in four fail.
//   - ConsecutiveFailures: 0 (off): runs of failures alone never trip it;
//     only a sustained failure rate does.
//   - Slow-call tracking: off.
//   - OpenTimeout: 10s, growing 1.5× per failed recovery up to
//     MaxOpenTimeout 2m, so recovery is attempted soon and often.
//   - HalfOpen: ByRate, 10 probes at a time, deciding after 5 completed
//     probes and closing when at least half of them succeeded (a single
//     failed probe does not re-open it); MaxWait 20s.
//   - CallTimeout: 0 (none).
func LenientConfig() Config {
	return Config{
		Window:            CountWindow(200),
		MinimumCalls:      50,
		FailureRate:       0.75,
		OpenTimeout:       10 * time.Second,
		BackoffMultiplier: 1.5,
		MaxOpenTimeout:    2 * time.Minute,
		HalfOpen: HalfOpenPolicy{
			MaxProbes:     10,
			Mode:          ByRate,
			MinimumProbes: 5,
			SuccessRate:   0.5,
			MaxWait:       20 * time.Second,
		},
	}
}

// Validate reports whether c is a usable configuration. It returns nil,
// or a *ConfigError listing every problem at once, each of the form
//
//	breaker: Config.<field path> must be <rule>, got <value>
//
// for example "breaker: Config.FailureRate must be in (0,1], got 1.5" or
// "breaker: Config.Window.Size must be ≥ 1, got 0". The error's message is
// one line (the problems joined with "; "); each problem is reachable
// with errors.As to *ConfigError, or through its Unwrap() []error.
//
// The rules: at least one trip condition (ConsecutiveFailures,
// FailureRate, SlowCallRate) is enabled; rates are in (0,1] or 0;
// SlowCallRate > 0 needs SlowCallDuration > 0; no count or duration is
// negative; the window is well formed (count: 1 ≤ Size ≤ 1<<20; time:
// Duration > 0, 1 ≤ Buckets ≤ 1<<16, buckets at least 1ns wide);
// MinimumCalls ≥ 1 when a rate is enabled, and ≤ Window.Size for a count
// window; OpenTimeout > 0; BackoffMultiplier ≥ 1 and finite;
// MaxOpenTimeout ≥ OpenTimeout; 1 ≤ HalfOpen.MaxProbes ≤ 1<<16; and the
// half-open mode's own fields are valid. Fields of the window kind and of
// the half-open mode not in use are ignored.
//
// The upper bounds exist because a breaker allocates its window and its
// probe bookkeeping up front: a count window costs about 5 bytes per call
// it holds (so 1<<20 calls is about 5 MiB per breaker), a time window
// about 100 bytes per bucket (1<<16 buckets, about 6 MiB), and probes a
// few words each. A window of a million calls or 65,536 buckets is far
// beyond any rate worth judging; a configuration past them (a typo, a
// hostile JSON file) is refused here, instead of New panicking or the
// process running out of memory.
//
// Validate is pure: it reads only c and changes nothing.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, rule string, got any) {
		errs = append(errs, fmt.Errorf("breaker: Config.%s must be %s, got %v", field, rule, got))
	}

	// Trip conditions.
	if c.ConsecutiveFailures < 0 {
		bad("ConsecutiveFailures", "≥ 0 (0 disables it)", c.ConsecutiveFailures)
	}
	if c.FailureRate != 0 && !validRate(c.FailureRate) {
		bad("FailureRate", "in (0,1]", c.FailureRate)
	}
	if c.SlowCallRate != 0 && !validRate(c.SlowCallRate) {
		bad("SlowCallRate", "in (0,1]", c.SlowCallRate)
	}
	if c.ConsecutiveFailures <= 0 && !(c.FailureRate > 0) && !(c.SlowCallRate > 0) {
		errs = append(errs, errors.New("breaker: Config must enable at least one trip condition "+
			"(Config.ConsecutiveFailures > 0, Config.FailureRate > 0 or Config.SlowCallRate > 0), got none"))
	}
	switch {
	case c.SlowCallDuration < 0:
		bad("SlowCallDuration", "≥ 0 (0 disables slow-call tracking)", c.SlowCallDuration)
	case c.SlowCallRate > 0 && c.SlowCallDuration == 0:
		bad("SlowCallDuration", "> 0 when Config.SlowCallRate is enabled", c.SlowCallDuration)
	}

	// Window.
	w := c.Window
	switch w.Kind {
	case CountBased:
		switch {
		case w.Size < 1:
			bad("Window.Size", "≥ 1", w.Size)
		case w.Size > maxWindowSize:
			bad("Window.Size", fmt.Sprintf("≤ %d (1<<20)", maxWindowSize), w.Size)
		}
	case TimeBased:
		if w.Duration <= 0 {
			bad("Window.Duration", "> 0", w.Duration)
		}
		switch {
		case w.Buckets < 1:
			bad("Window.Buckets", "≥ 1", w.Buckets)
		case w.Buckets > maxBuckets:
			bad("Window.Buckets", fmt.Sprintf("≤ %d (1<<16)", maxBuckets), w.Buckets)
		case w.Duration > 0 && int64(w.Duration) < int64(w.Buckets):
			bad("Window.Buckets", fmt.Sprintf("≤ Config.Window.Duration in nanoseconds (%d), so that each bucket is at least 1ns wide",
				int64(w.Duration)), w.Buckets)
		}
	default:
		bad("Window.Kind", "CountBased or TimeBased", w.Kind)
	}

	// MinimumCalls.
	rates := c.FailureRate > 0 || c.SlowCallRate > 0
	switch {
	case rates && c.MinimumCalls < 1:
		bad("MinimumCalls", "≥ 1 when a rate condition (Config.FailureRate or Config.SlowCallRate) is enabled", c.MinimumCalls)
	case c.MinimumCalls < 0:
		bad("MinimumCalls", "≥ 0", c.MinimumCalls)
	case rates && w.Kind == CountBased && w.Size >= 1 && w.Size <= maxWindowSize && c.MinimumCalls > w.Size:
		bad("MinimumCalls", fmt.Sprintf("≤ Config.Window.Size (%d) for a count window, "+
			"or the window never holds enough calls for the rates to be evaluated", w.Size), c.MinimumCalls)
	}

	// Open state.
	if c.OpenTimeout <= 0 {
		bad("OpenTimeout", "> 0", c.OpenTimeout)
	}
	if !(c.BackoffMultiplier >= 1) || math.IsInf(c.BackoffMultiplier, 0) {
		bad("BackoffMultiplier", "≥ 1 and finite (1 means a constant open timeout)", c.BackoffMultiplier)
	}
	if c.MaxOpenTimeout < max(c.OpenTimeout, 0) {
		bad("MaxOpenTimeout", fmt.Sprintf("≥ Config.OpenTimeout (%v)", c.OpenTimeout), c.MaxOpenTimeout)
	}

	// Half-open.
	h := c.HalfOpen
	switch {
	case h.MaxProbes < 1:
		bad("HalfOpen.MaxProbes", "≥ 1", h.MaxProbes)
	case h.MaxProbes > maxProbes:
		bad("HalfOpen.MaxProbes", fmt.Sprintf("≤ %d (1<<16)", maxProbes), h.MaxProbes)
	}
	switch h.Mode {
	case Strict:
		if h.SuccessThreshold < 1 {
			bad("HalfOpen.SuccessThreshold", "≥ 1 in Strict mode", h.SuccessThreshold)
		}
	case ByRate:
		if h.MinimumProbes < 1 {
			bad("HalfOpen.MinimumProbes", "≥ 1 in ByRate mode", h.MinimumProbes)
		}
		if !validRate(h.SuccessRate) {
			bad("HalfOpen.SuccessRate", "in (0,1] in ByRate mode", h.SuccessRate)
		}
	default:
		bad("HalfOpen.Mode", "Strict or ByRate", h.Mode)
	}
	if h.MaxWait < 0 {
		bad("HalfOpen.MaxWait", "≥ 0 (0 means no limit)", h.MaxWait)
	}

	// Calls.
	if c.CallTimeout < 0 {
		bad("CallTimeout", "≥ 0 (0 means none)", c.CallTimeout)
	}
	if len(errs) == 0 {
		return nil
	}
	return &ConfigError{Problems: errs}
}

// Upper bounds of the fields a breaker allocates by; see Validate.
const (
	maxWindowSize = 1 << 20 // Window.Size: calls a count window holds
	maxBuckets    = 1 << 16 // Window.Buckets of a time window
	maxProbes     = 1 << 16 // HalfOpen.MaxProbes
)

// validRate reports whether r is in (0,1]; NaN is not.
func validRate(r float64) bool { return r > 0 && r <= 1 }

// settings is the part of c the state machine needs.
func (c *Config) settings() engine.Settings {
	return engine.Settings{
		Window:              c.Window,
		MinimumCalls:        c.MinimumCalls,
		ConsecutiveFailures: c.ConsecutiveFailures,
		FailureRate:         c.FailureRate,
		SlowCallDuration:    c.SlowCallDuration,
		SlowCallRate:        c.SlowCallRate,
		OpenTimeout:         c.OpenTimeout,
		BackoffMultiplier:   c.BackoffMultiplier,
		MaxOpenTimeout:      c.MaxOpenTimeout,
		HalfOpen:            c.HalfOpen,
	}
}

// isFailure judges a reported error: nil is never a failure; with
// IsFailure set, it decides; by default every error except
// context.Canceled (the caller gave up, the dependency did not fail) is.
func (c *Config) isFailure(err error) bool {
	if err == nil {
		return false
	}
	if c.IsFailure != nil {
		return c.IsFailure(err)
	}
	return !errors.Is(err, context.Canceled)
}
