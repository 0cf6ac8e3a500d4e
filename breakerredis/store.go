package breakerredis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/breakerlabs/breaker"
	"github.com/redis/go-redis/v9"
)

// ErrClosed is returned by every method of a Store after Close.
var ErrClosed = errors.New("breakerredis: store closed")

// Store is a breaker.SharedStore on Redis: a namespace's breakers live in
// one hash (one field per breaker), every accepted write is published on
// one channel, and one Lua script does each write, merging it with what is
// stored, assigning its Gen and publishing it in one atomic step.
//
// A Store is safe for concurrent use. Give each Supervisor its own Store
// (it learns the instance's Origin from the records it saves and leaves
// them out of Watch). Nothing a Store does is on a breaker's call path: a
// Supervisor calls it from its background writer and its Watch goroutine.
type Store struct {
	c       redis.UniversalClient
	hash    string // breaker:{ns}
	channel string // breaker:{ns}:events
	lease   string // breaker:{ns}:lease: + name
	o       options

	ctx    context.Context // done at Close
	cancel context.CancelFunc

	mu       sync.Mutex
	seen     map[string]uint64 // the highest gen known here, per name
	own      map[string]ownRecord
	origins  map[string]bool // the Origins this store saved for
	leases   map[string]leaseEntry
	won      map[string]stored // probe records this instance wrote as lease holder
	token    string            // lease holder id before any Save taught us our Origin
	closed   bool
	watching bool
	wake     chan struct{} // a lease was scheduled: the watcher re-arms its timer
	wg       sync.WaitGroup
}

// ownRecord is the latest non-Closed record this instance saved, kept to
// seed Redis again if it comes back empty.
type ownRecord struct {
	r     breaker.Record
	at    time.Time // this instance's clock when r was saved
	gen   uint64    // what the store returned for it (0 if the save failed)
	saved bool
}

// New returns a Store for namespace on c (a single node, a cluster or a
// sentinel client). Its keys are "breaker:{namespace}" (the hash),
// "breaker:{namespace}:events" (the channel) and
// "breaker:{namespace}:lease:<name>" (WithSingleProber); the braces keep
// them in one cluster slot. An empty namespace is "default". New does no
// I/O; a nil client gives a store whose every method returns an error.
// The caller closes c after closing the store.
func New(c redis.UniversalClient, namespace string, opts ...Option) *Store {
	if namespace == "" {
		namespace = "default"
	}
	o := defaultOptions()
	for _, opt := range opts {
		if opt != nil {
			opt.apply(&o)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	prefix := "breaker:{" + namespace + "}"
	st := &Store{
		c: c, o: o, ctx: ctx, cancel: cancel,
		hash: prefix, channel: prefix + ":events", lease: prefix + ":lease:",
		seen: map[string]uint64{}, own: map[string]ownRecord{}, origins: map[string]bool{},
		leases: map[string]leaseEntry{}, won: map[string]stored{}, wake: make(chan struct{}, 1),
		token: newToken(),
	}
	if o.instance != "" {
		st.origins[o.instance] = true
	}
	return st
}

var errNoClient = errors.New("breakerredis: nil redis client")

func (s *Store) usable() error {
	if s.c == nil {
		return errNoClient
	}
	if s.ctx.Err() != nil {
		return ErrClosed
	}
	return nil
}

// newToken names this store as a lease holder until it knows its Origin.
func newToken() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "breakerredis-" + hex.EncodeToString(b[:])
}

// call bounds one Redis call by the store's timeout and its lifetime. The
// caller's cancellation is honoured, but not its Deadline value: a
// supervisor driven by a mock clock has deadlines on that clock, which
// mean nothing to a socket.
func (s *Store) call(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), s.o.timeout)
	stopParent := context.AfterFunc(parent, cancel)
	stopStore := context.AfterFunc(s.ctx, cancel)
	return ctx, func() {
		stopParent()
		stopStore()
		cancel()
	}
}

// Load returns every breaker the namespace holds in a non-Closed state,
// each Open one with the time it has left by Redis's clock. An Open that
// has run out is left out (every instance times Open → HalfOpen itself),
// and so is another instance's automatic Open short of WithQuorum.
func (s *Store) Load(ctx context.Context) ([]breaker.Record, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	all, err := s.loadAll(ctx)
	if err != nil {
		return nil, err
	}
	var out []breaker.Record
	for _, st := range all {
		s.mu.Lock()
		s.seen[st.Name] = max(s.seen[st.Name], st.Gen)
		s.mu.Unlock()
		if st.State == breaker.Closed || !s.passes(st) {
			continue
		}
		s.scheduleLease(st)
		out = append(out, st.Record)
	}
	return out, nil
}

