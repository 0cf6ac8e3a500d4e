package breaker

import (
	"context"
	"errors"
	"sync"
)

// memStore is an in-memory SharedStore that several supervisors ("instances")
// share in a test. It assigns Gen, applies ARCHITECTURE §8's merge rule (Manual
// and non-Closed records are accepted, an automatic Closed only if its
// writer had seen the stored Gen; otherwise Save returns what is stored)
// and broadcasts every accepted record to every watcher, in Gen order.
// Tests can make it fail, hang, or broadcast a record of their own.
type memStore struct {
	mu       sync.Mutex
	gen      uint64
	recs     map[string]Record
	saves    []Record // every record Save accepted, in order
	calls    int      // Save calls, accepted or not
	watchers map[*memWatcher]bool

	failSave  error         // Save fails with it while set
	failLoad  error         // Load fails with it while set
	failWatch error         // Watch returns it at once while set
	hang      bool          // Save blocks until its context ends
	gate      chan struct{} // if set, Save waits for it to close (ignoring its context)
	saveEntry chan struct{} // if set, Save sends on it when called (before gate/hang)
}

type memWatcher struct{ ch chan Record }

func newMemStore(recs ...Record) *memStore {
	st := &memStore{recs: map[string]Record{}, watchers: map[*memWatcher]bool{}}
	for _, r := range recs {
		st.gen++
		r.Gen = st.gen
		st.recs[r.Name] = r
	}
	return st
}

func (st *memStore) Load(context.Context) ([]Record, error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.failLoad != nil {
		return nil, st.failLoad
	}
	out := make([]Record, 0, len(st.recs))
	for _, r := range st.recs {
		out = append(out, r)
	}
	return out, nil
}

func (st *memStore) Save(ctx context.Context, r Record) (Record, error) {
	st.mu.Lock()
	st.calls++
	entry, gate, hang, fail := st.saveEntry, st.gate, st.hang, st.failSave
	st.mu.Unlock()
	if entry != nil {
		entry <- struct{}{}
	}
	if gate != nil {
		<-gate
	}
	if hang {
		<-ctx.Done()
		return Record{}, ctx.Err()
	}
	if fail != nil {
		return Record{}, fail
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	cur, ok := st.recs[r.Name]
	if ok && r.State == Closed && !r.Manual && r.BaseGen < cur.Gen {
		return cur, nil
	}
	st.accept(r)
	return st.saves[len(st.saves)-1], nil
}

// accept stores r with the next Gen and broadcasts it. st.mu is held.
func (st *memStore) accept(r Record) {
	st.gen++
	r.Gen = st.gen
	if r.State == Closed {
		delete(st.recs, r.Name)
	} else {
		st.recs[r.Name] = r
	}
	st.saves = append(st.saves, r)
	for w := range st.watchers {
		select {
		case w.ch <- r:
		default:
			panic("memStore: a watcher's buffer is full")
		}
	}
}

// publish stores and broadcasts r as if another instance had saved it,
// with no merge rule, and returns it with its Gen.
func (st *memStore) publish(r Record) Record {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.accept(r)
	return st.saves[len(st.saves)-1]
}

func (st *memStore) Watch(ctx context.Context, apply func(Record)) error {
	st.mu.Lock()
	if err := st.failWatch; err != nil {
		st.mu.Unlock()
		return err
	}
	w := &memWatcher{ch: make(chan Record, 1024)}
	st.watchers[w] = true
	st.mu.Unlock()
	defer func() {
		st.mu.Lock()
		delete(st.watchers, w)
		st.mu.Unlock()
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case r := <-w.ch:
			apply(r)
		}
	}
}

func (st *memStore) Close() error { return nil }

// set changes the store's behaviour under its lock.
func (st *memStore) set(f func(st *memStore)) {
	st.mu.Lock()
	defer st.mu.Unlock()
	f(st)
}

// watching returns the number of live watchers.
func (st *memStore) watching() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.watchers)
}

// record returns what the store holds for name.
func (st *memStore) record(name string) (Record, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	r, ok := st.recs[name]
	return r, ok
}

// accepted returns a copy of every accepted record, in order.
func (st *memStore) accepted() []Record {
	st.mu.Lock()
	defer st.mu.Unlock()
	return append([]Record(nil), st.saves...)
}

var errDiskFull = errors.New("no space left on device")
