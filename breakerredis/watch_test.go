package breakerredis

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/breakerlabs/breaker"
)

// collector records what a Watch hands to apply.
type collector struct {
	mu   sync.Mutex
	got  []breaker.Record
	errs []error // Watch's failures
	more chan struct{}
}

func newCollector() *collector { return &collector{more: make(chan struct{}, 1)} }

func (c *collector) apply(r breaker.Record) {
	c.mu.Lock()
	c.got = append(c.got, r)
	c.mu.Unlock()
	select {
	case c.more <- struct{}{}:
	default:
	}
}

func (c *collector) records() []breaker.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]breaker.Record(nil), c.got...)
}

// waitFor polls the collected records until ok accepts them, failing after d.
func (c *collector) waitFor(t *testing.T, d time.Duration, what string, ok func([]breaker.Record) bool) []breaker.Record {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		if rs := c.records(); ok(rs) {
			return rs
		}
		select {
		case <-c.more:
		case <-deadline.C:
			t.Fatalf("%s: not within %v; got %+v", what, d, c.records())
		}
	}
}

// watch runs st.Watch in the background until the test ends, calling it
// again 50 ms after it fails, as a supervisor does (without the reload).
func watch(t *testing.T, st *Store) *collector {
	t.Helper()
	c := newCollector()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		for {
			err := st.Watch(ctx, c.apply)
			if err == nil || err == ErrClosed || ctx.Err() != nil {
				done <- err
				return
			}
			c.mu.Lock()
			c.errs = append(c.errs, err)
			c.mu.Unlock()
			select {
			case <-time.After(50 * time.Millisecond):
			case <-ctx.Done():
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil && err != ErrClosed {
				t.Errorf("Watch returned %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Watch did not return within 5 s of its context's end")
		}
	})
	return c
}

// subscribed waits until the store's Watch has subscribed (its first reload
// is done when a record saved before it shows up).
func hasRecord(name string, state breaker.State) func([]breaker.Record) bool {
	return func(rs []breaker.Record) bool {
		for _, r := range rs {
			if r.Name == name && r.State == state {
				return true
			}
		}
		return false
	}
}

func TestWatchDeliversOthersRecordsNotOwn(t *testing.T) {
	srv := startRedis(t)
	a := New(srv.Client(), "test")
	b := New(srv.Client(), "test")
	t.Cleanup(func() { a.Close(); b.Close() })
	// a record saved before b watches arrives through the first reload
	save(t, a, open("early", "a", 10*time.Second, 0))
	cb := watch(t, b)
	cb.waitFor(t, 5*time.Second, "reload of a record saved before Watch", hasRecord("early", breaker.Open))
	ca := watch(t, a)
	save(t, b, open("pay", "b", 10*time.Second, 0)) // b learns its origin from this save
	got := save(t, a, open("pay", "a", 20*time.Second, 0))
	rs := cb.waitFor(t, 5*time.Second, "a's open at b", func(rs []breaker.Record) bool {
		for _, r := range rs {
			if r.Name == "pay" && r.Gen == got.Gen {
				return true
			}
		}
		return false
	})
	for _, r := range rs {
		if r.Origin == "b" {
			t.Fatalf("b was handed its own record %+v", r)
		}
	}
	// a's own save superseded b's earlier open (it came back merged from
	// Save), so a is not handed that one; a later record of b's reaches a.
	save(t, b, open("q", "b", 10*time.Second, 0))
	ca.waitFor(t, 5*time.Second, "b's open at a", hasRecord("q", breaker.Open))
	for _, r := range ca.records() {
		if r.Origin == "a" {
			t.Fatalf("a was handed its own record %+v", r)
		}
	}
}

