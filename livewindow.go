package breaker

import (
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/breakerlabs/breaker/engine"
)

// liveWindow is the lock-free sliding window the actor's fast path records
// Closed (and Disabled) outcomes into. The actor makes a fresh one each
// time it enters Closed or Disabled and publishes it in the view; a permit
// remembers the window it was granted in, so a late outcome lands in its
// own, retired window and never in the current one.
//
// Recording is a few atomic operations and never blocks. Readers (the
// reporter deciding whether to latch a trip, Metrics) see counts that are exact once writers are quiet and
// may lag by the in-flight writes otherwise; the engine judges the counts
// a latching reporter read.
//
// The fields are in two groups, so that the words calls write (n, consec
// and the counters after it) never share a cache line with what every
// Acquire reads (latch): otherwise that line would move between cores on
// every call. n starts 64 bytes after latch ends, whatever the alignment,
// and the fields between them are read-only once the window is published
// (the ring pointer, written once, by the first call), so they space the
// groups apart without padding: every breaker pays for each byte here
// (and a closedPeriod puts its view, read by Acquire too, before latch).
type liveWindow struct {
	// Read-mostly: set at creation; latch is written once at most.
	b      *Breaker
	tracks bool   // false in Disabled: never latches
	tag    uint32 // count-based: the tag of the ring words this window owns (see liveRing)

	// latch is set by the reporter whose outcome made a trip condition
	// hold, before its report returns; from then on Acquire rejects with
	// latch.err, even before the actor has published Open. The actor
	// makes the latched trip formal (at the latched time, from the latched
	// counts) and retires the window. Never cleared: a window is not
	// reused after its trip.
	latch atomic.Pointer[latchedTrip]

	width   int64        // time-based: nanoseconds per bucket
	buckets []liveBucket // time-based: bucket i of Unix time lives in buckets[i % len]

	// ring is a count window's ring of its last calls (see liveRing): a
	// pointer to its first word, nil until the first call records in it
	// (a breaker never called has none) unless the actor handed the
	// window the ring of the breaker's previous Closed period.
	ring    atomic.Pointer[atomic.Uint64]
	size    uint64      // count-based: the window's size (calls)
	seeded  uint64      // count-based: calls carried over by reshaped, in the ring's last slots
	folding atomic.Bool // a fold of n is pending with the actor: written once per 2³⁹ calls at most

	// n is the count window's packed word, the one shared
	// read-modify-write of a Closed-state call: calls recorded (low 40
	// bits; a call's ring slot is (calls−1) mod len(ring)), failures
	// recorded (bits 40–62), and whether the actor has retired the window
	// (bit 63). One atomic add records a call in both the window and the
	// lifetime counters: the window's share of the lifetime successes is
	// calls − failures, read from one load, so it never goes down.
	n atomic.Uint64

	consec atomic.Int64 // failures in a row: read by every success, written by failures

	// Written by failures and slow calls (count-based), or per bucket
	// (time-based).
	fails     atomic.Int64
	slow      atomic.Int64
	slowFails atomic.Int64
	lastBad   atomic.Int64 // bucket index of the latest failure or slow call
	newest    atomic.Int64 // the newest bucket index recorded: time never goes backwards in here
}

// liveBucket holds four tagged counters. Each word packs the low 32 bits
// of the bucket index it counts for (high half) and the count (low half),
// so a writer moving a slot to a newer bucket and the increments of its
// peers are one CAS each and never lose a count.
//
// 32 bits of index cannot tell every gap apart: a slot last written
// between 2³² − 2²⁰ and 2³² bucket widths ago (49 days at 1 ms buckets,
// give or take 17 minutes) is taken for a slightly newer bucket by a
// writer, and a slot last written exactly a multiple of 2³² widths ago is
// taken for the current one by a reader. We accept and document both.
type liveBucket struct {
	calls, fails, slow, slowFails atomic.Uint64
	_                             [32]byte
}

