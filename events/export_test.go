package events

// Exports for the tests of package events_test only, kept out of the
// package's API.

// DefaultBuffer is the capacity of a subscription's channel when WithBuffer
// is not given.
const DefaultBuffer = defaultBuffer

// Subscribers returns the number of live subscriptions. Safe for concurrent
// use; the answer may be stale by the time it is used.
func (h *Hub) Subscribers() int {
	if p := h.subs.Load(); p != nil {
		return len(*p)
	}
	return 0
}
