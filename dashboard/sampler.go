package dashboard

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/breakerlabs/breaker"
	"github.com/breakerlabs/breaker/events"
)

// sampler turns successive reads of a supervisor into views: rates from
// the differences of lifetime counters, latency quantiles from the
// differences of latency histograms, sparkline history, and the last
// transition from the event stream. It only reads (Supervisor.Metrics,
// Breaker.Latencies, Breaker.Config), so sampling never changes a
// breaker. It is owned by the handler's loop goroutine: not safe for
// concurrent use.
type sampler struct {
	sup    *breaker.Supervisor
	o      options
	bounds []time.Duration
	last   time.Time // when rates were last computed: the base of the next
	gen    uint64
	tracks map[string]*track
}

// counters are the lifetime counters rates are computed from.
type counters struct {
	succ, fail, ign, rej, slow, tmo, fb uint64
}

func countersOf(m breaker.Metrics) counters {
	return counters{m.Successes, m.Failures, m.Ignored, m.Rejected, m.SlowCalls, m.Timeouts, m.Fallbacks}
}

// covers reports whether c is a later reading of the same breaker as b (no
// counter went down: a breaker removed and re-created under the same name
// starts again from zero).
func (c counters) covers(b counters) bool {
	return c.succ >= b.succ && c.fail >= b.fail && c.ign >= b.ign && c.rej >= b.rej &&
		c.slow >= b.slow && c.tmo >= b.tmo && c.fb >= b.fb
}

// latSample is a cumulative reading of a breaker's latency histograms
// (successful and failed calls together).
type latSample struct {
	t      time.Time
	counts []uint64
	sum    time.Duration
	n      uint64
}

// track is what the sampler keeps about one breaker between samples.
type track struct {
	gen      uint64
	base     counters
	haveBase bool
	lat      []latSample // oldest first, spanning about latencySpan
	rates    *Rates
	latency  *Latency
	last     *Transition
	hist     []Point
	row      []byte // the breaker's view as last sent in stats or a snapshot
}

func newSampler(sup *breaker.Supervisor, o options) *sampler {
	return &sampler{sup: sup, o: o, bounds: breaker.LatencyBounds(), tracks: make(map[string]*track)}
}

func (s *sampler) track(name string) *track {
	tr := s.tracks[name]
	if tr == nil {
		tr = new(track)
		s.tracks[name] = tr
	}
	return tr
}

// observe records the transition an event announces, and returns it (nil
// for an event that is not one).
func (s *sampler) observe(e events.Event) *Transition {
	var t *Transition
	switch e.Kind {
	case events.StateChanged:
		t = &Transition{Breaker: e.Breaker, Seq: e.Seq, Time: unixMilli(e.Time), From: e.From.String(),
			To: e.To.String(), Reason: e.Reason.String(), Until: unixMilli(e.Until), Rate: e.Rate,
			Count: e.Count, Attempt: e.Attempt, Origin: e.Origin}
	case events.ActorRestarted:
		t = &Transition{Breaker: e.Breaker, Seq: e.Seq, Time: unixMilli(e.Time), To: e.To.String(),
			Reason: "actor-restarted"}
	default:
		return nil
	}
	b, ok := s.sup.Get(e.Breaker)
	if !ok {
		return t
	}
	if e.Kind == events.StateChanged && e.To == breaker.Open && t.Until == 0 {
		// An event without its deadline: read it, if still open.
		if m := b.Metrics(); m.State == breaker.Open {
			t.Until = unixMilli(m.OpenUntil)
		}
	}
	s.track(e.Breaker).last = t
	return t
}

// sample reads every breaker at now and returns their views, sorted by
// name, and the names of the breakers gone since the previous sample. It
// computes new rates (and appends a sparkline point) only if the previous
// base is at least half an interval old and no older than the history (or
// five intervals, if longer); a younger base keeps the rates already
// computed, an older one (the sampler was paused that long) starts again,
// with no rates until the next sample.
func (s *sampler) sample(now time.Time) (views []BreakerView, removed []string) {
	ms := s.sup.Metrics()
	dt := now.Sub(s.last)
	stale := max(5*s.o.interval, s.o.history)
	rate := !s.last.IsZero() && dt >= s.o.interval/2 && dt <= stale
	restart := s.last.IsZero() || dt > stale || dt < 0
	if rate || restart {
		s.last = now
	}
	s.gen++
	views = make([]BreakerView, 0, len(ms))
	for _, m := range ms {
		tr := s.track(m.Name)
		tr.gen = s.gen
		c := countersOf(m)
		switch {
		case !tr.haveBase || !c.covers(tr.base):
			tr.rates, tr.hist, tr.lat = nil, nil, nil
			tr.base, tr.haveBase = c, true
		case restart:
			tr.rates, tr.lat = nil, nil
			tr.base = c
			tr.hist = trimHistory(tr.hist, unixMilli(now.Add(-s.o.history)))
		case rate:
			tr.rates = ratesOf(c, tr.base, dt)
			tr.base = c
			tr.hist = append(tr.hist, Point{T: unixMilli(now), Calls: tr.rates.Calls, Failures: tr.rates.Failures})
			tr.hist = trimHistory(tr.hist, unixMilli(now.Add(-s.o.history)))
		}
		s.sampleLatency(tr, m.Name, now, rate || restart)
		views = append(views, s.view(tr, m))
	}
	for name, tr := range s.tracks {
		if tr.gen != s.gen {
			delete(s.tracks, name)
			removed = append(removed, name)
		}
	}
	return views, removed
}

