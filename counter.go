package breaker

import (
	"sync/atomic"
	"unsafe"
)

// stripes is the number of cache-line-sized cells a stripedCounter spreads
// its increments over.
const stripes = 8

// stripedCounter is a lock-free counter for the hot path that costs one
// word until it is contended. Increments go to n with a compare-and-swap;
// the first one that fails (another core incremented at the same moment)
// inflates the counter: it allocates cache-line-padded cells, and from
// then on concurrent increments land on different cells (picked by the
// goroutine's stack address), so cores do not fight over one line. A
// breaker nobody calls from two cores at once never pays for the cells.
//
// Load sums n and the cells; it is exact once increments stop, never less
// than the increments that happened before it, and never less than an
// earlier Load.
type stripedCounter struct {
	n     atomic.Uint64
	cells atomic.Pointer[[stripes]paddedUint64] // nil until contended
}

// paddedUint64 fills two cache lines, so that two cells never share one
// whatever the allocation's alignment.
type paddedUint64 struct {
	atomic.Uint64
	_ [120]byte
}

// inc adds one. Safe for concurrent use.
func (c *stripedCounter) inc() {
	if cells := c.cells.Load(); cells != nil {
		cells[stripe()].Add(1)
		return
	}
	if old := c.n.Load(); c.n.CompareAndSwap(old, old+1) {
		return
	}
	c.inflate()[stripe()].Add(1)
}

// inflate returns the cells, allocating them if no one has.
func (c *stripedCounter) inflate() *[stripes]paddedUint64 {
	cells := new([stripes]paddedUint64)
	if c.cells.CompareAndSwap(nil, cells) {
		return cells
	}
	return c.cells.Load()
}

// load returns the sum. Safe for concurrent use.
func (c *stripedCounter) load() uint64 {
	n := c.n.Load()
	if cells := c.cells.Load(); cells != nil {
		for i := range cells {
			n += cells[i].Load()
		}
	}
	return n
}

// stripe picks a cell for the calling goroutine from the address of its
// stack: goroutines have distinct stacks, so concurrent callers tend to
// land on distinct cells, while one goroutine keeps hitting the same (warm)
// one. It costs a multiply, against ~5–10 ns for a random draw. Stacks move
// when they grow; that only changes the hint.
//
//go:nosplit
func stripe() uint64 {
	var local byte
	addr := uint64(uintptr(unsafe.Pointer(&local)))
	return (addr >> 12) * 0x9E3779B97F4A7C15 >> (64 - 3) // top 3 bits: 0..7
}
