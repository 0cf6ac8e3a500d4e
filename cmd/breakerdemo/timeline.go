package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/breakerlabs/breaker"
	"github.com/breakerlabs/breaker/events"
)

// heartbeatEvery is how long the timeline stays quiet before it prints a
// heartbeat line.
const heartbeatEvery = time.Second

// timeline prints phase changes and state transitions as they happen, a
// heartbeat when nothing happened for heartbeatEvery, and keeps what the
// summary needs: the time spent in each state and the count of each
// transition.
type timeline struct {
	out   io.Writer
	start time.Time
	d     time.Duration
	st    *stats // the clients' counts, for the heartbeat; nil for none

	lastPrint               time.Time // the latest line printed
	lastBeat                time.Time // the latest heartbeat tick
	beatCalls, beatRejected int64     // the totals at lastBeat

	state   breaker.State
	since   time.Time
	inState [breaker.Disabled + 1]time.Duration
	counts  map[[2]breaker.State]int
	order   [][2]breaker.State // transitions in order of first appearance
	dropped uint64
}

func newTimeline(out io.Writer, start time.Time, d time.Duration) *timeline {
	return &timeline{out: out, start: start, d: d, state: breaker.Closed, since: start,
		lastPrint: start, lastBeat: start, counts: map[[2]breaker.State]int{}}
}

// at formats a time as seconds since the start of the run.
func (tl *timeline) at(t time.Time) string {
	return fmt.Sprintf("%6.2fs", t.Sub(tl.start).Seconds())
}

// bound returns the time at which a fraction f of the run has elapsed.
func (tl *timeline) bound(f float64) time.Duration {
	return time.Duration(f * float64(tl.d))
}

func (tl *timeline) header(c config, cfg breaker.Config, backendURL, metricsURL string) {
	w := tl.out
	fmt.Fprintf(w, "breakerdemo: %d clients for %v against a flaky backend at %s\n", c.clients, c.duration, backendURL)
	if metricsURL != "" {
		fmt.Fprintf(w, "dashboard: %s  metrics: %s\n", strings.TrimSuffix(metricsURL, "metrics"), metricsURL)
	}
	fmt.Fprintf(w, "breaker %q: trips when ≥%.0f%% of calls fail or ≥%.0f%% take ≥%v, over the last %d calls (at least %d);\n",
		breakerName, cfg.FailureRate*100, cfg.SlowCallRate*100, cfg.SlowCallDuration, cfg.Window.Size, cfg.MinimumCalls)
	fmt.Fprintf(w, "  stays open %v (×%g per failed recovery, up to %v); closes after %d good probes in a row, %d at a time\n",
		cfg.OpenTimeout, cfg.BackoffMultiplier, cfg.MaxOpenTimeout, cfg.HalfOpen.SuccessThreshold, cfg.HalfOpen.MaxProbes)
	var parts []string
	for i, p := range script {
		end := 1.0
		if i+1 < len(script) {
			end = script[i+1].start
		}
		parts = append(parts, fmt.Sprintf("%s %v–%v", p.name, round(tl.bound(p.start)), round(tl.bound(end))))
	}
	fmt.Fprintf(w, "script: %s\n", strings.Join(parts, ", "))
	fmt.Fprintln(w)
}

func round(d time.Duration) time.Duration {
	if d >= 10*time.Second {
		return d.Round(time.Second)
	}
	return d.Round(10 * time.Millisecond)
}

// run prints until sub is closed; it prints the phases until ctx is done.
func (tl *timeline) run(ctx context.Context, sub *events.Subscription) {
	defer func() { tl.dropped = sub.Dropped() }()
	tl.phase(0, tl.start)
	next := 1
	timer := time.NewTimer(time.Until(tl.start.Add(tl.bound(script[next].start))))
	defer timer.Stop()
	phases, done := timer.C, ctx.Done()
	ticker := time.NewTicker(heartbeatEvery)
	defer ticker.Stop()
	beats := ticker.C
	for {
		select {
		case now := <-beats:
			tl.heartbeat(now)
		case e, ok := <-sub.C():
			if !ok {
				return
			}
			tl.event(e)
		case now := <-phases:
			tl.phase(next, now)
			next++
			if next < len(script) {
				timer.Reset(time.Until(tl.start.Add(tl.bound(script[next].start))))
			} else {
				phases = nil
			}
		case <-done:
			phases, beats, done = nil, nil, nil
		}
	}
}

func (tl *timeline) phase(i int, now time.Time) {
	fmt.Fprintf(tl.out, "%s  ── %s: %s\n", tl.at(now), script[i].name, script[i].about)
	tl.lastPrint = now
}

// heartbeat prints the state and the rates of calls and rejections since
// the previous tick, if nothing was printed for heartbeatEvery: a quiet
// timeline still shows the demo is running, and what the clients see.
func (tl *timeline) heartbeat(now time.Time) {
	if tl.st == nil {
		return
	}
	calls, rejected := tl.st.totals()
	dt := now.Sub(tl.lastBeat).Seconds()
	dc, dr := calls-tl.beatCalls, rejected-tl.beatRejected
	tl.lastBeat, tl.beatCalls, tl.beatRejected = now, calls, rejected
	if now.Sub(tl.lastPrint) < heartbeatEvery*9/10 || dt <= 0 { // ticks jitter
		return
	}
	fmt.Fprintf(tl.out, "%s  · %-20s %4.0f calls/s, %4.0f rejected/s\n",
		tl.at(now), tl.state.String(), float64(dc)/dt, float64(dr)/dt)
	tl.lastPrint = now
}