// ratesOf computes the rates between two readings dt apart.
func ratesOf(c, b counters, dt time.Duration) *Rates {
	sec := dt.Seconds()
	succ, fail := float64(c.succ-b.succ), float64(c.fail-b.fail)
	r := &Rates{
		Calls:     (succ + fail + float64(c.ign-b.ign)) / sec,
		Failures:  fail / sec,
		Rejected:  float64(c.rej-b.rej) / sec,
		Timeouts:  float64(c.tmo-b.tmo) / sec,
		Fallbacks: float64(c.fb-b.fb) / sec,
	}
	if judged := succ + fail; judged > 0 {
		r.ErrorPct = 100 * fail / judged
		r.SlowPct = min(100, 100*float64(c.slow-b.slow)/judged)
	}
	return r
}

// trimHistory drops the points before from.
func trimHistory(h []Point, from int64) []Point {
	i := 0
	for i < len(h) && h[i].T < from {
		i++
	}
	if i == 0 {
		return h
	}
	return append(h[:0], h[i:]...)
}

// sampleLatency reads the breaker's latency histograms and computes the
// quantiles since the oldest kept reading; keep adds this reading to them.
func (s *sampler) sampleLatency(tr *track, name string, now time.Time, keep bool) {
	b, ok := s.sup.Get(name)
	if !ok {
		return
	}
	l, ok := b.Latencies()
	if !ok {
		tr.latency, tr.lat = nil, nil
		return
	}
	cur := latSample{t: now, counts: make([]uint64, len(l.Succeeded.Counts)),
		sum: l.Succeeded.Sum + l.Failed.Sum, n: l.Succeeded.Count + l.Failed.Count}
	for i := range cur.counts {
		cur.counts[i] = l.Succeeded.Counts[i]
		if i < len(l.Failed.Counts) {
			cur.counts[i] += l.Failed.Counts[i]
		}
	}
	if len(tr.lat) > 0 && (cur.n < tr.lat[0].n || len(tr.lat[0].counts) != len(cur.counts)) {
		tr.lat = nil // a new breaker under the same name
	}
	tr.latency = &Latency{}
	if len(tr.lat) > 0 && cur.t.After(tr.lat[0].t) {
		base := tr.lat[0]
		delta := make([]uint64, len(cur.counts))
		for i := range delta {
			delta[i] = cur.counts[i] - min(cur.counts[i], base.counts[i])
		}
		lat := &Latency{Count: cur.n - base.n}
		if lat.Count > 0 {
			p50, _ := quantile(0.5, delta, s.bounds)
			p99, over := quantile(0.99, delta, s.bounds)
			lat.P50, lat.P99, lat.Over = ms(p50), ms(p99), over
			lat.Mean = ms(cur.sum-base.sum) / float64(lat.Count)
		}
		tr.latency = lat
	}
	if keep {
		tr.lat = append(tr.lat, cur)
		from := now.Add(-latencySpan)
		for len(tr.lat) > 1 && !tr.lat[1].t.After(from) {
			tr.lat = tr.lat[1:]
		}
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// view builds a breaker's view from its metrics and track (no history or
// config: see snapshot).
func (s *sampler) view(tr *track, m breaker.Metrics) BreakerView {
	return BreakerView{
		Name: m.Name, State: m.State.String(), Since: unixMilli(m.Since), OpenUntil: unixMilli(m.OpenUntil),
		WindowCalls: m.WindowCalls, WindowFailures: m.WindowFailures, WindowSlowCalls: m.WindowSlowCalls,
		FailureRate: m.FailureRate, SlowCallRate: m.SlowCallRate,
		ConsecutiveFailures: m.ConsecutiveFailures, HalfOpenInFlight: m.HalfOpenInFlight,
		Successes: m.Successes, Failures: m.Failures, Ignored: m.Ignored, SlowCalls: m.SlowCalls,
		Timeouts: m.Timeouts, Rejected: m.Rejected, Fallbacks: m.Fallbacks, Trips: m.Trips,
		Transitions: m.Transitions,
		Rates:       tr.rates, Latency: tr.latency, Last: tr.last,
	}
}

// snapshot samples every breaker and returns the full document: views
// with their history and, if withConfig, their configuration. It does not
// mark rows as sent: other clients only ever got stats, and the next stats
// must bring them whatever changed.
func (s *sampler) snapshot(now time.Time, control, withConfig bool) Snapshot {
	views, _ := s.sample(now)
	for i := range views {
		v := &views[i]
		v.History = append([]Point(nil), s.tracks[v.Name].hist...)
		if !withConfig {
			continue
		}
		if b, ok := s.sup.Get(v.Name); ok {
			cfg := b.Config()
			v.Config = &cfg
		}
	}
	return Snapshot{Now: unixMilli(now), Interval: s.o.interval.Milliseconds(),
		History: s.o.history.Milliseconds(), Control: control, Breakers: views}
}

// stats samples every breaker and returns the rows that changed since
// the previous stats (each encoded once) and the breakers gone.
func (s *sampler) stats(now time.Time) *statsUpdate {
	views, removed := s.sample(now)
	slices.Sort(removed)
	u := &statsUpdate{now: unixMilli(now), removed: removed}
	for i := range views {
		tr := s.tracks[views[i].Name]
		row, err := json.Marshal(&views[i])
		if err != nil || string(row) == string(tr.row) {
			continue
		}
		tr.row = row
		u.rows = append(u.rows, namedRow{name: views[i].Name, json: row})
	}
	return u
}

// unixMilli is t in Unix milliseconds, 0 for the zero time.
func unixMilli(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}
