package engine

import "time"

// Counts is what a sliding window holds, plus the failures-in-a-row tally.
type Counts struct {
	Calls               int // calls in the window (successes and failures; ignored calls are not counted)
	Failures            int // failed calls in the window
	SlowCalls           int // slow calls in the window (a slow call may also be a failure)
	SlowFailures        int // slow calls in the window that also failed
	ConsecutiveFailures int // failures in a row, across the window's edge
}

// outcome bits kept per call by the windows.
const (
	bitFailure uint8 = 1 << iota
	bitSlow
)

func bits(failure, slow bool) uint8 {
	var b uint8
	if failure {
		b |= bitFailure
	}
	if slow {
		b |= bitSlow
	}
	return b
}

// countWindow holds the outcomes of the last len(ring) calls. Record and
// Counts are O(1): running totals are adjusted as calls enter and leave.
type countWindow struct {
	ring []uint8
	next int   // slot the next call goes into
	t    tally // n is the calls held, ≤ len(ring)
}

// tally is a window's running totals.
type tally struct{ n, fails, slow, slowFails int }

// add adds (sign 1) or removes (sign −1) one call with outcome bits b.
func (t *tally) add(b uint8, sign int) {
	t.n += sign
	if b&bitFailure != 0 {
		t.fails += sign
	}
	if b&bitSlow != 0 {
		t.slow += sign
		if b&bitFailure != 0 {
			t.slowFails += sign
		}
	}
}

func (t *tally) counts() Counts {
	return Counts{Calls: t.n, Failures: t.fails, SlowCalls: t.slow, SlowFailures: t.slowFails}
}

func newCountWindow(size int) *countWindow {
	if size < 1 {
		size = 1
	}
	return &countWindow{ring: make([]uint8, size)}
}

func (w *countWindow) record(_ time.Time, failure, slow bool) {
	if w.t.n == len(w.ring) {
		w.t.add(w.ring[w.next], -1)
	}
	b := bits(failure, slow)
	w.ring[w.next] = b
	w.t.add(b, 1)
	w.next++
	if w.next == len(w.ring) {
		w.next = 0
	}
}

func (w *countWindow) counts(time.Time) Counts { return w.t.counts() }

func (w *countWindow) reset() {
	clear(w.ring)
	w.next, w.t = 0, tally{}
}

// timeWindow holds the calls of the last Duration in Buckets buckets of
// equal width. Bucket i covers [i·width, (i+1)·width) of Unix time; at time
// t the window is the buckets i with cur − Buckets < i ≤ cur, where cur is
// floor(t/width), or the newest bucket recorded into if that is later
// (time never goes back in a window). So a call is forgotten between
// Duration − width and Duration after it was recorded: the window's
// precision is one bucket.
//
// Record is amortised O(1): advancing clears each bucket at most once per
// use, and a gap of a whole window or more clears them all in one pass.
// Counts moves nothing and costs O(Buckets) at most.
type timeWindow struct {
	width   int64 // nanoseconds per bucket
	buckets []timeBucket
	head    int64 // index of the newest bucket in use
	started bool
	t       tally
}

type timeBucket = tally

func newTimeWindow(w Window) *timeWindow {
	n := w.Buckets
	if n < 1 {
		n = 1
	}
	return &timeWindow{width: int64(w.BucketWidth()), buckets: make([]timeBucket, n)}
}

// BucketIndex is the index of the bucket of a time window that holds time
// t: floor(t.UnixNano() / width).
func BucketIndex(t time.Time, width time.Duration) int64 {
	ns, w := t.UnixNano(), int64(width)
	q := ns / w
	if ns%w < 0 {
		q--
	}
	return q
}

// advance moves the window to time t. Time never goes backwards inside the
// window: a t older than the newest bucket counts as the newest bucket.
func (w *timeWindow) advance(t time.Time) *timeBucket {
	idx := BucketIndex(t, time.Duration(w.width))
	n := int64(len(w.buckets))
	switch {
	case !w.started:
		w.started, w.head = true, idx
	case idx <= w.head:
		// same bucket, or a clock that went backwards: clamp.
	case idx-w.head >= n:
		w.reset()
		w.started, w.head = true, idx
	default:
		for i := w.head + 1; i <= idx; i++ {
			w.drop(&w.buckets[mod(i, n)])
		}
		w.head = idx
	}
	return &w.buckets[mod(w.head, n)]
}

func (w *timeWindow) drop(b *timeBucket) {
	w.t.n -= b.n
	w.t.fails -= b.fails
	w.t.slow -= b.slow
	w.t.slowFails -= b.slowFails
	*b = timeBucket{}
}

