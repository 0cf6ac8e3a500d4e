package breaker

import (
	"slices"
	"sync"
	"sync/atomic"

	"github.com/breakerlabs/breaker/events"
)

// Supervisor owns a set of named breakers: it creates each one once, hands
// out the same *Breaker for a name until it is removed, fans every
// breaker's events out to its own subscribers, and stops them all on
// Close. Each breaker's actor restarts itself from its last published
// state if it ever panics, announcing it with an ActorRestarted event that
// the supervisor's subscribers see.
//
// The zero Supervisor is not usable; call NewSupervisor or Default. Every
// method is safe for concurrent use. Looking up an existing breaker takes
// no lock.
type Supervisor struct {
	opts     []Option // applied to every breaker, before the supervisor's sink
	hub      *events.Hub
	breakers sync.Map // name → *Breaker; written only under mu
	mu       sync.Mutex
	closed   atomic.Bool
	store    *storeWriter // WithStateStore; nil without a store
}

// NewSupervisor returns an empty supervisor. Its options (WithClock,
// WithStateStore, WithInstance) apply to every breaker it creates.
//
// With a store, NewSupervisor loads it once (waiting at most 2 s); a
// failed load does not fail it: breakers start Closed and StoreErr
// returns the failure until a save succeeds.
func NewSupervisor(opts ...Option) *Supervisor {
	s := &Supervisor{hub: events.NewHub()}
	s.opts = append(slices.Clone(opts), withSink(s.hub))
	if o := buildOptions(opts); o.store != nil {
		s.store = newStoreWriter(s, o.store, o.instance, o.clock)
		s.opts = append(s.opts, withSaver(s.store))
	}
	return s
}

var defaultSupervisor = sync.OnceValue(func() *Supervisor { return NewSupervisor() })

// Default returns the process-wide supervisor, created on first use with
// the real clock. Closing it is allowed but final for the process.
func Default() *Supervisor { return defaultSupervisor() }

// GetOrCreate returns the breaker named name, creating and starting it with
// cfg if there is none. Under any number of concurrent callers, exactly one
// breaker (and one actor) is created per name; cfg is used only by the
// call that creates it. It returns the error of New for an empty name or an
// invalid cfg, and ErrStopped after Close.
//
// With a store (WithStateStore), a name the store holds a record for
// starts in that state, before GetOrCreate returns: Open for the time
// that was left (measured by this process's clock since the record was
// loaded or received; a period that has ended starts HalfOpen),
// ForcedOpen, or Disabled. Windows are never restored.
func (s *Supervisor) GetOrCreate(name string, cfg Config) (*Breaker, error) {
	if v, ok := s.breakers.Load(name); ok && !s.closed.Load() {
		return v.(*Breaker), nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return nil, ErrStopped
	}
	if v, ok := s.breakers.Load(name); ok {
		return v.(*Breaker), nil
	}
	b, err := New(name, cfg, s.opts...)
	if err != nil {
		return nil, err
	}
	if s.store != nil {
		if r, ok := s.store.created(name); ok {
			b.adopt(r, true)
		}
	}
	s.breakers.Store(name, b)
	return b, nil
}

// Get returns the breaker named name, if the supervisor has one.
func (s *Supervisor) Get(name string) (*Breaker, bool) {
	if v, ok := s.breakers.Load(name); ok {
		return v.(*Breaker), true
	}
	return nil, false
}

// Names returns the names of the supervisor's breakers, sorted.
func (s *Supervisor) Names() []string {
	var names []string
	s.breakers.Range(func(k, _ any) bool {
		names = append(names, k.(string))
		return true
	})
	slices.Sort(names)
	return names
}

// all returns the supervisor's breakers sorted by name.
func (s *Supervisor) all() []*Breaker {
	var bs []*Breaker
	s.breakers.Range(func(_, v any) bool {
		bs = append(bs, v.(*Breaker))
		return true
	})
	slices.SortFunc(bs, func(a, b *Breaker) int {
		switch {
		case a.name < b.name:
			return -1
		case a.name > b.name:
			return 1
		}
		return 0
	})
	return bs
}

// Metrics returns a snapshot of every breaker, sorted by name.
func (s *Supervisor) Metrics() []Metrics {
	bs := s.all()
	ms := make([]Metrics, len(bs))
	for i, b := range bs {
		ms[i] = b.Metrics()
	}
	return ms
}

// ResetAll resets every breaker to Closed.
func (s *Supervisor) ResetAll() {
	for _, b := range s.all() {
		b.Reset()
	}
}

// Remove stops the breaker named name and forgets it, reporting whether
// there was one. Its subscriptions are closed; the supervisor's
// subscriptions stay. A later GetOrCreate of the name makes a new breaker
// (in Closed).
func (s *Supervisor) Remove(name string) bool {
	s.mu.Lock()
	v, ok := s.breakers.LoadAndDelete(name)
	s.mu.Unlock()
	if ok {
		v.(*Breaker).Close()
	}
	return ok
}

// Subscribe returns a subscription to the events of every breaker of the
// supervisor, current and future; see package events for the options and
// guarantees. Close closes it.
func (s *Supervisor) Subscribe(opts ...events.Option) *events.Subscription {
	return s.hub.Subscribe(opts...)
}

// Close stops every breaker and waits for their actors to exit, then
// closes the supervisor's subscriptions. Afterwards GetOrCreate returns
// ErrStopped and every breaker's Acquire returns ErrStopped. Close is
// idempotent and always returns nil.
//
// With a store, Close stops watching it, then saves what is still pending
// (waiting at most 1 s in all) and stops saving. It does not close the
// store: whoever opened it closes it.
func (s *Supervisor) Close() error {
	s.mu.Lock()
	s.closed.Store(true)
	bs := s.all()
	s.breakers.Clear()
	s.mu.Unlock()
	for _, b := range bs {
		b.Close()
	}
	if s.store != nil {
		s.store.close()
	}
	s.hub.Close()
	return nil
}

// StoreErr returns the state store's current failure (a failed load, save
// or watch), or nil while it works or without a store. A failure lasts
// until a save (or, after a watch failure, a reload) succeeds. Safe for
// concurrent use.
func (s *Supervisor) StoreErr() error {
	if s.store == nil {
		return nil
	}
	return s.store.failure()
}
