package main

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"
)

// A phase of the backend's script: from start to end (fractions of the
// run), a share of requests fail with 503 and the rest answer after a
// latency that may change over the phase.
type phase struct {
	name      string
	start     float64 // fraction of the run
	errorRate float64
	// latency returns the typical latency at progress p ∈ [0,1) through
	// the phase; each request gets it ±20%.
	latency func(p float64) time.Duration
	// failing says whether the backend is in trouble: requests the breaker
	// keeps off it in this phase are "spared".
	failing bool
	about   string
}

const numPhases = 4

const (
	baseLatency = 5 * time.Millisecond
	slowLatency = 400 * time.Millisecond // the slow phase climbs to this
	slowCall    = 100 * time.Millisecond // Config.SlowCallDuration
)

func constant(d time.Duration) func(float64) time.Duration {
	return func(float64) time.Duration { return d }
}

// script is the backend's behaviour over a run. The slow phase's latency
// climbs quadratically from 10 ms to 400 ms, crossing the 100 ms slow-call
// threshold a little after half-way, so the breaker has closed again after
// the outage by the time calls turn slow, and trips on the slow-call rate.
var script = [numPhases]phase{
	{name: "healthy", start: 0, errorRate: 0.01, latency: constant(baseLatency),
		about: "1% errors, ~5ms"},
	{name: "outage", start: 0.20, errorRate: 0.90, latency: constant(baseLatency), failing: true,
		about: "90% of requests fail with 503"},
	{name: "slow", start: 0.40, errorRate: 0, failing: true,
		latency: func(p float64) time.Duration {
			return 10*time.Millisecond + time.Duration(p*p*float64(slowLatency-10*time.Millisecond))
		},
		about: "no errors, latency climbing 10ms → 400ms (slow calls ≥ 100ms)"},
	{name: "recovery", start: 0.75, errorRate: 0.01, latency: constant(baseLatency),
		about: "1% errors, ~5ms"},
}

// phaseAt returns the index of the phase at elapsed time t of a run of
// duration d, and the progress through it.
func phaseAt(t, d time.Duration) (int, float64) {
	f := float64(t) / float64(d)
	i := 0
	for i+1 < len(script) && f >= script[i+1].start {
		i++
	}
	end := 1.0
	if i+1 < len(script) {
		end = script[i+1].start
	}
	p := (f - script[i].start) / (end - script[i].start)
	return i, min(max(p, 0), 1)
}

// backend is the flaky server's handler: it follows the script from
// start over a run of duration d.
func backend(start time.Time, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i, p := phaseAt(time.Since(start), d)
		ph := script[i]
		lat := ph.latency(p)
		lat = time.Duration(float64(lat) * (0.8 + 0.4*rand.Float64()))
		t := time.NewTimer(lat)
		select {
		case <-t.C:
		case <-r.Context().Done(): // the client gave up, or the server is shutting down
			t.Stop()
			return
		}
		if rand.Float64() < ph.errorRate {
			http.Error(w, "backend failure", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "quote of the moment #%d\n", rand.IntN(1000))
	})
}
