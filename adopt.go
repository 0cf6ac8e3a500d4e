package breaker

import "github.com/breakerlabs/breaker/engine"

// This file holds how each driver applies a state decided elsewhere (a
// record restored from a StateStore, or adopted from another instance):
// through engine.Machine.Adopt, by the state's owner, like any other
// transition. An adopted transition is published and emitted (with
// ReasonRemote and its Origin) but never saved again.

// adopt hands r to the actor. With wait it returns once the result is
// published (GetOrCreate restores that way, so the caller never sees the
// breaker in Closed first); without, it only queues the message (or runs
// the idle actor at once). After Close it does nothing.
func (b *Breaker) adopt(r engine.Remote, wait bool) {
	b.send(message{kind: msgAdopt, r: r}, wait)
}

// adopt applies r under the lock, after any timeout already due. After
// Close it does nothing.
func (b *MutexBreaker) adopt(r engine.Remote) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		return
	}
	now := b.clk.Now()
	b.advance(now)
	b.apply(b.m.Adopt(now, r))
}
