package breaker

import (
	"hash/maphash"
	"sync/atomic"
)

// registry is a Supervisor's map from names to breakers: lookups take no
// lock, writes are serialised by the caller (the supervisor's mu). It is
// an open-addressing hash table of breaker pointers, keyed by each
// breaker's own name, behind an atomic pointer: a breaker costs the
// registry one or two words of one shared array, where a sync.Map entry
// cost an entry node, the key's box and a share of the trie's nodes (about
// 110 bytes and 2.4 heap objects per breaker, which one GC had to find
// and mark). The zero value is empty and ready to use.
//
// A table is never more than half full (tombstones included), so every
// probe sequence ends at an empty slot. A writer changes a slot of the
// current table with one atomic store, or publishes a new table (to grow,
// or to drop tombstones) with one atomic store of the pointer; a table is
// never written once replaced. A lookup that starts after a write
// returned sees it: it loads the current table, which holds the write or
// is a newer copy that does. A lookup concurrent with a write may or may
// not see it, as with sync.Map; the supervisor re-checks under its lock
// before creating.
type registry struct {
	t    atomic.Pointer[regTable]
	live int // breakers in the table; the writer's
	dead int // tombstones in the table; the writer's
}

// regTable is one generation of the registry's table.
type regTable struct {
	seed  maphash.Seed
	slots []atomic.Pointer[Breaker] // len is a power of two; nil: empty
}

// removed marks a slot whose breaker was deleted: lookups probe past it,
// inserts may reuse it.
var removed = new(Breaker)

// load returns the breaker named name, if any. Safe for concurrent use.
func (r *registry) load(name string) (*Breaker, bool) {
	t := r.t.Load()
	if t == nil {
		return nil, false
	}
	mask := uint64(len(t.slots) - 1)
	for i := maphash.String(t.seed, name) & mask; ; i = (i + 1) & mask {
		b := t.slots[i].Load()
		if b == nil {
			return nil, false
		}
		if b != removed && b.name == name {
			return b, true
		}
	}
}

// store adds b under its name, which the registry does not hold. The
// writer only.
func (r *registry) store(b *Breaker) {
	t := r.t.Load()
	if t == nil || 2*(r.live+r.dead+1) > len(t.slots) {
		t = r.rebuild(r.live + 1)
	}
	if t.insert(b) {
		r.dead--
	}
	r.live++
}

// delete removes the breaker named name and returns it, if there was one.
// The writer only.
func (r *registry) delete(name string) (*Breaker, bool) {
	t := r.t.Load()
	if t == nil {
		return nil, false
	}
	mask := uint64(len(t.slots) - 1)
	for i := maphash.String(t.seed, name) & mask; ; i = (i + 1) & mask {
		b := t.slots[i].Load()
		if b == nil {
			return nil, false
		}
		if b != removed && b.name == name {
			t.slots[i].Store(removed)
			r.live--
			r.dead++
			return b, true
		}
	}
}

// clear removes every breaker. The writer only.
func (r *registry) clear() {
	r.t.Store(nil)
	r.live, r.dead = 0, 0
}

// each calls f with every breaker of the current table, until f returns
// false. Safe for concurrent use; a breaker stored or deleted meanwhile
// may or may not be seen.
func (r *registry) each(f func(*Breaker) bool) {
	t := r.t.Load()
	if t == nil {
		return
	}
	for i := range t.slots {
		if b := t.slots[i].Load(); b != nil && b != removed && !f(b) {
			return
		}
	}
}

// rebuild publishes a new table, without tombstones, with room for n
// breakers at a quarter full (so that n more fit before the next
// rebuild), holding every breaker of the current one. The writer only.
func (r *registry) rebuild(n int) *regTable {
	size := 16
	for size < 4*n {
		size *= 2
	}
	nt := &regTable{seed: maphash.MakeSeed(), slots: make([]atomic.Pointer[Breaker], size)}
	r.each(func(b *Breaker) bool {
		nt.insert(b) // never a removed slot: nt has none
		return true
	})
	r.dead = 0
	r.t.Store(nt)
	return nt
}

// insert puts b in the first empty or removed slot of its probe sequence,
// reporting whether it was a removed one. The writer only.
func (t *regTable) insert(b *Breaker) (reused bool) {
	mask := uint64(len(t.slots) - 1)
	for i := maphash.String(t.seed, b.name) & mask; ; i = (i + 1) & mask {
		if s := t.slots[i].Load(); s == nil || s == removed {
			t.slots[i].Store(b)
			return s == removed
		}
	}
}
