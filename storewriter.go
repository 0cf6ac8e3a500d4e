package breaker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlabs/breaker/engine"
	"github.com/breakerlabs/breaker/events"
)

// Timing of the store writer. Backoff and per-call timeouts run on the
// supervisor's clock (tests drive them with a mock); the two bounds on
// NewSupervisor and Close are real time, because they bound how long a
// caller waits whatever clock the breakers use.
const (
	storeRetryMin     = 100 * time.Millisecond // first retry after a failure
	storeRetryMax     = 10 * time.Second       // backoff cap while the store fails
	storeCallTimeout  = 2 * time.Second        // each Save, and each Load after a watch failure
	storeLoadTimeout  = 2 * time.Second        // NewSupervisor's Load (real time)
	storeFlushTimeout = time.Second            // Supervisor.Close's flush (real time)
	storeAcksKept     = 8                      // own saved records remembered per name
)

// storeWriter is a supervisor's link to its StateStore. It saves the
// transitions the actors hand it in the background, latest record per
// breaker wins, with backoff while the store fails; it brings the store's
// records (loaded, watched, or newer ones returned by Save) to the
// breakers; and it keeps the store's health for StoreErr.
//
// The actors only ever call transitioned, which takes w.mu for a map
// update and signals the writer goroutine without blocking: a failing or
// hanging store never reaches a call or a transition.
type storeWriter struct {
	st       StateStore
	instance string
	clk      clock.Clock
	sup      *Supervisor

	ctx       context.Context    // parent of every store call; cancelled when Close stops waiting
	cancel    context.CancelFunc //
	watchStop context.CancelFunc // ends Watch (nil without a SharedStore)

	signal    chan struct{} // capacity 1: something is dirty
	stop      chan struct{} // closed by close: flush and exit
	done      chan struct{} // closed when the writer goroutine exits
	watchDone chan struct{} // closed when the watch goroutine exits (or at once without one)
	closeOnce sync.Once

	evMu  sync.Mutex // serialises the supervisor-level events (Breaker "")
	evSeq uint64

	mu      sync.Mutex
	slots   map[string]*storeSlot
	dirty   map[string]bool // names with a pending record
	failing bool            // in an outage: since a store call failed, no call has succeeded
	err     error           // the current failure, for StoreErr
	outages uint64          // outages so far (one counted error each)
	// loadFailed is NewSupervisor's load failure, until announced: no one
	// can have subscribed when it happens, so its StoreFailed event waits
	// for the first breaker (see created).
	loadFailed error
}

// storeSlot is what the writer knows about one name.
type storeSlot struct {
	pending  pendingRecord // the latest own transition not yet saved (seq 0: none)
	seq      uint64        // transitions handed over for the name
	seenGen  uint64        // the newest Gen this process has seen for the name
	acks     []storeAck    // own records the store accepted, oldest first
	remote   *Record       // a record for a name with no breaker yet; GetOrCreate applies it
	remoteAt time.Time     // when remote arrived, by this process's clock
}

type pendingRecord struct {
	seq     uint64
	tr      engine.Transition
	attempt int
}

// storeAck pairs the Gen the store gave one of this breaker's records with
// the epoch that record's transition entered.
type storeAck struct{ gen, epoch uint64 }

// defaultInstance is "host-pid".
func defaultInstance() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	return host + "-" + strconv.Itoa(os.Getpid())
}

