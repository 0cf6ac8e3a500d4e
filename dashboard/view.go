package dashboard

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/breakerlabs/breaker"
)

// Snapshot is the JSON document served at ./api/snapshot and sent as the
// first event of every stream (event "snapshot"; the stream's snapshots
// leave out each breaker's Config, which the page does not show). Times are milliseconds
// since the Unix epoch on the handler's clock (WithClock). Like every
// type of this file it is plain data for encoding/json: a client of the
// API can decode into it, and a value is safe to share once built.
type Snapshot struct {
	Now      int64         `json:"now"`      // when the snapshot was taken
	Interval int64         `json:"interval"` // ms between two "stats" events
	History  int64         `json:"history"`  // ms of history kept for the sparklines
	Control  bool          `json:"control"`  // whether the admin endpoint is enabled
	Breakers []BreakerView `json:"breakers"` // sorted by name
}

// Stats is the data of a stream's "stats" event, sent every interval:
// the breakers whose view changed since the previous stats or snapshot
// (Rows, without History and Config) and the names of the breakers that
// are gone. A breaker not in Rows is unchanged: its rates still hold, and
// a client appends them to its sparkline as the point at Now.
type Stats struct {
	Now     int64         `json:"now"`
	Rows    []BreakerView `json:"rows"`
	Removed []string      `json:"removed,omitempty"`
}

// BreakerView is one breaker as the dashboard shows it: its
// breaker.Metrics (JSON keys in lowerCamelCase, the state as its String
// form, times in Unix ms), the rates and latency quantiles computed from
// the last samples, the last transition seen on the event stream and, in
// snapshots, its sparkline history and its configuration.
type BreakerView struct {
	Name      string `json:"name"`
	State     string `json:"state"`
	Since     int64  `json:"since"`               // when the current state was entered
	OpenUntil int64  `json:"openUntil,omitempty"` // Open: the deadline

	WindowCalls         int     `json:"windowCalls"`
	WindowFailures      int     `json:"windowFailures"`
	WindowSlowCalls     int     `json:"windowSlowCalls"`
	FailureRate         float64 `json:"failureRate"`  // the window's; −1 below MinimumCalls
	SlowCallRate        float64 `json:"slowCallRate"` // the window's; −1 below MinimumCalls
	ConsecutiveFailures int     `json:"consecutiveFailures"`
	HalfOpenInFlight    int     `json:"halfOpenInFlight"`

	Successes   uint64 `json:"successes"`
	Failures    uint64 `json:"failures"`
	Ignored     uint64 `json:"ignored"`
	SlowCalls   uint64 `json:"slowCalls"`
	Timeouts    uint64 `json:"timeouts"`
	Rejected    uint64 `json:"rejected"`
	Fallbacks   uint64 `json:"fallbacks"`
	Trips       uint64 `json:"trips"`
	Transitions uint64 `json:"transitions"`

	// Rates is null until two samples of the breaker, one interval apart,
	// exist (right after the first client connects, or after a pause).
	Rates *Rates `json:"rates"`
	// Latency is null when the breaker does not measure call durations
	// (see breaker.Breaker.Latencies).
	Latency *Latency `json:"latency"`
	// Last is the last transition the handler saw on the supervisor's
	// event stream since New; null if none.
	Last *Transition `json:"last"`

	History []Point         `json:"history,omitempty"` // snapshots only, oldest first
	Config  *breaker.Config `json:"config,omitempty"`  // ./api/snapshot only
}

// Rates are per-second rates and percentages between the last two
// samples (one interval apart, give or take the scheduler). Calls counts reported calls (successes, failures and
// ignored); ErrorPct is failures/(successes+failures) and SlowPct slow
// calls/(successes+failures), both in percent, 0 when there were none.
type Rates struct {
	Calls     float64 `json:"calls"`
	Failures  float64 `json:"failures"`
	Rejected  float64 `json:"rejected"`
	Timeouts  float64 `json:"timeouts"`
	Fallbacks float64 `json:"fallbacks"`
	ErrorPct  float64 `json:"errorPct"`
	SlowPct   float64 `json:"slowPct"`
}

// Latency holds quantiles of the durations of the successful and failed
// calls of the last 10 s (or so: the span starts at a sample), in
// milliseconds. P50 and P99 are estimates from
// the breaker's histogram buckets (breaker.LatencyBounds), interpolated
// linearly inside a bucket; Over is true when P99 lies beyond the last
// bound, in which case P99 is that bound. Mean is exact. With Count 0 the
// quantiles are 0 and mean nothing.
type Latency struct {
	P50   float64 `json:"p50"`
	P99   float64 `json:"p99"`
	Mean  float64 `json:"mean"`
	Over  bool    `json:"over,omitempty"`
	Count uint64  `json:"count"`
}

// Transition is a state change seen on the supervisor's event stream
// (events.StateChanged), or an actor restart (Reason "actor-restarted").
type Transition struct {
	Breaker string  `json:"breaker"`
	Seq     uint64  `json:"seq"`
	Time    int64   `json:"time"`
	From    string  `json:"from,omitempty"`
	To      string  `json:"to"`
	Reason  string  `json:"reason"`
	Until   int64   `json:"until,omitempty"`   // to Open: the deadline
	Rate    float64 `json:"rate,omitempty"`    // the rate that tripped, when it applies
	Count   int     `json:"count,omitempty"`   // the consecutive count, when it applies
	Attempt int     `json:"attempt,omitempty"` // failed recoveries since Closed
	Origin  string  `json:"origin,omitempty"`  // ReasonRemote: the deciding instance
}

// Point is one sample of a sparkline: the time (Unix ms) and the calls and
// failures per second. It encodes in JSON as the array [t, calls, failures].
type Point struct {
	T        int64
	Calls    float64
	Failures float64
}

// MarshalJSON encodes p as [t, calls, failures], rates to 4 significant
// digits.
func (p Point) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 40)
	b = append(b, '[')
	b = strconv.AppendInt(b, p.T, 10)
	b = append(b, ',')
	b = strconv.AppendFloat(b, p.Calls, 'g', 4, 64)
	b = append(b, ',')
	b = strconv.AppendFloat(b, p.Failures, 'g', 4, 64)
	return append(b, ']'), nil
}

// UnmarshalJSON decodes the [t, calls, failures] form.
func (p *Point) UnmarshalJSON(b []byte) error {
	var a []float64
	if err := json.Unmarshal(b, &a); err != nil {
		return err
	}
	if len(a) != 3 {
		return fmt.Errorf("dashboard: a Point has 3 elements, got %d", len(a))
	}
	*p = Point{T: int64(a[0]), Calls: a[1], Failures: a[2]}
	return nil
}