// latchedTrip is a trip decided on the fast path, waiting for the actor to
// make it formal.
type latchedTrip struct {
	at  time.Time     // when the crossing report read the clock
	c   engine.Counts // the counts that crossed
	err *OpenError    // what Acquire rejects with meanwhile: &open.err
	// open is the period the trip will most likely publish, made with the
	// latch: its err is the rejection, and the actor fills its view and
	// publishes it if the trip's deadline is err.Until (see
	// actor.openPeriod), so the latched rejection and the open period's
	// are one *OpenError and the trip allocates once. The view is
	// written by the actor alone, before it is published; nobody reads it
	// before.
	open openPeriod
	used bool // the actor published open.v; the actor only
}

// shut latches a trip from counts c: every later Acquire in this window is
// rejected with an *OpenError whose Until is the deadline the trip will
// have. The reporter that latches asks the actor to make the trip formal.
func (w *liveWindow) shut(c engine.Counts) {
	b := w.b
	at := b.clk.Now()
	l := &latchedTrip{at: at, c: c}
	l.open.err = OpenError{Breaker: b.name, Until: at.Add(b.tuning().settings.OpenDuration(0))}
	l.err = &l.open.err
	if w.latch.CompareAndSwap(nil, l) {
		b.send(message{kind: msgTrip, w: w}, false)
	}
}

const (
	bitFailure = 1
	bitSlow    = 2
)

// newLiveWindowOf is an empty live window of shape win.
func newLiveWindowOf(b *Breaker, tracks bool, win engine.Window) *liveWindow {
	w := new(liveWindow)
	w.init(b, tracks, win)
	return w
}

// init makes w an empty live window of shape win. w is new: nobody else
// sees it yet.
func (w *liveWindow) init(b *Breaker, tracks bool, win engine.Window) {
	w.b, w.tracks = b, tracks
	if win.Kind == engine.TimeBased {
		w.width = int64(win.BucketWidth())
		w.buckets = make([]liveBucket, win.Buckets)
		w.lastBad.Store(-1 << 62)
		w.newest.Store(-1 << 62)
	} else {
		w.size = uint64(win.Size)
	}
}

// Fields of liveWindow.n.
const (
	nCalls     = 1
	nFails     = 1 << 40
	nCallsMask = nFails - 1
	nRetired   = 1 << 63
	nFailsMask = nRetired - nFails
)

// foldAt is when a count window asks the actor to fold a share of its
// packed word into the lifetime base: at 2³⁹ calls or 2²² failures, half
// the room of each field. A variable so that tests can make folds happen.
var foldAt = struct{ calls, failures uint64 }{1 << 39, 1 << 22}

func nCallsOf(n uint64) uint64 { return n & nCallsMask }
func nFailsOf(n uint64) uint64 { return (n & nFailsMask) >> 40 }

// record adds one reported outcome (not Ignore) at time now (Unix ns;
// used by time windows only) to the window and to the lifetime counters.
// It reports whether a trip condition may now hold, which the caller
// answers by evaluating the window.
func (w *liveWindow) record(now int64, failure, slow bool, d time.Duration) (mayTrip bool) {
	b := w.b
	t := b.tuning()
	s := &t.settings
	var nb uint32
	if failure {
		nb |= bitFailure
	}
	if slow {
		nb |= bitSlow
	}
	if w.size != 0 {
		delta := uint64(nCalls)
		if failure {
			delta += nFails
		}
		n := w.n.Add(delta)
		if n&nRetired != 0 {
			// The actor retired the window between our look at the view
			// and the add, and folded its counts without ours: count it
			// as the stale report it now is.
			b.countOutcome(outcomeOf(failure), d, slow)
			return false
		}
		if t.timesCalls {
			b.countMeasured(outcomeOf(failure), d, slow)
		}
		if failure {
			w.consec.Add(1)
		} else if w.consec.Load() != 0 {
			w.consec.Store(0)
		}
		calls := nCallsOf(n)
		// In steady state the slot already holds nb (a success over a
		// success): one load, checked here; setSlot (not inlined) only
		// for a change, or a word that is not this window's.
		r, i := w.loadRing(), (calls-1)%w.size
		if cur := ringWord(r, i).Load(); uint32(cur>>32) != w.tag || uint32(cur>>(i%ringSlots*2))&3 != nb {
			if old, changed := w.setSlot(r, i, nb); changed {
				w.adjust(old, nb)
			}
		}
		if calls >= foldAt.calls || nFailsOf(n) >= foldAt.failures {
			w.askFold()
		}
		if !w.tracks {
			return false
		}
		return nb != 0 || calls+w.seeded == uint64(s.MinimumCalls)
	}
	b.countOutcome(outcomeOf(failure), d, slow)
	if failure {
		w.consec.Add(1)
	} else if w.consec.Load() != 0 {
		w.consec.Store(0)
	}
	idx := w.clamp(engine.BucketIndex(time.Unix(0, now), time.Duration(w.width)))
	bk := &w.buckets[mod(idx, len(w.buckets))]
	tagged(&bk.calls, idx)
	if failure {
		tagged(&bk.fails, idx)
	}
	if slow {
		tagged(&bk.slow, idx)
		if failure {
			tagged(&bk.slowFails, idx)
		}
	}
	if nb != 0 {
		w.lastBad.Store(idx)
	}
	if !w.tracks {
		return false
	}
	// A success can complete MinimumCalls while bad calls are still in the
	// window; only then does it need a look.
	return nb != 0 || idx-w.lastBad.Load() < int64(len(w.buckets))
}