// newStoreWriter loads st (bounded by storeLoadTimeout of real time) and
// starts the writer goroutine, and the watch goroutine if st is a
// SharedStore. A failed load is the first outage, without an event (no
// one can have subscribed yet).
func newStoreWriter(s *Supervisor, st StateStore, instance string, clk clock.Clock) *storeWriter {
	if instance == "" {
		instance = defaultInstance()
	}
	if clk == nil {
		clk = clock.New()
	}
	w := &storeWriter{
		st: st, instance: instance, clk: clk, sup: s,
		signal:    make(chan struct{}, 1),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
		watchDone: make(chan struct{}),
		slots:     map[string]*storeSlot{},
		dirty:     map[string]bool{},
	}
	w.ctx, w.cancel = context.WithCancel(context.Background())

	ctx, cancel := context.WithTimeout(w.ctx, storeLoadTimeout)
	recs, err := callLoad(ctx, st)
	cancel()
	if err != nil {
		w.failing, w.outages, w.loadFailed = true, 1, err
		w.err = fmt.Errorf("breaker: loading the state store: %w", err)
	}
	now := clk.Now()
	for _, r := range recs {
		w.keep(r, now)
	}

	go w.run()
	if sh, ok := st.(SharedStore); ok {
		var wctx context.Context
		wctx, w.watchStop = context.WithCancel(w.ctx)
		go w.watch(wctx, sh)
	} else {
		close(w.watchDone)
	}
	return w
}

// slot returns name's slot, creating it. w.mu is held.
func (w *storeWriter) slot(name string) *storeSlot {
	sl := w.slots[name]
	if sl == nil {
		sl = &storeSlot{}
		w.slots[name] = sl
	}
	return sl
}

