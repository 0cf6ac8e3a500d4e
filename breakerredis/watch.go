package breakerredis

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"sync"
	"time"

	"github.com/breakerlabs/breaker"
	"github.com/redis/go-redis/v9"
)

// Watch calls apply with every record another instance saves, until ctx is
// done, the store is closed or the subscription fails. It subscribes to the
// namespace's channel and, once subscribed, reloads the whole hash, so a
// message lost before or between subscriptions is made up for; it reloads
// again every WithAntiEntropy period. A record reaches apply only if its
// Gen is above every Gen seen for its name (records arrive in Gen order per
// name; a stale or replayed message changes nothing), it is not this
// instance's own (an Origin it saved with), and it passes WithQuorum; an
// Open that has run out is not passed on. After a reload that finds a
// breaker this instance saved non-Closed missing (Redis restarted empty),
// Watch saves it again.
//
// apply runs on Watch's goroutine, one record at a time; it must not call
// Close. Watch returns nil when ctx is done and ErrClosed when the store is
// closed (or was already). Any Redis failure — the connection lost, a
// subscription silent for three WithHealthCheck intervals (a frozen
// server, a partition), a reload that fails — ends Watch with that error:
// the supervisor reports it (one StoreFailed per outage), reloads with
// backoff and calls Watch again, which reloads and re-seeds as above. A
// second Watch on the same store while one runs is an error. When Watch
// returns, every goroutine it started has exited.
func (s *Store) Watch(ctx context.Context, apply func(breaker.Record)) error {
	if err := s.usable(); err != nil {
		return err
	}
	if apply == nil {
		return errors.New("breakerredis: watch: nil apply")
	}
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return ErrClosed
	case s.watching:
		s.mu.Unlock()
		return errors.New("breakerredis: watch: already watching (one Store per Supervisor)")
	}
	s.watching = true
	s.wg.Add(1)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.watching = false
		s.mu.Unlock()
		s.wg.Done()
	}()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(s.ctx, cancel)
	defer stop()
	w := &watcher{s: s, apply: apply}
	err := w.session(ctx)
	switch {
	case s.ctx.Err() != nil:
		return ErrClosed
	case ctx.Err() != nil:
		return nil
	}
	return err
}

// watcher is one Watch call's state; only Watch's goroutine uses it.
type watcher struct {
	s     *Store
	apply func(breaker.Record)
}

// session follows one subscription until ctx is done (nil) or it fails.
func (w *watcher) session(ctx context.Context) error {
	s := w.s
	ps := s.c.Subscribe(ctx, s.channel)
	items := make(chan any, 64)
	rctx, rcancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		w.receive(rctx, ps, items)
	}()
	defer func() {
		rcancel()
		_ = ps.Close()
		wg.Wait()
	}()

	health := time.NewTicker(s.o.health)
	defer health.Stop()
	var antiEntropy <-chan time.Time
	if s.o.antiEntropy > 0 {
		t := time.NewTicker(s.o.antiEntropy)
		defer t.Stop()
		antiEntropy = t.C
	}
	leaseTimer := s.o.clock.Timer(time.Hour)
	defer leaseTimer.Stop()
	arm := func() {
		leaseTimer.Stop()
		if next, ok := s.nextLease(); ok {
			leaseTimer.Reset(max(next.Sub(s.o.clock.Now()), 0))
		}
	}
	arm()
	heard := time.Now()
	for {
		var err error
		select {
		case <-ctx.Done():
			return nil
		case it := <-items:
			switch m := it.(type) {
			case *redis.Subscription:
				heard = time.Now()
				if m.Kind == "subscribe" {
					err = w.reload(ctx)
				}
			case *redis.Message:
				heard = time.Now()
				if st, err := decodeWire(m.Payload); err == nil {
					w.consider(st)
				}
			case *redis.Pong:
				heard = time.Now()
			case error:
				err = fmt.Errorf("breakerredis: watch: %w", m)
			}
		case <-health.C:
			silent := time.Since(heard)
			if silent >= 3*s.o.health {
				err = fmt.Errorf("breakerredis: watch: subscription silent for %v", silent.Round(time.Millisecond))
			} else if silent >= s.o.health {
				pctx, done := s.call(ctx)
				_ = ps.Ping(pctx)
				done()
			}
		case <-antiEntropy:
			err = w.reload(ctx)
		case <-s.wake:
		case <-leaseTimer.C:
			w.requestLeases(ctx)
		}
		if err != nil {
			return err
		}
		arm()
	}
}