func outcomeOf(failure bool) engine.Outcome {
	if failure {
		return engine.Failure
	}
	return engine.Success
}

// askFold asks the actor to fold a share of the window's packed counts
// into the lifetime base before a field overflows (after 2³⁹ calls or 2²²
// failures in one Closed period). At most one request is pending.
func (w *liveWindow) askFold() {
	if w.folding.CompareAndSwap(false, true) {
		w.b.send(message{kind: msgFold, w: w}, false)
	}
}

// lifetime returns the window's share of the lifetime successes and
// failures: everything recorded in it since the actor last folded it.
// Zero once retired (the actor folded all of it).
func (w *liveWindow) lifetime() (successes, failures uint64) {
	n := w.n.Load()
	if n&nRetired != 0 {
		return 0, 0
	}
	return nCallsOf(n) - nFailsOf(n), nFailsOf(n)
}

// retire marks the window retired and returns its counts, for the actor to
// fold into the lifetime base. Reports that land after it count as stale.
// The actor only, inside a fold (lifetime.beginFold).
func (w *liveWindow) retire() (successes, failures uint64) {
	n := w.n.Or(nRetired)
	if n&nRetired != 0 {
		return 0, 0
	}
	return nCallsOf(n) - nFailsOf(n), nFailsOf(n)
}

// fold moves a share of the window's counts into the lifetime base, keeping
// at least one ring's worth of calls and the ring positions (a multiple of
// the ring's size is moved). The actor only, inside a fold.
func (w *liveWindow) fold() (successes, failures uint64) {
	defer w.folding.Store(false)
	n := w.n.Load()
	if w.size == 0 || n&nRetired != 0 {
		return 0, 0
	}
	size := w.size
	calls, fails := nCallsOf(n), nFailsOf(n)
	if calls < 2*size {
		return 0, 0
	}
	xc := (calls - size) / size * size
	xf := min(fails, xc)
	w.n.Add(-(xc*nCalls + xf*nFails))
	return xc - xf, xf
}

// clamp returns the bucket a call at bucket idx is recorded in: idx, or the
// newest bucket recorded so far if idx is older (a clock that went
// backwards, or a writer whose reading is older than its peers'), as the
// engine's windows do. It advances the newest index.
func (w *liveWindow) clamp(idx int64) int64 {
	for {
		n := w.newest.Load()
		if idx <= n {
			return n
		}
		if w.newest.CompareAndSwap(n, idx) {
			return idx
		}
	}
}

// setSlot stores outcome bits nb in slot i of ring r (the window's),
// returning the bits it held and whether they differed (nothing is written
// if not). A word that does not carry the window's tag belongs to a later
// window the ring was handed to (see liveRing): the writer is stale, and
// changes nothing.
func (w *liveWindow) setSlot(r *atomic.Uint64, i uint64, nb uint32) (old uint32, changed bool) {
	word := ringWord(r, i)
	shift := i % ringSlots * 2
	tag := uint64(w.tag) << 32
	for {
		cur := word.Load()
		if cur&^ringSlotsMask != tag {
			return 0, false
		}
		old = uint32(cur>>shift) & 3
		if old == nb {
			return old, false
		}
		if word.CompareAndSwap(cur, cur&^(3<<shift)|uint64(nb)<<shift) {
			return old, true
		}
	}
}

