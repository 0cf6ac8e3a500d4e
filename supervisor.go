package breaker

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/breakerlabs/breaker/events"
)

// Supervisor owns a set of named breakers: it creates each one once (or
// adopts one made by New, with Register), hands out the same *Breaker for
// a name until it is removed, fans every
// breaker's events out to its own subscribers, and stops them all on
// Close. Each breaker's actor restarts itself from its last published
// state if it ever panics, announcing it with an ActorRestarted event that
// the supervisor's subscribers see.
//
// The zero Supervisor is an empty supervisor with no options, as
// NewSupervisor() returns, ready to use. Every method is safe for
// concurrent use. Looking up an existing breaker takes
// no lock.
type Supervisor struct {
	once     sync.Once // runs setup: in NewSupervisor, or on a zero Supervisor's first use (init)
	opts     []Option  // applied to every breaker, before the supervisor's sink
	hub      *events.Hub
	breakers registry // name → *Breaker; written only under mu
	mu       sync.Mutex
	closed   atomic.Bool
	store    *storeWriter   // WithStateStore; nil without a store
	removing sync.WaitGroup // Removes still closing their breaker; Close waits for them
	applyMu  sync.Mutex     // serialises Apply, so that one set is applied whole before the next
}

// NewSupervisor returns an empty supervisor. Its options (WithClock,
// WithStateStore, WithInstance) apply to every breaker it creates.
//
// With a store, NewSupervisor loads it once (waiting at most 2 s); a
// failed load does not fail it: breakers start Closed and StoreErr
// returns the failure until a save succeeds. Its StoreFailed event
// (Breaker "") is published when the first breaker is created, if the
// failure is still current then, so that subscriptions made after
// NewSupervisor (a logger, a dashboard) see it.
func NewSupervisor(opts ...Option) *Supervisor {
	s := &Supervisor{}
	s.once.Do(func() { s.setup(opts) })
	return s
}

// setup makes the supervisor's hub and the options its breakers get.
func (s *Supervisor) setup(opts []Option) {
	s.hub = events.NewHub()
	s.opts = append(slices.Clone(opts), withSink(s.hub))
	if o := buildOptions(opts); o.store != nil {
		s.store = newStoreWriter(s, o.store, o.instance, o.clock)
		s.opts = append(s.opts, withSaver(s.store))
	}
}

// init sets up a zero Supervisor on its first use; afterwards (and for
// one made by NewSupervisor) it costs one atomic load. Every method that
// reads hub or opts calls it first.
func (s *Supervisor) init() {
	s.once.Do(func() { s.setup(nil) })
}

var defaultSupervisor = sync.OnceValue(func() *Supervisor { return NewSupervisor() })

// Default returns the process-wide supervisor, created on first use with
// the real clock. Closing it is allowed but final for the process.
func Default() *Supervisor { return defaultSupervisor() }

// GetOrCreate returns the breaker named name, creating and starting it with
// cfg if there is none. Under any number of concurrent callers, exactly one
// breaker (and one actor) is created per name; cfg is used only by the
// call that creates it: for a name that exists, GetOrCreate returns that
// breaker unchanged and ignores cfg, even if it differs (and even if it
// is invalid). It returns the error of New for an empty name or an
// invalid cfg, and ErrStopped after Close.
//
// With a store (WithStateStore), a name the store holds a record for
// starts in that state, before GetOrCreate returns: Open for the time
// that was left (measured by this process's clock since the record was
// loaded or received; a period that has ended starts HalfOpen),
// ForcedOpen, or Disabled. Windows are never restored.
func (s *Supervisor) GetOrCreate(name string, cfg Config) (*Breaker, error) {
	if b, ok := s.breakers.load(name); ok && !s.closed.Load() {
		return b, nil
	}
	s.init()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return nil, ErrStopped
	}
	if b, ok := s.breakers.load(name); ok {
		return b, nil
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
	s.breakers.store(b)
	return b, nil
}

// Get returns the breaker named name, if the supervisor has one.
func (s *Supervisor) Get(name string) (*Breaker, bool) {
	return s.breakers.load(name)
}

// Names returns the names of the supervisor's breakers, sorted.
func (s *Supervisor) Names() []string {
	var names []string
	s.breakers.each(func(b *Breaker) bool {
		names = append(names, b.name)
		return true
	})
	slices.Sort(names)
	return names
}

