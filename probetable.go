package breaker

import (
	"sync/atomic"

	"github.com/breakerlabs/breaker/engine"
)

// probeTable is the admission state of one half-open period of an actor
// breaker, published in that period's view. Acquire takes a probe slot
// here with atomics alone; the actor, which alone decides transitions,
// learns of admitted probes from it (issued) and frees their slots when
// it has applied their outcomes.
//
// word packs the probes in flight (low 32 bits: admitted and not yet
// released by the actor) and the probes issued in the period (high 32
// bits). Admission is one compare-and-swap that raises both, so it can
// never admit more than max; a rejection is one atomic load. Only the
// actor lowers the in-flight count, after the engine has released the
// probe, so the table and the engine agree once the actor is idle.
//
// slots make a probe's permit single-use without an allocation: a probe
// holds a slot (its number, tagged) from admission to its first report,
// which empties the slot with a compare-and-swap; every later report of
// that permit, from any copy, finds it empty (or holding another probe)
// and changes nothing. Since the actor frees in-flight counts only after
// the slot is emptied, a caller that won the admission CAS always finds a
// free slot.
//
// A new period gets a new table: a probe of an older period reports to its
// own (retired) table, and the actor sees its epoch is stale.
type probeTable struct {
	b     *Breaker
	max   uint32
	word  atomic.Uint64
	slots []atomic.Uint64 // a probePeriod's own, right after, when MaxProbes ≤ inlineProbes
}

// slotTaken marks a slot as held (a probe's number may be 0 after 2³²
// probes in one period).
const slotTaken = 1 << 32

func newProbeTable(b *Breaker, maxProbes int) *probeTable {
	t := new(probeTable)
	t.init(b, maxProbes, nil)
	return t
}

// init makes t an empty table for maxProbes probes in flight, with slots as
// its slots if they are enough (a probePeriod's inline ones), else new ones.
func (t *probeTable) init(b *Breaker, maxProbes int, slots []atomic.Uint64) {
	n := max(maxProbes, 1)
	if len(slots) != n {
		slots = make([]atomic.Uint64, n)
	}
	t.b, t.max, t.slots = b, uint32(min(n, 1<<31)), slots
}

// admit takes a probe slot, or reports false if MaxProbes probes are in
// flight. It returns the slot and the probe's number in the period. Safe
// for concurrent use; lock-free, and allocation-free.
func (t *probeTable) admit() (slot int, id uint32, ok bool) {
	for {
		w := t.word.Load()
		if uint32(w) >= t.max {
			return 0, 0, false
		}
		if t.word.CompareAndSwap(w, w+1+1<<32) {
			id = uint32(w>>32) + 1
			break
		}
	}
	// A free slot exists: held slots ≤ in-flight count before our
	// admission < max. Start at the probe's number to spread concurrent
	// admissions over the slots.
	n := len(t.slots)
	for i := int(id) % n; ; i = (i + 1) % n {
		if t.slots[i].CompareAndSwap(0, slotTaken|uint64(id)) {
			return i, id, true
		}
	}
}

// claim empties the slot p holds, reporting whether p still held it (the
// report that counts).
func (t *probeTable) claim(p Permit) bool {
	slot := int(p.probe>>32) - 1
	if slot < 0 || slot >= len(t.slots) {
		return false
	}
	return t.slots[slot].CompareAndSwap(slotTaken|uint64(uint32(p.probe)), 0)
}

// resized returns a table for the rest of t's period with room for
// maxProbes probes in flight, and retires t: t admits nothing more (an
// admission racing the retirement fails its compare-and-swap and is
// rejected with ErrTooManyProbes), while its probes in flight keep their
// slots in t, so each still reports once. The new table carries the
// period's counts on (issued, so probe numbers continue; in flight, which
// the actor lowers there as their outcomes are applied) with all its slots
// free. The actor only, when a reconfiguration changes MaxProbes.
func (t *probeTable) resized(maxProbes int) *probeTable {
	const retired = 1 << 31 // in the in-flight half: every admission sees it as full
	w := t.word.Add(retired) - retired
	nt := newProbeTable(t.b, maxProbes)
	nt.word.Store(w)
	return nt
}

// issued returns how many probes the period has admitted.
func (t *probeTable) issued() uint32 { return uint32(t.word.Load() >> 32) }

// inFlight returns the probes admitted whose outcome the actor has not yet
// applied.
func (t *probeTable) inFlight() int { return int(uint32(t.word.Load())) }

// release frees one in-flight count. Actor only, once per probe the engine
// released.
func (t *probeTable) release() { t.word.Add(^uint64(0)) }

// report sends a probe's outcome to the actor; see Breaker.reportProbe.
func (t *probeTable) report(p Permit, o engine.Outcome) { t.b.reportProbe(p, o) }

func (t *probeTable) core() *base { return &t.b.base }
