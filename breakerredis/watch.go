package breakerredis

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/breakerlabs/breaker"
	"github.com/redis/go-redis/v9"
)

// Watch calls apply with every record another instance saves, until ctx is
// done or the store is closed. It follows the namespace's channel and, on
// every (re)subscription, reloads the whole hash, so a message lost while
// the connection was down is made up for; it reloads again every
// WithAntiEntropy period. A record reaches apply only if its Gen is above
// every Gen seen for its name (records arrive in Gen order per name; a
// stale or replayed message changes nothing), it is not this instance's own
// (an Origin it saved with), and it passes WithQuorum; an Open that has run
// out is not passed on. After a reload that finds a breaker this instance
// saved non-Closed missing (Redis restarted empty), Watch saves it again.
//
// apply runs on Watch's goroutine, one record at a time; it must not call
// Close. Redis failures never end Watch: it keeps reconnecting with
// backoff. It returns nil when ctx is done, ErrClosed when the store is
// closed (or was already), and an error if another Watch is running on
// the same store. When it returns, every goroutine it started has exited.
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
	for ctx.Err() == nil {
		w.session(ctx)
	}
	if s.ctx.Err() != nil {
		return ErrClosed
	}
	return nil
}

// watcher is one Watch call's state; only Watch's goroutine uses it.
type watcher struct {
	s     *Store
	apply func(breaker.Record)
	retry *time.Timer // a failed reload or reseed, tried again
	delay time.Duration
}

// session follows one subscription until ctx is done or the subscription
// goes silent (three health intervals without a message or a pong), in
// which case the caller starts another.
func (w *watcher) session(ctx context.Context) {
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
		var retry <-chan time.Time
		if w.retry != nil {
			retry = w.retry.C
		}
		select {
		case <-ctx.Done():
			return
		case it := <-items:
			switch m := it.(type) {
			case *redis.Subscription:
				heard = time.Now()
				if m.Kind == "subscribe" {
					w.reload(ctx)
				}
			case *redis.Message:
				heard = time.Now()
				if st, err := decodeWire(m.Payload); err == nil {
					w.consider(st)
				}
			case *redis.Pong:
				heard = time.Now()
			}
			arm()
		case <-health.C:
			silent := time.Since(heard)
			if silent >= 3*s.o.health {
				return // a dead subscription: make a new one
			}
			if silent >= s.o.health {
				pctx, done := s.call(ctx)
				_ = ps.Ping(pctx)
				done()
			}
		case <-antiEntropy:
			w.reload(ctx)
			arm()
		case <-retry:
			w.retry = nil
			w.reload(ctx)
			arm()
		case <-s.wake:
			arm()
		case <-leaseTimer.C:
			w.requestLeases(ctx)
			arm()
		}
	}
}

// receive passes the subscription's messages (and its receive errors) to
// the session, bounding each wait by the health interval.
func (w *watcher) receive(ctx context.Context, ps *redis.PubSub, items chan<- any) {
	backoff := backoffStart
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
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, backoffMax)
			continue
		}
		backoff = backoffStart
		select {
		case items <- m:
		case <-ctx.Done():
			return
		}
	}
}

const (
	backoffStart = 50 * time.Millisecond
	backoffMax   = time.Second
)

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// sleep waits d or until ctx is done, reporting whether it waited d.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// reload reads the whole namespace, passes on whatever is newer than what
// this instance has seen, and seeds Redis again with this instance's
// non-Closed records it no longer holds. A failure is retried with backoff.
func (w *watcher) reload(ctx context.Context) {
	all, err := w.s.loadAll(ctx)
	if err == nil {
		present := make(map[string]bool, len(all))
		for _, st := range all {
			present[st.Name] = true
			w.consider(st)
		}
		err = w.reseed(ctx, present)
	}
	if err != nil && ctx.Err() == nil {
		w.delay = min(max(2*w.delay, backoffStart), backoffMax)
		if w.retry == nil {
			w.retry = time.NewTimer(w.delay)
		}
		return
	}
	w.delay = 0
}

// reseed saves again every non-Closed record this instance saved whose
// breaker the namespace no longer holds: an Open with the time it has
// left, an operator's record as it was.
func (w *watcher) reseed(ctx context.Context, present map[string]bool) error {
	s := w.s
	now := s.o.clock.Now()
	var again []breaker.Record
	s.mu.Lock()
	for name, o := range s.own {
		if present[name] {
			continue
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
		s.mu.Lock()
		s.seen[r.Name] = max(s.seen[r.Name], st.Gen)
		if o, ok := s.own[r.Name]; ok {
			o.gen, o.saved = st.Gen, true
			s.own[r.Name] = o
		}
		s.mu.Unlock()
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