// all returns the supervisor's breakers sorted by name.
func (s *Supervisor) all() []*Breaker {
	// Sorted as (name, breaker) pairs: a comparison then reads the name
	// from this slice rather than from each breaker, which at 100,000
	// breakers was most of Metrics' time (a cache miss per side).
	type entry struct {
		name string
		b    *Breaker
	}
	var es []entry
	s.breakers.each(func(b *Breaker) bool {
		es = append(es, entry{b.name, b})
		return true
	})
	slices.SortFunc(es, func(x, y entry) int { return strings.Compare(x.name, y.name) })
	bs := make([]*Breaker, len(es))
	for i, e := range es {
		bs[i] = e.b
	}
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
	b, ok := s.breakers.delete(name)
	if ok {
		s.removing.Add(1)
	}
	s.mu.Unlock()
	if ok {
		defer s.removing.Done()
		b.Close()
	}
	return ok
}

// Register adopts b, a breaker made by New, under its name: from then on
// it is one of the supervisor's breakers exactly as if GetOrCreate had
// made it. Get and GetOrCreate return it, it shows in Names and Metrics,
// ResetAll resets it, and Remove, Clear and Close close it. Its events
// from the moment Register returns also go to the supervisor's
// subscribers (in Seq order, so a subscriber's first event of it may have
// a Seq above 1), ActorRestarted included: its actor restarts itself from
// its last published state if it ever panics, as every breaker's does.
// Its own configuration and options are kept: the supervisor's options
// (its clock, store, observer) apply only to breakers it creates.
//
// Register returns an error matching ErrExists if the supervisor already
// has a breaker of that name (b itself included), ErrStopped after Close,
// an error matching ErrStopped if b is closed, and an error if b is nil or
// already belongs to a supervisor (made by GetOrCreate, or registered):
// a breaker has at most one. Safe for concurrent use, also with
// GetOrCreate of the same name: exactly one of them wins the name.
func (s *Supervisor) Register(b *Breaker) error {
	if b == nil {
		return errRegisterNil
	}
	s.init()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return ErrStopped
	}
	if _, ok := s.breakers.load(b.name); ok {
		return fmt.Errorf("%w: %q", ErrExists, b.name)
	}
	if b.closing.Load() {
		return fmt.Errorf("breaker: cannot register %q: %w (closed)", b.name, ErrStopped)
	}
	if !b.emitter.addSink(s.hub) {
		return fmt.Errorf("breaker: cannot register %q: it already belongs to a supervisor", b.name)
	}
	s.breakers.store(b)
	return nil
}

var errRegisterNil = errors.New("breaker: cannot register a nil *Breaker")

// Clear removes and closes every breaker of the supervisor, as Remove
// does for one, and returns once their actors have exited. The supervisor
// stays usable: its subscriptions stay open, and GetOrCreate and Register
// work as on a new one. A breaker created concurrently with Clear is
// either cleared or kept whole. After Close it does nothing.
func (s *Supervisor) Clear() {
	s.mu.Lock()
	bs := s.all()
	s.breakers.clear()
	s.mu.Unlock()
	for _, b := range bs {
		b.Close()
	}
}

// Subscribe returns a subscription to the events of every breaker of the
// supervisor, current and future; see package events for the options and
// guarantees. Close closes it.
func (s *Supervisor) Subscribe(opts ...events.Option) *events.Subscription {
	s.init()
	return s.hub.Subscribe(opts...)
}

// Close stops every breaker and waits for their actors to exit (those
// that a concurrent Remove is stopping included), then closes the
// supervisor's subscriptions. Afterwards GetOrCreate and Register return
// ErrStopped and every breaker's Acquire returns ErrStopped. Close is
// idempotent and always returns nil.
//
// With a store, Close stops watching it, then saves what is still pending
// (waiting at most 1 s in all) and stops saving. It does not close the
// store: whoever opened it closes it.
func (s *Supervisor) Close() error {
	s.init()
	s.mu.Lock()
	s.closed.Store(true)
	bs := s.all()
	s.breakers.clear()
	s.mu.Unlock()
	for _, b := range bs {
		b.Close()
	}
	s.removing.Wait() // a concurrent Remove's breaker is stopped too
	if s.store != nil {
		s.store.close()
	}
	s.hub.Close()
	return nil
}

// StoreOutages returns how many outages the state store has had: each
// time it starts failing (a failed load, save or watch after it worked, or
// the load at NewSupervisor) counts once, however many calls fail until it
// works again. Zero without a store. Safe for concurrent use.
func (s *Supervisor) StoreOutages() uint64 {
	if s.store == nil {
		return 0
	}
	return s.store.outageCount()
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
