package breakerredis

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/breakerlabs/breaker"
)

func TestAntiEntropyRepairsALostMessage(t *testing.T) {
	srv := startRedis(t)
	b := New(srv.Client(), "test", WithAntiEntropy(100*time.Millisecond))
	t.Cleanup(func() { b.Close() })
	c := watch(t, b)
	other := New(srv.Client(), "test")
	t.Cleanup(func() { other.Close() })
	save(t, other, open("x", "b", 10*time.Second, 0))
	c.waitFor(t, 5*time.Second, "watching", hasRecord("x", breaker.Open))
	// A record that reached the hash but whose message was lost: written
	// with HSET, never published.
	now, err := srv.Client().Time(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	us := now.UnixMicro()
	srv.CLI("HSET", "breaker:{test}", "pay", `{"s":1,"u":`+itoa(uint64(us+30_000_000))+`,"p":30000000,"a":0,"r":1,"m":0,"g":`+
		itoa(uint64(us))+`,"b":0,"o":"a","t":0,"q":0,"pg":0,"w":{"a":`+itoa(uint64(us+30_000_000))+`}}`)
	rs := c.waitFor(t, 5*time.Second, "the anti-entropy reload", hasRecord("pay", breaker.Open))
	if r := rs[len(rs)-1]; r.Origin != "a" || !near(r.Remaining, 30*time.Second, 5*time.Second) {
		t.Fatalf("reloaded %+v", r)
	}
}

func TestWatchEndsWhenTheSubscriptionGoesSilent(t *testing.T) {
	srv := startRedis(t)
	st := New(srv.Client(), "test", WithHealthCheck(100*time.Millisecond), WithTimeout(200*time.Millisecond))
	t.Cleanup(func() { st.Close() })
	other := New(srv.Client(), "test")
	t.Cleanup(func() { other.Close() })
	c := watch(t, st) // called again after each failure, as a supervisor does
	save(t, other, open("x", "b", 10*time.Second, 0))
	c.waitFor(t, 5*time.Second, "watching", hasRecord("x", breaker.Open))
	c.mu.Lock()
	before := len(c.errs)
	c.mu.Unlock()
	srv.Stop()
	defer srv.Cont()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.mu.Lock()
		errs := c.errs[before:]
		c.mu.Unlock()
		if len(errs) > 0 {
			if errors.Is(errs[0], ErrClosed) {
				t.Fatalf("Watch on a frozen server returned %v", errs[0])
			}
			t.Logf("Watch ended: %v", errs[0])
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("Watch still running 5 s into a frozen server")
		}
		time.Sleep(10 * time.Millisecond) // polling with a deadline
	}
}

func TestNilClientAndOddInput(t *testing.T) {
	st := New(nil, "")
	defer st.Close()
	ctx := context.Background()
	if _, err := st.Load(ctx); err == nil {
		t.Fatal("Load with a nil client: no error")
	}
	if _, err := st.Save(ctx, open("x", "a", time.Second, 0)); err == nil {
		t.Fatal("Save with a nil client: no error")
	}
	if err := st.Watch(ctx, func(breaker.Record) {}); err == nil {
		t.Fatal("Watch with a nil client: no error")
	}
	if st.hash != "breaker:{default}" {
		t.Fatalf("an empty namespace is %q", st.hash)
	}
	srv := startRedis(t)
	ok := New(srv.Client(), "x")
	defer ok.Close()
	if err := ok.Watch(ctx, nil); err == nil {
		t.Fatal("Watch with a nil apply: no error")
	}
}

func TestHostileNamespacesStayApart(t *testing.T) {
	srv := startRedis(t)
	a := New(srv.Client(), "a}b{c")
	b := New(srv.Client(), "a")
	defer a.Close()
	defer b.Close()
	save(t, a, open("pay", "a", 10*time.Second, 0))
	recs, err := b.Load(context.Background())
	if err != nil || len(recs) != 0 {
		t.Fatalf("namespace a sees %+v, %v", recs, err)
	}
	recs, err = a.Load(context.Background())
	if err != nil || len(recs) != 1 {
		t.Fatalf("namespace a}b{c sees %+v, %v", recs, err)
	}
}

func TestLoadHonoursTheQuorum(t *testing.T) {
	srv := startRedis(t)
	w := New(srv.Client(), "test")
	defer w.Close()
	save(t, w, open("one", "a", 10*time.Second, 0))
	save(t, w, open("two", "a", 10*time.Second, 0))
	save(t, w, open("two", "b", 10*time.Second, 0))
	save(t, w, breaker.Record{Name: "ops", State: breaker.ForcedOpen, Manual: true, Origin: "a"})
	q := New(srv.Client(), "test", WithQuorum(2))
	defer q.Close()
	recs, err := q.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, r := range recs {
		got[r.Name] = true
	}
	if got["one"] || !got["two"] || !got["ops"] || len(recs) != 2 {
		t.Fatalf("Load with quorum 2: %+v; want two (2 votes) and ops (an operator's)", recs)
	}
}