// keep stores a loaded record for GetOrCreate. Only states a breaker can
// start in are kept: Open, ForcedOpen and Disabled.
func (w *storeWriter) keep(r Record, now time.Time) {
	if r.Name == "" {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	sl := w.slot(r.Name)
	sl.seenGen = max(sl.seenGen, r.Gen)
	switch r.State {
	case Open, ForcedOpen, Disabled:
		sl.remote, sl.remoteAt = &r, now
	default:
		sl.remote = nil
	}
}

// transitioned is called by a breaker's actor after it publishes tr. It
// records what to save and signals the writer; it never blocks. HalfOpen
// is never stored (each instance times Open → HalfOpen itself from the
// Open record), and an adopted transition is never saved again: the store
// already holds it, so it also drops any older own record still pending.
// Nil-safe: a breaker without a store has a nil writer.
func (w *storeWriter) transitioned(name string, tr engine.Transition, attempt int) {
	if w == nil || tr.To == HalfOpen {
		return
	}
	w.mu.Lock()
	sl := w.slot(name)
	sl.seq++
	if tr.Reason == ReasonRemote {
		sl.pending = pendingRecord{}
		delete(w.dirty, name)
		w.mu.Unlock()
		return
	}
	sl.pending = pendingRecord{seq: sl.seq, tr: tr, attempt: attempt}
	w.dirty[name] = true
	w.mu.Unlock()
	select {
	case w.signal <- struct{}{}:
	default:
	}
}

// created is called by GetOrCreate (under the supervisor's lock) for a
// new breaker: it forgets the acknowledgements of any earlier breaker of
// the name (their epochs mean nothing to the new one) and returns the
// record to start from, if one was stored, with its remaining time
// reduced by how long this process has held it.
func (w *storeWriter) created(name string) (engine.Remote, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.loadFailed; err != nil {
		// The load's outage is announced now, once, if it is still on:
		// subscribers made after NewSupervisor (a logger, a dashboard)
		// see it before the first breaker's events.
		w.loadFailed = nil
		if w.failing {
			w.emitFailure("", err)
		}
	}
	sl := w.slot(name)
	sl.acks, sl.pending = nil, pendingRecord{}
	delete(w.dirty, name)
	if sl.remote == nil {
		return engine.Remote{}, false
	}
	r := remoteOf(*sl.remote, w.clk.Now().Sub(sl.remoteAt), 0)
	sl.remote = nil
	return r, true
}

// remoteOf is the engine's view of a record that has been held for age.
func remoteOf(r Record, age time.Duration, seen uint64) engine.Remote {
	return engine.Remote{State: r.State, Remaining: r.Remaining - age, Attempt: r.Attempt,
		Manual: r.Manual, SeenEpoch: seen, Origin: r.Origin}
}

// receive handles a record of another instance (from Watch, a reload, or
// Save's answer): stale and duplicate Gens and this instance's own
// records are dropped; a record for a name with a breaker is adopted by
// it (asynchronously: the caller never waits on an actor); any other is
// kept for GetOrCreate.
func (w *storeWriter) receive(r Record) {
	if r.Name == "" || r.Origin == w.instance {
		return
	}
	w.mu.Lock()
	sl := w.slot(r.Name)
	if r.Gen != 0 && r.Gen <= sl.seenGen {
		w.mu.Unlock()
		return
	}
	sl.seenGen = max(sl.seenGen, r.Gen)
	w.mu.Unlock()
	w.deliver(r)
}

// remoteFor is the engine's view of r for name's current breaker: for an
// automatic Closed, the latest epoch of this breaker that r's writer had
// seen (the epoch of the newest own record the store accepted with a Gen
// at or before r.BaseGen; 0 if none).
func (w *storeWriter) remoteFor(r Record) engine.Remote {
	var seen uint64
	if r.State == Closed && !r.Manual {
		w.mu.Lock()
		if sl := w.slots[r.Name]; sl != nil {
			for _, a := range sl.acks {
				if a.gen <= r.BaseGen {
					seen = max(seen, a.epoch)
				}
			}
		}
		w.mu.Unlock()
	}
	return remoteOf(r, 0, seen)
}

// deliver hands r to the breaker of its name, without waiting for the
// actor to apply it, or keeps it for GetOrCreate if there is none (under
// the supervisor's lock, so a concurrent GetOrCreate either sees it kept
// or is the breaker it is handed to). After Close it does nothing.
func (w *storeWriter) deliver(r Record) {
	s := w.sup
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		return
	}
	b, ok := s.breakers.load(r.Name)
	if !ok {
		w.keep(r, w.clk.Now())
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	b.adopt(w.remoteFor(r), false)
}

// emitFailure publishes the StoreFailed event that starts an outage:
// through the breaker's own emitter (so it has the breaker's next Seq) if
// name has one, else as a supervisor-level event with Breaker "" and the
// name in Err.
func (w *storeWriter) emitFailure(name string, cause error) {
	s := w.sup
	if name != "" {
		if b, ok := s.breakers.load(name); ok {
			b.emitter.emit(events.Event{Kind: events.StoreFailed, Err: cause})
			return
		}
		cause = fmt.Errorf("saving %q: %w", name, cause)
	}
	w.evMu.Lock()
	defer w.evMu.Unlock()
	w.evSeq++
	s.hub.Publish(events.Event{Seq: w.evSeq, Time: w.clk.Now(), Kind: events.StoreFailed, Err: cause})
}

// run is the writer goroutine: it saves what is dirty when signalled, and
// while the store fails, only when the backoff timer fires. On stop it
// makes one last attempt for everything pending and exits.
func (w *storeWriter) run() {
	defer close(w.done)
	var (
		backoff time.Duration
		retry   *clock.Timer
		retryC  <-chan time.Time
	)
	defer func() {
		if retry != nil {
			retry.Stop()
		}
	}()
	for {
		signal := w.signal
		if retryC != nil {
			signal = nil // failing: wait for the backoff, however many transitions come
		}
		select {
		case <-w.stop:
			w.saveDirty(true)
			return
		case <-signal:
		case <-retryC:
			retry, retryC = nil, nil
		}
		if w.saveDirty(false) {
			backoff = 0
			continue
		}
		backoff = min(max(2*backoff, storeRetryMin), storeRetryMax)
		retry = w.clk.Timer(backoff)
		retryC = retry.C
	}
}

// saveDirty saves every pending record, in name order, and reports
// whether all of them were saved. It stops at the first failure (the
// store is down: hammering it with each breaker's record helps no one),
// unless final, when it tries each record once. A record superseded while
// it was being saved stays pending.
func (w *storeWriter) saveDirty(final bool) bool {
	w.mu.Lock()
	names := make([]string, 0, len(w.dirty))
	for name := range w.dirty {
		names = append(names, name)
	}
	w.mu.Unlock()
	slices.Sort(names)
	ok := true
	for _, name := range names {
		if w.ctx.Err() != nil {
			return false
		}
		w.mu.Lock()
		sl := w.slots[name]
		p := sl.pending
		if p.seq == 0 {
			w.mu.Unlock()
			continue
		}
		rec := w.record(name, p, sl.seenGen)
		w.mu.Unlock()

		ctx, cancel := w.callContext(w.ctx)
		got, err := callSave(ctx, w.st, rec)
		err = timedOut(ctx, err)
		cancel()
		if err != nil {
			w.failed(name, fmt.Errorf("breaker: saving %q to the state store: %w", name, err), err, !final)
			ok = false
			if final {
				continue
			}
			return false
		}
		w.saved(sl, name, p, rec, got)
	}
	return ok
}

// record builds the Record to save for p, now: an Open record carries the
// time left in its period when written.
func (w *storeWriter) record(name string, p pendingRecord, seenGen uint64) Record {
	r := Record{Name: name, State: p.tr.To, Since: p.tr.At, Attempt: p.attempt, Reason: p.tr.Reason,
		Manual: p.tr.Reason == ReasonManual, BaseGen: seenGen, Origin: w.instance}
	if r.State == Open {
		r.Remaining = max(p.tr.Deadline.Sub(w.clk.Now()), 0)
	}
	return r
}

// saved handles a successful Save of p (as rec): the outage, if any, is
// over; p is no longer pending unless superseded; the store's answer is
// either this instance's record (remembered for later Closed records) or a
// newer one of another instance, which is adopted. This instance's record
// may come back merged with another instance's open into one period
// (a SharedStore's merge): a later deadline or a higher attempt is adopted.
func (w *storeWriter) saved(sl *storeSlot, name string, p pendingRecord, rec, got Record) {
	w.mu.Lock()
	w.failing, w.err, w.loadFailed = false, nil, nil
	if sl.pending.seq == p.seq {
		sl.pending = pendingRecord{}
		delete(w.dirty, name)
	}
	var adopt, merged bool
	if got.Origin == "" || got.Origin == w.instance {
		merged = got.Name == name && got.State == Open && rec.State == Open &&
			(got.Remaining > rec.Remaining || got.Attempt > rec.Attempt)
		sl.acks = append(sl.acks, storeAck{gen: got.Gen, epoch: p.tr.Epoch})
		if len(sl.acks) > storeAcksKept {
			sl.acks = slices.Delete(sl.acks, 0, 1)
		}
		sl.seenGen = max(sl.seenGen, got.Gen)
	} else {
		adopt = got.Name == name
	}
	w.mu.Unlock()
	if adopt {
		w.receive(got)
	}
	if merged {
		w.deliver(got)
	}
}

// failed records a store failure. The first failure of an outage counts
// it and, if event is set, emits one StoreFailed event (for name, ""
// for a load or watch); later ones only update StoreErr.
func (w *storeWriter) failed(name string, err, cause error, event bool) {
	w.mu.Lock()
	first := !w.failing
	w.failing, w.err = true, err
	if first {
		w.outages++
	}
	w.mu.Unlock()
	if first && event {
		w.emitFailure(name, cause)
	}
}

// recovered ends an outage after a successful load.
func (w *storeWriter) recovered() {
	w.mu.Lock()
	w.failing, w.err, w.loadFailed = false, nil, nil
	w.mu.Unlock()
}

// failure returns the store's current failure, nil while it works.
func (w *storeWriter) failure() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// outageCount returns how many outages there have been.
func (w *storeWriter) outageCount() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.outages
}

