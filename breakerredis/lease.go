package breakerredis

import (
	"context"
	"time"

	"github.com/breakerlabs/breaker"
)

// leaseEntry is when this instance asks for a breaker's probe lease.
type leaseEntry struct {
	due    time.Time     // by the store's clock
	margin time.Duration // how long before the period's end the request goes out
}

// leaseMargin is how long before an open period ends the instances ask for
// the probe lease: long enough for the winner's probe record to reach the
// others before their own period ends, short next to the period.
func leaseMargin(period time.Duration) time.Duration {
	return min(max(period/5, 5*time.Millisecond), 250*time.Millisecond)
}

// scheduleLease arms (or, for anything but a running automatic Open,
// drops) the lease request for st's breaker. Only with WithSingleProber.
func (s *Store) scheduleLease(st stored) {
	if !s.o.singleProber {
		return
	}
	s.mu.Lock()
	if st.State == breaker.Open && !st.Manual && st.Remaining > 0 {
		m := leaseMargin(st.period)
		s.leases[st.Name] = leaseEntry{due: s.o.clock.Now().Add(st.Remaining - m), margin: m}
	} else {
		delete(s.leases, st.Name)
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// retryLease asks again after d, for a lease still held by an undecided
// instance or a period that is not ending yet.
func (s *Store) retryLease(name string, d, margin time.Duration) {
	s.mu.Lock()
	s.leases[name] = leaseEntry{due: s.o.clock.Now().Add(d), margin: margin}
	s.mu.Unlock()
}

// nextLease is the earliest due lease request, if any.
func (s *Store) nextLease() (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var next time.Time
	for _, e := range s.leases {
		if next.IsZero() || e.due.Before(next) {
			next = e.due
		}
	}
	return next, !next.IsZero()
}

// holderID is who this instance is as a lease holder: its Origin (from
// WithInstance, or once a Save has taught it), a random token before.
func (s *Store) holderID() string {
	if s.o.instance != "" {
		return s.o.instance
	}
	if len(s.origins) == 1 {
		for o := range s.origins {
			return o
		}
	}
	return s.token
}

// requestLeases asks for every due lease. The winner's probe record keeps
// the others Open (they adopt it); its own breaker goes half-open when its
// period ends and probes. A loser is handed the holder's record if it has
// not seen it yet, and asks again when that record's period ends.
func (w *watcher) requestLeases(ctx context.Context) {
	s := w.s
	now := s.o.clock.Now()
	type req struct {
		r      breaker.Record
		margin time.Duration
	}
	var due []req
	s.mu.Lock()
	id := s.holderID()
	for name, e := range s.leases {
		if e.due.After(now) {
			continue
		}
		delete(s.leases, name)
		due = append(due, req{breaker.Record{Name: name, State: breaker.Open, Reason: breaker.ReasonOpenTimeout,
			Origin: id, BaseGen: s.seen[name], Since: now}, e.margin})
	}
	s.mu.Unlock()
	for _, q := range due {
		st, err := s.save(ctx, "lease", q.r, q.margin)
		if err != nil {
			continue // Redis is away: every instance half-opens on its own
		}
		switch st.verdict {
		case "stored":
			s.mu.Lock()
			s.won[q.r.Name] = st
			s.seen[q.r.Name] = max(s.seen[q.r.Name], st.Gen)
			s.mu.Unlock()
		case "held", "early":
			if !w.consider(st) && st.State == breaker.Open && st.Remaining > q.margin/4 {
				s.retryLease(q.r.Name, max(st.Remaining-q.margin, q.margin/4), q.margin)
			}
		}
	}
}