func (tl *timeline) event(e events.Event) {
	switch e.Kind {
	case events.StateChanged:
		tl.enter(e.To, e.Time)
		k := [2]breaker.State{e.From, e.To}
		if tl.counts[k] == 0 {
			tl.order = append(tl.order, k)
		}
		tl.counts[k]++
		fmt.Fprintf(tl.out, "%s  %-22s %s\n", tl.at(e.Time), e.From.String()+" → "+e.To.String(), reason(e))
		tl.lastPrint = time.Now()
	case events.ActorRestarted:
		fmt.Fprintf(tl.out, "%s  actor restarted in %v\n", tl.at(e.Time), e.To)
	}
}

// enter accounts the time spent in the state being left.
func (tl *timeline) enter(s breaker.State, at time.Time) {
	tl.inState[tl.state] += at.Sub(tl.since)
	tl.state, tl.since = s, at
}

// reason formats a transition's reason and its figure.
func reason(e events.Event) string {
	r := e.Reason.String()
	switch e.Reason {
	case breaker.ReasonFailureRate, breaker.ReasonSlowCallRate:
		return fmt.Sprintf("%s %.0f%%", r, e.Rate*100)
	case breaker.ReasonConsecutiveFailures:
		return fmt.Sprintf("%s: %d in a row", r, e.Count)
	case breaker.ReasonProbesSucceeded:
		if e.Rate > 0 {
			return fmt.Sprintf("%s: %.0f%% of %d", r, e.Rate*100, e.Count)
		}
		return fmt.Sprintf("%s: %d in a row", r, e.Count)
	case breaker.ReasonRemote:
		if e.Origin != "" {
			return fmt.Sprintf("%s: restored, decided by %s", r, e.Origin)
		}
		return r + ": restored"
	case breaker.ReasonProbeSlow:
		if e.Count > 0 {
			return fmt.Sprintf("%s: a probe succeeded, too slowly (after %d good)", r, e.Count)
		}
		return r + ": a probe succeeded, too slowly"
	case breaker.ReasonProbeFailed:
		if e.Rate > 0 {
			return fmt.Sprintf("%s: %.0f%% of %d succeeded", r, e.Rate*100, e.Count)
		}
		if e.Count > 0 {
			return fmt.Sprintf("%s (after %d good)", r, e.Count)
		}
		return r
	}
	return r
}

// summary prints the totals of the run that ended at end, marked as
// interrupted if it was cut short (Ctrl-C).
func (tl *timeline) summary(c config, end time.Time, st *stats, m breaker.Metrics, interrupted bool) {
	tl.enter(tl.state, end)
	var calls, ok, failed, rejected, fallbacks, spared int64
	for i := range script {
		calls += st.calls[i].Load()
		ok += st.ok[i].Load()
		failed += st.failed[i].Load()
		rejected += st.rejected[i].Load()
		fallbacks += st.fallbacks[i].Load()
		if script[i].failing {
			spared += st.rejected[i].Load()
		}
	}
	run := end.Sub(tl.start)
	pct := func(a, b int64) float64 {
		if b == 0 {
			return 0
		}
		return 100 * float64(a) / float64(b)
	}
	w := tl.out
	note := ""
	if interrupted {
		note = fmt.Sprintf(" (interrupted: the run was to last %v)", c.duration)
	}
	fmt.Fprintf(w, "\nsummary after %.1fs, %d clients%s\n", run.Seconds(), c.clients, note)
	fmt.Fprintf(w, "  calls       %6d  (%d sent to the backend, %d not)\n", calls, ok+failed, rejected)
	fmt.Fprintf(w, "  successes   %6d\n", ok)
	fmt.Fprintf(w, "  failures    %6d  (5xx responses and timeouts)\n", failed)
	fmt.Fprintf(w, "  rejections  %6d  (%.0f%% of calls: not sent, the breaker was open or probing)\n", rejected, pct(rejected, calls))
	fmt.Fprintf(w, "  fallbacks   %6d  (rejections answered with the last good response)\n", fallbacks)
	open := tl.inState[breaker.Open]
	fmt.Fprintf(w, "  time open   %6.1fs (%.0f%% of the run; half-open %.1fs)\n",
		open.Seconds(), 100*open.Seconds()/run.Seconds(), tl.inState[breaker.HalfOpen].Seconds())
	fmt.Fprintf(w, "  spared      %6d  requests the breaker kept off the backend while it was failing\n", spared)
	fmt.Fprintf(w, "              (rejections during the outage and slow phases)\n")
	var ts []string
	for _, k := range tl.order {
		ts = append(ts, fmt.Sprintf("%v → %v ×%d", k[0], k[1], tl.counts[k]))
	}
	if len(ts) == 0 {
		ts = []string{"none"}
	}
	fmt.Fprintf(w, "  transitions %s\n", strings.Join(ts, ", "))
	if tl.dropped > 0 {
		fmt.Fprintf(w, "  (%d events were dropped by the timeline's subscription)\n", tl.dropped)
	}
	fmt.Fprintf(w, "  breaker %q's own Metrics: %d successes, %d failures, %d rejected, %d fallbacks, %d trips\n",
		m.Name, m.Successes, m.Failures, m.Rejected, m.Fallbacks, m.Trips)
	fmt.Fprintf(w, "\n  %-9s %7s %7s %7s %9s\n", "phase", "calls", "ok", "failed", "rejected")
	for i, p := range script {
		fmt.Fprintf(w, "  %-9s %7d %7d %7d %9d\n", p.name,
			st.calls[i].Load(), st.ok[i].Load(), st.failed[i].Load(), st.rejected[i].Load())
	}
}
