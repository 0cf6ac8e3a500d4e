package breaker

import (
	"math/rand/v2"
	"sync/atomic"
)

// stripes is the number of cache-line-sized cells a stripedCounter spreads
// its increments over.
const stripes = 8

// stripedCounter is a lock-free counter for the hot path: concurrent
// increments land on different cache lines (chosen at random, which is
// cheaper than any per-goroutine hint Go offers), so cores do not fight
// over one line. Load sums the cells; it is exact once increments stop and
// never less than the increments that happened before it.
type stripedCounter struct {
	cells [stripes]paddedUint64
}

type paddedUint64 struct {
	atomic.Uint64
	_ [56]byte
}

// inc adds one. Safe for concurrent use.
func (c *stripedCounter) inc() { c.cells[rand.Uint32()%stripes].Add(1) }

// load returns the sum. Safe for concurrent use.
func (c *stripedCounter) load() uint64 {
	var n uint64
	for i := range c.cells {
		n += c.cells[i].Load()
	}
	return n
}