// slot returns the outcome bits in slot i of ring r (the window's own).
func (w *liveWindow) slot(r *atomic.Uint64, i uint64) uint32 {
	return uint32(ringWord(r, i).Load()>>(i%ringSlots*2)) & 3
}

func (w *liveWindow) adjust(old, nb uint32) {
	if d := int64(nb&bitFailure) - int64(old&bitFailure); d != 0 {
		w.fails.Add(d)
	}
	if d := int64(nb&bitSlow)>>1 - int64(old&bitSlow)>>1; d != 0 {
		w.slow.Add(d)
	}
	if d := slowFail(nb) - slowFail(old); d != 0 {
		w.slowFails.Add(d)
	}
}

// slowFail is 1 if outcome bits b are a slow failure.
func slowFail(b uint32) int64 {
	if b == bitFailure|bitSlow {
		return 1
	}
	return 0
}

// newerSpan is how far ahead (in buckets) a slot's tag may be for a writer
// to take it as a newer bucket rather than a stale one.
const newerSpan = 1 << 20

// tagged increments the counter of bucket idx in word, resetting it first
// if it counts another bucket, unless that bucket is slightly newer (a
// writer whose clock reading is older than its peers'): then it counts
// there.
func tagged(word *atomic.Uint64, idx int64) {
	tag := uint64(uint32(idx)) << 32
	for {
		old := word.Load()
		next := old + 1
		if ahead := uint32(old>>32) - uint32(idx); old == 0 || (ahead != 0 && ahead >= newerSpan) {
			next = tag | 1
		}
		if word.CompareAndSwap(old, next) {
			return
		}
	}
}

// count reads a tagged word for bucket idx.
func count(word *atomic.Uint64, idx int64) int {
	v := word.Load()
	if uint32(v>>32) != uint32(idx) {
		return 0
	}
	return int(uint32(v))
}

// counts returns the window's counts at time now (Unix ns).
//
// Writers count a call before its failure or slowness (record), so counts
// reads the other way round: failures and slow calls first, then the calls
// they belong to. Read in that order, the counts never hold a failure
// whose call they miss, however long the reader is descheduled between two
// loads while writers go on: the failure rate they give is at most the
// rate at some instant during the read, and a trip is never latched on
// failures the window does not hold. (Read calls first, a reader paused
// after that load saw every failure recorded during the pause against the
// calls of before it, and latched a failure rate of 1 for a breaker failing
// one call in twenty.)
func (w *liveWindow) counts(now int64) engine.Counts {
	c := engine.Counts{ConsecutiveFailures: int(w.consec.Load())}
	if w.size != 0 {
		fails, slow, slowFails := w.fails.Load(), w.slow.Load(), w.slowFails.Load()
		c.Calls = int(min(nCallsOf(w.n.Load())+w.seeded, w.size))
		c.Failures = clampCount(fails, c.Calls)
		c.SlowCalls = clampCount(slow, c.Calls)
		c.SlowFailures = clampCount(slowFails, c.SlowCalls)
		return c
	}
	cur := max(engine.BucketIndex(time.Unix(0, now), time.Duration(w.width)), w.newest.Load())
	for i := cur - int64(len(w.buckets)) + 1; i <= cur; i++ {
		bk := &w.buckets[mod(i, len(w.buckets))]
		fails, slow, slowFails := count(&bk.fails, i), count(&bk.slow, i), count(&bk.slowFails, i)
		calls := count(&bk.calls, i)
		if calls == 0 {
			// Empty, or moved on to a newer bucket since its failures were
			// read (a writer resets calls first): bucket i is gone.
			continue
		}
		c.Calls += calls
		c.Failures += fails
		c.SlowCalls += slow
		c.SlowFailures += slowFails
	}
	c.Failures = min(c.Failures, c.Calls)
	c.SlowCalls = min(c.SlowCalls, c.Calls)
	c.SlowFailures = min(c.SlowFailures, c.SlowCalls, c.Failures)
	return c
}

