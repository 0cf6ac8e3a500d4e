package breaker

import (
	"sync/atomic"
	"unsafe"
)

// stripes is the number of cache-line-sized cells a stripedCounter spreads
// its increments over.
const stripes = 8

// stripedCounter is a lock-free counter for the hot path: concurrent
// increments land on different cache lines, so cores do not fight over one
// line. Load sums the cells; it is exact once increments stop and never
// less than the increments that happened before it.
type stripedCounter struct {
	cells [stripes]paddedUint64
}

// paddedUint64 fills two cache lines, so that two cells never share one
// whatever the allocation's alignment.
type paddedUint64 struct {
	atomic.Uint64
	_ [120]byte
}

// inc adds one. Safe for concurrent use.
func (c *stripedCounter) inc() { c.cells[stripe()].Add(1) }

// load returns the sum. Safe for concurrent use.
func (c *stripedCounter) load() uint64 {
	var n uint64
	for i := range c.cells {
		n += c.cells[i].Load()
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