func (w *timeWindow) record(t time.Time, failure, slow bool) {
	b := bits(failure, slow)
	w.advance(t).add(b, 1)
	w.t.add(b, 1)
}

// counts returns the counts of the window at time t, or as of its newest
// bucket if t is older, without moving the window: the buckets that have
// expired by t are left out, not cleared, so a read changes nothing that
// a later read or record at an older time would see. O(min(gap, Buckets)).
func (w *timeWindow) counts(t time.Time) Counts {
	if !w.started {
		return Counts{}
	}
	gap, n := BucketIndex(t, time.Duration(w.width))-w.head, int64(len(w.buckets))
	switch {
	case gap <= 0:
		return w.t.counts()
	case gap >= n:
		return Counts{}
	}
	c := w.t
	for i := w.head - n + 1; i <= w.head-n+gap; i++ { // the oldest gap buckets have expired
		b := &w.buckets[mod(i, n)]
		c.n, c.fails, c.slow, c.slowFails = c.n-b.n, c.fails-b.fails, c.slow-b.slow, c.slowFails-b.slowFails
	}
	return c.counts()
}

func (w *timeWindow) reset() {
	clear(w.buckets)
	w.t, w.started = tally{}, false
}

func mod(i, n int64) int64 {
	m := i % n
	if m < 0 {
		m += n
	}
	return m
}

// window is implemented by countWindow and timeWindow.
type window interface {
	record(t time.Time, failure, slow bool)
	counts(t time.Time) Counts
	reset()
}

func newWindow(w Window) window {
	if w.Kind == TimeBased {
		return newTimeWindow(w)
	}
	return newCountWindow(w.Size)
}

// resized returns a count window of size calls holding the most recent
// calls of w, oldest first: all of them if they fit, else the last size.
// w is left as it was.
func (w *countWindow) resized(size int) *countWindow {
	nw := newCountWindow(size)
	keep := min(w.t.n, len(nw.ring))
	for k := keep; k > 0; k-- {
		b := w.ring[mod(int64(w.next-k), int64(len(w.ring)))]
		nw.ring[nw.next] = b
		nw.t.add(b, 1)
		nw.next++
	}
	if nw.next == len(nw.ring) {
		nw.next = 0
	}
	return nw
}

// rebucketed returns a time window of shape to holding what w holds at
// time now (as of its newest bucket, if now is older): each bucket of w
// still in the window then goes to the new bucket holding its start
// (Rebucket), and is kept if that bucket is inside the new window, whose
// newest bucket is the one holding the start of w's current bucket (even
// if w is empty: a call recorded later at an older time counts there). A
// call therefore leaves the new window no later than to.Duration after it
// was recorded. w is left as it was.
func (w *timeWindow) rebucketed(to Window, now time.Time) *timeWindow {
	nw := newTimeWindow(to)
	from, width := time.Duration(w.width), time.Duration(nw.width)
	n, nn := int64(len(w.buckets)), int64(len(nw.buckets))
	cur := BucketIndex(now, from)
	if w.started {
		cur = max(cur, w.head)
	}
	nw.started, nw.head = true, Rebucket(cur, from, width)
	if !w.started {
		return nw
	}
	for i := cur - n + 1; i <= w.head; i++ {
		j := Rebucket(i, from, width)
		if j <= nw.head-nn {
			continue
		}
		b := w.buckets[mod(i, n)]
		nb := &nw.buckets[mod(j, nn)]
		nb.n, nb.fails, nb.slow, nb.slowFails = nb.n+b.n, nb.fails+b.fails, nb.slow+b.slow, nb.slowFails+b.slowFails
		nw.t.n, nw.t.fails, nw.t.slow, nw.t.slowFails = nw.t.n+b.n, nw.t.fails+b.fails, nw.t.slow+b.slow, nw.t.slowFails+b.slowFails
	}
	return nw
}

// reshape returns a window of shape to holding what w, of shape from,
// holds at time now that still fits: w itself if the shape is the same
// (SameShape), a resized count window or a rebucketed time window if only
// the size changed, an empty window if the kind changed.
func reshape(w window, from, to Window, now time.Time) window {
	if SameShape(from, to) {
		return w
	}
	switch w := w.(type) {
	case *countWindow:
		if to.Kind == CountBased {
			return w.resized(to.Size)
		}
	case *timeWindow:
		if to.Kind == TimeBased {
			return w.rebucketed(to, now)
		}
	}
	return newWindow(to)
}