// clampCount bounds a counter that concurrent writers may have pushed
// transiently outside [0, calls].
func clampCount(v int64, calls int) int {
	return int(max(0, min(v, int64(calls))))
}

func mod(i int64, n int) int64 {
	m := i % int64(n)
	if m < 0 {
		m += int64(n)
	}
	return m
}

// reshaped returns a live window of shape to holding what w (of shape
// from) holds at now (Unix ns) that still fits, as the engine reshapes its
// own windows (engine.Machine.Reconfigure): a count window keeps its most
// recent calls, a time window the buckets that fit its new buckets
// (engine.Rebucket), a window of another kind nothing. The failures in a
// row carry over.
//
// The calls a count window carries over sit in the last slots of the new
// ring (seeded), outside its packed word, which counts only the calls
// recorded in it: the carried calls are already in the lifetime counters
// once the actor retires w. The actor calls reshaped, then publishes the
// new window and retires w; an outcome recorded into w meanwhile, or
// reported later by a permit granted in w, counts in the lifetime
// counters (as a stale permit's outcome does), not in the new window.
func (w *liveWindow) reshaped(now int64, from, to engine.Window) *liveWindow {
	nw := newLiveWindowOf(w.b, w.tracks, to)
	nw.consec.Store(w.consec.Load())
	switch {
	case from.Kind != to.Kind:
	case w.size != 0:
		n := nCallsOf(w.n.Load()) + w.seeded
		r, nr := w.ring.Load(), nw.loadRing()
		size, newSize := w.size, nw.size
		keep := min(n, size, newSize)
		for k := range keep {
			// Call number n−keep+k (0-based) of w, the oldest kept first.
			// w's own calls are numbered after its seeded ones, which sit
			// in its last slots.
			i := (n - keep + k + size - w.seeded%size) % size
			var b uint32
			if r != nil {
				b = w.slot(r, i)
			}
			nw.setSlot(nr, newSize-keep+k, b)
			nw.adjust(0, b)
		}
		nw.seeded = keep
	default:
		oldWidth, newWidth := time.Duration(w.width), time.Duration(nw.width)
		cur := max(engine.BucketIndex(time.Unix(0, now), oldWidth), w.newest.Load())
		newCur := engine.Rebucket(cur, oldWidth, newWidth)
		nw.newest.Store(newCur)
		for i := cur - int64(len(w.buckets)) + 1; i <= cur; i++ {
			j := engine.Rebucket(i, oldWidth, newWidth)
			if j <= newCur-int64(len(nw.buckets)) {
				continue
			}
			bk, nb := &w.buckets[mod(i, len(w.buckets))], &nw.buckets[mod(j, len(nw.buckets))]
			// Failures before calls, as counts reads them.
			fails, slow, slowFails := count(&bk.fails, i), count(&bk.slow, i), count(&bk.slowFails, i)
			calls := count(&bk.calls, i)
			if calls == 0 {
				continue
			}
			addTagged(&nb.calls, j, calls)
			addTagged(&nb.fails, j, fails)
			addTagged(&nb.slow, j, slow)
			addTagged(&nb.slowFails, j, slowFails)
			if fails+slow > 0 {
				nw.lastBad.Store(max(nw.lastBad.Load(), j))
			}
		}
	}
	return nw
}

// addTagged adds n to the counter of bucket idx in word, which counts
// bucket idx or nothing yet. For a window nobody else writes to yet.
func addTagged(word *atomic.Uint64, idx int64, n int) {
	if n > 0 {
		word.Store(uint64(uint32(idx))<<32 | uint64(uint32(count(word, idx)+n)))
	}
}

