package dashboard

import "sync"

// message is one Server-Sent Event: its type and its data (JSON).
type message struct {
	event string
	data  []byte
}

// statsRows is a "stats" update waiting for a client: the latest row of
// each changed breaker and the breakers gone, as of now.
type statsRows struct {
	now     int64
	rows    map[string][]byte
	order   []string // names in rows, in arrival order
	removed map[string]bool
}

// client is one stream connection's queue, filled by the handler's loop
// and drained by the connection's goroutine. The loop never waits for a
// client: the queue is bounded (queueLimit transitions) and rate updates
// are merged into one pending update. A queue that overflows is dropped
// and the client is resynchronised with a fresh snapshot. Safe for
// concurrent use.
type client struct {
	mu     sync.Mutex
	queue  []message  // snapshots and transitions, in order
	stats  *statsRows // pending rate update, sent after queue
	resync bool       // the queue overflowed and was dropped; a snapshot is due
	asked  bool       // the resync was requested from the loop
	wake   chan struct{}
}

func newClient() *client { return &client{wake: make(chan struct{}, 1)} }

func (c *client) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// reset replaces everything pending with snap.
func (c *client) reset(snap message) {
	c.mu.Lock()
	c.queue = append(c.queue[:0], snap)
	c.stats = nil
	c.resync, c.asked = false, false
	c.mu.Unlock()
	c.poke()
}

// dropAll discards everything pending: the client needs a new snapshot.
func (c *client) dropAll() {
	c.mu.Lock()
	c.queue, c.stats, c.resync = nil, nil, true
	c.mu.Unlock()
	c.poke()
}

// push queues a transition (or another message that must not be lost).
func (c *client) push(m message) {
	c.mu.Lock()
	switch {
	case c.resync:
		// dropped: the coming snapshot covers it
	case len(c.queue) >= queueLimit:
		c.queue, c.stats, c.resync = nil, nil, true
	default:
		// A pending stats update is older than m: send it first.
		if c.stats != nil {
			c.queue = append(c.queue, c.stats.message())
			c.stats = nil
		}
		c.queue = append(c.queue, m)
	}
	c.mu.Unlock()
	c.poke()
}

// pushStats merges a rate update into the pending one.
func (c *client) pushStats(u *statsUpdate) {
	c.mu.Lock()
	if !c.resync {
		if c.stats == nil {
			c.stats = &statsRows{rows: make(map[string][]byte, len(u.rows)), removed: map[string]bool{}}
		}
		c.stats.merge(u)
	}
	c.mu.Unlock()
	c.poke()
}

// take returns what is pending, in order, and whether a resync must be
// requested (it is then marked as requested).
func (c *client) take() (msgs []message, askResync bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	msgs = c.queue
	c.queue = nil
	if c.stats != nil {
		msgs = append(msgs, c.stats.message())
		c.stats = nil
	}
	if c.resync && !c.asked {
		c.asked = true
		askResync = true
	}
	return msgs, askResync
}