// watch is the watch goroutine: it follows the SharedStore's Watch and,
// each time Watch ends with an error (an outage, with one StoreFailed
// event for ""), waits out a backoff, reloads everything (a successful
// reload ends the outage) and watches again.
func (w *storeWriter) watch(ctx context.Context, sh SharedStore) {
	defer close(w.watchDone)
	var backoff time.Duration
	for {
		err := callWatch(ctx, sh, w.receive)
		if ctx.Err() != nil {
			return
		}
		if err == nil {
			err = errors.New("watch ended")
		}
		w.failed("", fmt.Errorf("breaker: watching the state store: %w", err), err, true)
		for {
			backoff = min(max(2*backoff, storeRetryMin), storeRetryMax)
			t := w.clk.Timer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			lctx, cancel := w.callContext(ctx)
			recs, err := callLoad(lctx, sh)
			err = timedOut(lctx, err)
			cancel()
			if err == nil {
				w.recovered()
				for _, r := range recs {
					w.receive(r)
				}
				backoff = 0
				break
			}
			if ctx.Err() != nil {
				return
			}
			w.failed("", fmt.Errorf("breaker: reloading the state store: %w", err), err, true)
		}
	}
}

// close stops watching, flushes what is pending (one attempt per record)
// and stops the writer, waiting at most storeFlushTimeout of real time in
// all. If a store call is still running then, its context is cancelled
// and close returns without waiting for it: a store that honours its
// context returns at once and the goroutines exit; one that does not
// keeps its goroutine until its call returns, and nothing calls the store
// after that. The store itself is not closed.
func (w *storeWriter) close() {
	w.closeOnce.Do(w.shutdown)
}