// report is the fast path for the outcome of a Closed or Disabled call:
// lifetime counters, then the window if the permit is of the current
// window. If the outcome makes a trip condition hold, it latches the trip
// (every later Acquire is rejected) and has the actor make it formal,
// running the actor itself when no other goroutine is: so the trip is
// usually published before report returns, and never waits for the
// scheduler to run a goroutine.
func (w *liveWindow) report(p Permit, o engine.Outcome) {
	b := w.b
	now, d, slow := b.measureCall(p)
	v := b.view.Load()
	if v.win != w && v.epoch == p.epoch {
		w = v.win // the same period, in a window Reconfigure has reshaped
	}
	if o == engine.Ignore || w == nil || v.win != w || v.mode != modeAdmit {
		b.countOutcome(o, d, slow) // stale or ignored: lifetime counters only
	} else if w.record(now, o == engine.Failure, slow, d) && w.latch.Load() == nil {
		if c := w.counts(now); b.tuning().settings.Evaluate(c).Reason != engine.ReasonNone {
			w.shut(c)
		}
	}
	b.emitter.emitCall(callKind(o), d)
}

func (w *liveWindow) claim(Permit) bool { return true }

func (w *liveWindow) core() *base { return &w.b.base }

// A count window's ring (liveRing, in the comments) holds its last calls,
// two outcome bits each (bitFailure, bitSlow), sixteen to a word in the low
// 32 bits; call n (0-based) of the window is slot n % size. A slot changes
// only when the outcome in it changes (a CAS on its word), so in steady
// state a call only reads it. The high 32 bits of every word hold the tag
// of the window that owns the ring.
//
// A ring outlives its window: when the actor makes the next Closed (or
// Disabled) period's window of the same size, it hands it the ring of the
// window it retired (handRing), instead of allocating one per period. A
// permit of the retired window may still be writing: its report passed the
// retired check on the packed word (n) before the actor retired it, and
// reaches its slot afterwards. So the actor stamps every word with the new
// window's tag (all slots empty) before it publishes the new window, and a
// writer changes a word only if it carries its own window's tag: a stale
// writer finds the new tag and changes nothing (its outcome is in the
// lifetime counters already, through the packed word it added to before
// the retirement, and the retired window's own counters are never read
// again). A stale writer that loaded its word before the stamp fails its
// CAS, reloads, and finds the new tag. The one gap: a writer descheduled
// between its load and its CAS while the ring is handed on 2³² times comes
// back to a word holding its own tag again, and may write one slot there;
// we accept it (2³² transitions in one preemption).
//
// The ring is allocated by the first call recorded in a window that has
// none (makeRing), so a breaker never called never has one.

// ringSlots is the number of slots per ring word; ringSlotsMask selects
// them.
const (
	ringSlots     = 16
	ringSlotsMask = 1<<32 - 1
)

// ringWords is the number of words of a ring for a window of size calls.
func ringWords(size uint64) uint64 { return (size + ringSlots - 1) / ringSlots }

// ringWord returns the word of ring r that holds slot i. r points to the
// first word of an array of ringWords(size) words, and i < size.
func ringWord(r *atomic.Uint64, i uint64) *atomic.Uint64 {
	return (*atomic.Uint64)(unsafe.Add(unsafe.Pointer(r), i/ringSlots*8))
}

// loadRing returns the window's ring, making it if it has none. Count
// windows only.
func (w *liveWindow) loadRing() *atomic.Uint64 {
	if r := w.ring.Load(); r != nil {
		return r
	}
	return w.makeRing()
}

// makeRing makes the window's ring, stamped with its tag, unless a
// concurrent caller made it first. Safe for concurrent use.
func (w *liveWindow) makeRing() *atomic.Uint64 {
	words := make([]atomic.Uint64, ringWords(w.size))
	tag := uint64(w.tag) << 32
	for i := range words {
		words[i].Store(tag)
	}
	if w.ring.CompareAndSwap(nil, &words[0]) {
		return &words[0]
	}
	return w.ring.Load()
}

// handRing gives w, a new count window nobody sees yet, the ring r of a
// retired window of the same size: every word is stamped with tag, w's
// tag, and empty slots. The actor only, before it publishes w.
func (w *liveWindow) handRing(r *atomic.Uint64, tag uint32) {
	w.tag = tag
	t := uint64(tag) << 32
	for i := range ringWords(w.size) {
		ringWord(r, i*ringSlots).Store(t)
	}
	w.ring.Store(r)
}