// loadAll reads every record of the namespace.
func (s *Store) loadAll(ctx context.Context) ([]stored, error) {
	ctx, done := s.call(ctx)
	defer done()
	vals, err := loadScript.Run(ctx, s.c, []string{s.hash}).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("breakerredis: load: %w", err)
	}
	out := make([]stored, 0, len(vals))
	for _, v := range vals {
		st, err := decodeWire(v)
		if err != nil {
			continue // not written by this package's scripts: ignored
		}
		out = append(out, st)
	}
	return out, nil
}

// passes reports whether a record read from Redis is handed to the
// supervisor: not expired, and an automatic Open only with its quorum.
func (s *Store) passes(st stored) bool {
	if st.State != breaker.Open {
		return true
	}
	if st.Remaining <= 0 {
		return false
	}
	return st.Manual || st.votes >= s.o.quorum
}

// Save stores r through the script and returns what the namespace holds
// for r.Name afterwards. The merge rule (ARCHITECTURE §8): an operator's
// (Manual) record always wins; an Open is always accepted — the stored
// period then ends at the later of both deadlines and keeps the higher
// attempt — unless it was decided without having seen an operator's
// ForcedOpen or Disabled; an Open with no time left changes nothing; a
// Closed is accepted only if r.BaseGen is the stored Gen (the writer had
// seen the latest record), otherwise the newer record comes back for the
// writer to adopt. Every accepted write gets a Gen above the stored one
// and is published in the same step.
//
// Save never retries; a Redis failure is returned (the supervisor's
// writer retries with backoff). HalfOpen is never stored: saving it is an
// error, as is an empty name.
func (s *Store) Save(ctx context.Context, r breaker.Record) (breaker.Record, error) {
	if err := s.usable(); err != nil {
		return breaker.Record{}, err
	}
	if r.Name == "" {
		return breaker.Record{}, errors.New("breakerredis: save: empty breaker name")
	}
	switch r.State {
	case breaker.Closed, breaker.Open, breaker.ForcedOpen, breaker.Disabled:
	default:
		return breaker.Record{}, fmt.Errorf("breakerredis: save %q: state %v is never stored", r.Name, r.State)
	}
	s.mu.Lock()
	s.origins[r.Origin] = true
	if w, ok := s.won[r.Name]; ok {
		// This instance probed under the lease: its decision answers the
		// probe record it wrote, which its supervisor never saw.
		delete(s.won, r.Name)
		if r.State == breaker.Closed && r.BaseGen >= w.BaseGen {
			r.BaseGen = max(r.BaseGen, w.Gen)
		}
	}
	if r.State == breaker.Closed {
		delete(s.own, r.Name)
	} else {
		s.own[r.Name] = ownRecord{r: r, at: s.o.clock.Now()}
	}
	s.mu.Unlock()

	st, err := s.save(ctx, "save", r, 0)
	if err != nil {
		return breaker.Record{}, err
	}
	s.mu.Lock()
	s.seen[r.Name] = max(s.seen[r.Name], st.Gen)
	if o, ok := s.own[r.Name]; ok && o.r == r {
		o.gen, o.saved = st.Gen, true
		s.own[r.Name] = o
	}
	s.mu.Unlock()
	s.scheduleLease(st)
	return st.Record, nil
}

// save runs the script once. For a "kept" verdict with nothing stored it
// returns a Closed record with Gen 0.
func (s *Store) save(ctx context.Context, op string, r breaker.Record, margin time.Duration) (stored, error) {
	ctx, done := s.call(ctx)
	defer done()
	res, err := saveScript.Run(ctx, s.c, []string{s.hash, s.lease + r.Name},
		saveArgs(op, s.channel, r, margin)...).StringSlice()
	if err != nil {
		return stored{}, fmt.Errorf("breakerredis: %s %q: %w", op, r.Name, err)
	}
	if len(res) != 2 {
		return stored{}, fmt.Errorf("breakerredis: %s %q: %w", op, r.Name, errWire)
	}
	if res[1] == "" {
		return stored{Record: breaker.Record{Name: r.Name, State: breaker.Closed}}, nil
	}
	st, err := decodeWire(res[1])
	if err != nil {
		return stored{}, fmt.Errorf("breakerredis: %s %q: %w", op, r.Name, err)
	}
	st.verdict = res[0]
	return st, nil
}

// Close stops every Watch (each returns once its goroutines have exited)
// and makes every later call return ErrClosed. It does not close the
// client. Close is idempotent; it must not be called from a Watch's apply.
func (s *Store) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return nil
}