// shutdown is close's body, run once.
func (w *storeWriter) shutdown() {
	if w.watchStop != nil {
		w.watchStop()
	}
	close(w.stop)
	t := time.NewTimer(storeFlushTimeout - 50*time.Millisecond)
	defer t.Stop()
	all := func() {
		<-w.done
		<-w.watchDone
	}
	finished := make(chan struct{})
	go func() { all(); close(finished) }()
	select {
	case <-finished:
		w.cancel()
		return
	case <-t.C:
	}
	w.cancel()
	grace := time.NewTimer(50 * time.Millisecond)
	defer grace.Stop()
	select {
	case <-finished:
	case <-grace.C:
	}
}

// errStoreTimeout is the cause of a store call's context ending because
// the store did not answer in time.
var errStoreTimeout = fmt.Errorf("no answer within %v: %w", storeCallTimeout, context.DeadlineExceeded)

// callContext returns the context for one store call: parent, cancelled
// after storeCallTimeout on the supervisor's clock (with the cause
// errStoreTimeout). It is built on the clock's AfterFunc rather than a
// deadline context so that a mock clock drives it.
func (w *storeWriter) callContext(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	t := w.clk.AfterFunc(storeCallTimeout, func() { cancel(errStoreTimeout) })
	return ctx, func() {
		t.Stop()
		cancel(context.Canceled)
	}
}

// timedOut adds why ctx ended to err, if it ended because the store took
// too long.
func timedOut(ctx context.Context, err error) error {
	if err != nil && errors.Is(context.Cause(ctx), errStoreTimeout) && !errors.Is(err, errStoreTimeout) {
		return fmt.Errorf("%w (%w)", err, errStoreTimeout)
	}
	return err
}

// callLoad, callSave and callWatch call the store, turning a panic in it
// into an error: a broken store must not take the process down.
func callLoad(ctx context.Context, st StateStore) (recs []Record, err error) {
	defer recoverStore("Load", &err)
	return st.Load(ctx)
}

func callSave(ctx context.Context, st StateStore, r Record) (got Record, err error) {
	defer recoverStore("Save", &err)
	return st.Save(ctx, r)
}

func callWatch(ctx context.Context, sh SharedStore, apply func(Record)) (err error) {
	defer recoverStore("Watch", &err)
	return sh.Watch(ctx, apply)
}

func recoverStore(op string, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("breaker: StateStore.%s panicked: %v", op, r)
	}
}