func TestWatchIgnoresStaleAndReplayedMessages(t *testing.T) {
	srv := startRedis(t)
	a := New(srv.Client(), "test")
	b := New(srv.Client(), "test")
	t.Cleanup(func() { a.Close(); b.Close() })
	cb := watch(t, b)
	first := save(t, a, open("pay", "a", 10*time.Second, 0))
	cb.waitFor(t, 5*time.Second, "the first open", hasRecord("pay", breaker.Open))
	closed := save(t, a, breaker.Record{Name: "pay", State: breaker.Closed, Origin: "a", BaseGen: first.Gen})
	cb.waitFor(t, 5*time.Second, "the close", hasRecord("pay", breaker.Closed))
	n := len(cb.records())
	// Replay the first open exactly as it was published, and an older gen.
	srv.CLI("PUBLISH", "breaker:{test}:events", `3:pay{"s":1,"rem":10000000,"a":0,"r":2,"m":0,"g":`+
		itoa(first.Gen)+`,"p":10000000,"b":0,"o":"a","t":0,"q":0,"k":1}`)
	srv.CLI("PUBLISH", "breaker:{test}:events", `3:pay{"s":1,"rem":10000000,"a":0,"r":2,"m":0,"g":5,"p":1,"b":0,"o":"x","t":0,"q":0,"k":1}`)
	srv.CLI("PUBLISH", "breaker:{test}:events", `garbage`)
	// A fresh record after them proves they were read and dropped.
	next := save(t, a, open("other", "a", 10*time.Second, 0))
	rs := cb.waitFor(t, 5*time.Second, "the later record", hasRecord("other", breaker.Open))
	for _, r := range rs[n:] {
		if r.Name == "pay" {
			t.Fatalf("a stale or replayed message reached apply: %+v (last gen %d, next %d)", r, closed.Gen, next.Gen)
		}
	}
}

func itoa(u uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + u%10)
		u /= 10
		if u == 0 {
			return string(b[i:])
		}
	}
}

func TestWatchReseedsAfterAnEmptyRestart(t *testing.T) {
	srv := startRedis(t)
	a := New(srv.Client(), "test", WithHealthCheck(100*time.Millisecond))
	t.Cleanup(func() { a.Close() })
	watch(t, a)
	o := save(t, a, open("pay", "a", 30*time.Second, 0))
	save(t, a, breaker.Record{Name: "ops", State: breaker.ForcedOpen, Manual: true, Origin: "a"})
	save(t, a, open("short", "a", 50*time.Millisecond, 0))
	srv.Restart()
	reader := New(srv.Client(), "test")
	t.Cleanup(func() { reader.Close() })
	deadline := time.Now().Add(5 * time.Second)
	for {
		recs, err := reader.Load(context.Background())
		if err == nil && len(recs) == 2 {
			for _, r := range recs {
				switch r.Name {
				case "pay":
					if r.Gen <= o.Gen || !near(r.Remaining, 30*time.Second, 5*time.Second) {
						t.Fatalf("re-seeded %+v after %+v", r, o)
					}
				case "ops":
					if r.State != breaker.ForcedOpen || !r.Manual {
						t.Fatalf("re-seeded %+v", r)
					}
				default:
					t.Fatalf("re-seeded an expired open: %+v", r)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not re-seeded within 5 s: %+v, %v", recs, err)
		}
		time.Sleep(20 * time.Millisecond) // polling with a deadline
	}
}

func TestWatchOnlyOnceAndAfterClose(t *testing.T) {
	srv := startRedis(t)
	st := New(srv.Client(), "test")
	other := New(srv.Client(), "test")
	t.Cleanup(func() { other.Close() })
	c := watch(t, st)
	save(t, other, open("x", "b", 10*time.Second, 0))
	c.waitFor(t, 5*time.Second, "the first Watch running", hasRecord("x", breaker.Open))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := st.Watch(ctx, func(breaker.Record) {}); err == nil || err == ErrClosed {
		t.Fatalf("a second Watch on one store: %v, want an error", err)
	}
	st.Close()
	if err := st.Watch(context.Background(), func(breaker.Record) {}); err != ErrClosed {
		t.Fatalf("Watch after Close: %v", err)
	}
	if _, err := st.Save(context.Background(), open("x", "a", time.Second, 0)); err != ErrClosed {
		t.Fatalf("Save after Close: %v", err)
	}
	if _, err := st.Load(context.Background()); err != ErrClosed {
		t.Fatalf("Load after Close: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}