// receive passes the subscription's messages to the session, bounding each
// wait by the health interval, and stops at the first error other than a
// timeout, which it passes on.
func (w *watcher) receive(ctx context.Context, ps *redis.PubSub, items chan<- any) {
	for ctx.Err() == nil {
		rctx, cancel := context.WithTimeout(ctx, w.s.o.health+w.s.o.timeout)
		m, err := ps.ReceiveTimeout(rctx, w.s.o.health)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if isTimeout(err) {
				continue
			}
			m = err
		}
		select {
		case items <- m:
		case <-ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// reload reads the whole namespace, passes on whatever is newer than what
// this instance has seen, and seeds Redis again with this instance's
// non-Closed records it no longer holds.
func (w *watcher) reload(ctx context.Context) error {
	// What this instance had saved before the read: only those can be
	// missing from it. A Save that ends during the read wrote after it.
	w.s.mu.Lock()
	before := maps.Clone(w.s.own)
	w.s.mu.Unlock()
	all, err := w.s.loadAll(ctx)
	if err != nil {
		return err
	}
	present := make(map[string]bool, len(all))
	for _, st := range all {
		present[st.Name] = true
		w.consider(st)
	}
	return w.reseed(ctx, present, before)
}

// reseed saves again every non-Closed record this instance had saved
// before the read (before) whose breaker the namespace no longer holds:
// an Open with the time it has left, an operator's record as it was.
func (w *watcher) reseed(ctx context.Context, present map[string]bool, before map[string]ownRecord) error {
	s := w.s
	now := s.o.clock.Now()
	var again []breaker.Record
	s.mu.Lock()
	for name, o := range s.own {
		if present[name] || !o.saved || before[name] != o {
			continue // held, or saved (or being saved) since the read
		}
		r := o.r
		if r.State == breaker.Open {
			r.Remaining -= now.Sub(o.at)
			if r.Remaining <= 0 {
				delete(s.own, name)
				continue
			}
		}
		r.BaseGen = s.seen[name]
		again = append(again, r)
	}
	s.mu.Unlock()
	for _, r := range again {
		st, err := s.save(ctx, "save", r, 0)
		if err != nil {
			return err
		}
		if st.verdict == "stored" {
			s.mu.Lock()
			if o, ok := s.own[r.Name]; ok {
				o.gen, o.saved = st.Gen, true
				s.own[r.Name] = o
			}
			s.mu.Unlock()
		}
		// The answer is this write or, if the script kept what the
		// namespace holds, another instance's record: either way it goes
		// through consider, never marked seen without being passed on.
		w.consider(st)
	}
	return nil
}

// consider passes st on if it is newer than anything seen for its name,
// not this instance's own, not expired and within the quorum rule,
// reporting whether it did.
func (w *watcher) consider(st stored) bool {
	s := w.s
	s.mu.Lock()
	if st.Gen <= s.seen[st.Name] {
		s.mu.Unlock()
		return false
	}
	s.seen[st.Name] = st.Gen
	mine := s.origins[st.Origin] || st.Origin == s.token
	if o, ok := s.own[st.Name]; ok && !mine && st.Gen > o.gen && (st.State == breaker.Closed || st.Manual) {
		delete(s.own, st.Name) // someone else closed or took over the breaker
	}
	deliver := !mine && s.passes(st)
	s.mu.Unlock()
	if !deliver {
		return false
	}
	s.scheduleLease(st)
	w.apply(st.Record)
	return true
}
