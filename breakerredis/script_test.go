package breakerredis

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/breakerlabs/breaker"
	"github.com/redis/go-redis/v9"
)

// The merge script against a real redis-server: each case saves through
// the Store and checks both what comes back and what was published.

func newTestStore(t *testing.T, srv *redisServer, opts ...Option) *Store {
	t.Helper()
	st := New(srv.Client(), "test", opts...)
	t.Cleanup(func() { st.Close() })
	return st
}

// listen subscribes to the test namespace's channel and returns a function
// that reports the next message within d (ok false if none came).
func listen(t *testing.T, srv *redisServer) func(d time.Duration) (stored, bool) {
	t.Helper()
	c := srv.Client()
	ps := c.Subscribe(context.Background(), "breaker:{test}:events")
	t.Cleanup(func() { ps.Close() })
	if _, err := ps.Receive(context.Background()); err != nil { // the subscription's confirmation
		t.Fatal(err)
	}
	return func(d time.Duration) (stored, bool) {
		t.Helper()
		m, err := ps.ReceiveTimeout(context.Background(), d)
		if err != nil {
			return stored{}, false
		}
		msg, ok := m.(*redis.Message)
		if !ok {
			t.Fatalf("unexpected %T", m)
		}
		st, err := decodeWire(msg.Payload)
		if err != nil {
			t.Fatalf("published record: %v (%q)", err, msg.Payload)
		}
		return st, true
	}
}

func open(name, origin string, rem time.Duration, base uint64) breaker.Record {
	return breaker.Record{Name: name, State: breaker.Open, Remaining: rem, Reason: breaker.ReasonFailureRate,
		Origin: origin, BaseGen: base, Since: time.Now()}
}

func save(t *testing.T, st *Store, r breaker.Record) breaker.Record {
	t.Helper()
	got, err := st.Save(context.Background(), r)
	if err != nil {
		t.Fatalf("Save(%+v): %v", r, err)
	}
	return got
}

func near(got, want, tol time.Duration) bool { return got >= want-tol && got <= want+tol }

// same reports whether a and b are one record, read at most 100 ms apart.
func same(a, b breaker.Record) bool {
	ra, rb := a.Remaining, b.Remaining
	a.Remaining, b.Remaining = 0, 0
	return a == b && near(ra, rb, 100*time.Millisecond)
}

func TestScriptOpenIsStoredAndPublished(t *testing.T) {
	srv := startRedis(t)
	st := newTestStore(t, srv)
	next := listen(t, srv)
	before := time.Now().UnixMicro()
	got := save(t, st, open("pay", "a", 30*time.Second, 0))
	if got.State != breaker.Open || got.Origin != "a" || !near(got.Remaining, 30*time.Second, 50*time.Millisecond) {
		t.Fatalf("Save returned %+v", got)
	}
	if got.Gen < uint64(before) {
		t.Fatalf("gen %d below the server's clock in µs (%d)", got.Gen, before)
	}
	msg, ok := next(time.Second)
	if !ok || !same(msg.Record, got) || msg.votes != 1 {
		t.Fatalf("published %+v (ok %v), want %+v with 1 vote", msg, ok, got)
	}
	if _, ok := next(50 * time.Millisecond); ok {
		t.Fatal("a second message for one save")
	}
}

func TestScriptSimultaneousOpensMergeIntoOnePeriod(t *testing.T) {
	srv := startRedis(t)
	st := newTestStore(t, srv)
	next := listen(t, srv)
	a := save(t, st, open("pay", "a", 10*time.Second, 0))
	b := save(t, st, open("pay", "b", 20*time.Second, 0)) // b had not seen a
	if b.Gen <= a.Gen || !near(b.Remaining, 20*time.Second, 50*time.Millisecond) {
		t.Fatalf("second open: %+v after %+v", b, a)
	}
	c := save(t, st, breaker.Record{Name: "pay", State: breaker.Open, Remaining: 5 * time.Second, Attempt: 3,
		Origin: "c", BaseGen: a.Gen})
	if !near(c.Remaining, 20*time.Second, 100*time.Millisecond) || c.Attempt != 3 || c.Gen <= b.Gen {
		t.Fatalf("shorter open with a higher attempt: %+v; want the later deadline and attempt 3", c)
	}
	for i := range 3 {
		m, ok := next(time.Second)
		if !ok || m.votes != i+1 {
			t.Fatalf("message %d: %+v (ok %v), want %d votes", i, m, ok, i+1)
		}
	}
	// A repeat from an instance that already voted, changing nothing, is
	// not a new gen and not a message.
	d := save(t, st, open("pay", "a", time.Second, c.Gen))
	if d.Gen != c.Gen {
		t.Fatalf("a no-op open made gen %d (was %d)", d.Gen, c.Gen)
	}
	if m, ok := next(50 * time.Millisecond); ok {
		t.Fatalf("a no-op open published %+v", m)
	}
}

func TestScriptClosingMustBeCurrent(t *testing.T) {
	srv := startRedis(t)
	st := newTestStore(t, srv)
	o1 := save(t, st, open("pay", "a", 10*time.Second, 0))
	o2 := save(t, st, open("pay", "b", 10*time.Second, o1.Gen))
	stale := save(t, st, breaker.Record{Name: "pay", State: breaker.Closed, Reason: breaker.ReasonProbesSucceeded,
		Origin: "a", BaseGen: o1.Gen})
	if !same(stale, o2) {
		t.Fatalf("a Closed that had not seen gen %d returned %+v, want the stored %+v", o2.Gen, stale, o2)
	}
	closed := save(t, st, breaker.Record{Name: "pay", State: breaker.Closed, Reason: breaker.ReasonProbesSucceeded,
		Origin: "a", BaseGen: o2.Gen})
	if closed.State != breaker.Closed || closed.Gen <= o2.Gen || closed.BaseGen != o2.Gen {
		t.Fatalf("a current Closed returned %+v", closed)
	}
	recs, err := st.Load(context.Background())
	if err != nil || len(recs) != 0 {
		t.Fatalf("Load after closing: %+v, %v; want nothing", recs, err)
	}
	// Closing what is already closed, or was never stored, changes nothing.
	again := save(t, st, breaker.Record{Name: "pay", State: breaker.Closed, Origin: "b", BaseGen: 0})
	if again.Gen != closed.Gen {
		t.Fatalf("closing again made gen %d", again.Gen)
	}
	none := save(t, st, breaker.Record{Name: "never", State: breaker.Closed, Origin: "b"})
	if none.State != breaker.Closed || none.Gen != 0 {
		t.Fatalf("closing an unknown breaker returned %+v", none)
	}
}

func TestScriptOperatorAlwaysWins(t *testing.T) {
	srv := startRedis(t)
	st := newTestStore(t, srv)
	o := save(t, st, open("pay", "a", 10*time.Second, 0))
	f := save(t, st, breaker.Record{Name: "pay", State: breaker.ForcedOpen, Manual: true, Reason: breaker.ReasonManual,
		Origin: "ops"}) // even without having seen the open
	if f.State != breaker.ForcedOpen || !f.Manual || f.Gen <= o.Gen {
		t.Fatalf("ForceOpen returned %+v", f)
	}
	// An automatic open decided without seeing the operator's record is refused.
	late := save(t, st, open("pay", "b", 10*time.Second, o.Gen))
	if !same(late, f) {
		t.Fatalf("a late automatic open returned %+v, want the forced-open %+v", late, f)
	}
	r := save(t, st, breaker.Record{Name: "pay", State: breaker.Closed, Manual: true, Reason: breaker.ReasonManual,
		Origin: "ops"})
	if r.State != breaker.Closed || !r.Manual || r.Gen <= f.Gen {
		t.Fatalf("Reset returned %+v", r)
	}
	d := save(t, st, breaker.Record{Name: "pay", State: breaker.Disabled, Manual: true, Reason: breaker.ReasonManual, Origin: "ops"})
	recs, err := st.Load(context.Background())
	if err != nil || len(recs) != 1 || !same(recs[0], d) {
		t.Fatalf("Load: %+v, %v; want the disabled record %+v", recs, err, d)
	}
}

func TestScriptExpiredOpenChangesNothing(t *testing.T) {
	srv := startRedis(t)
	st := newTestStore(t, srv)
	next := listen(t, srv)
	got := save(t, st, open("pay", "a", 0, 0))
	if got.State != breaker.Closed || got.Gen != 0 {
		t.Fatalf("an expired open returned %+v", got)
	}
	if m, ok := next(50 * time.Millisecond); ok {
		t.Fatalf("an expired open published %+v", m)
	}
}

func TestScriptRejectsWhatIsNeverStored(t *testing.T) {
	srv := startRedis(t)
	st := newTestStore(t, srv)
	ctx := context.Background()
	if _, err := st.Save(ctx, breaker.Record{Name: "pay", State: breaker.HalfOpen}); err == nil {
		t.Fatal("saving HalfOpen: no error")
	}
	if _, err := st.Save(ctx, breaker.Record{State: breaker.Open, Remaining: time.Second}); err == nil {
		t.Fatal("saving an empty name: no error")
	}
	if _, err := st.Save(ctx, breaker.Record{Name: "pay", State: breaker.State(42)}); err == nil {
		t.Fatal("saving an unknown state: no error")
	}
}

func TestScriptGensRiseAcrossAnEmptyRestart(t *testing.T) {
	srv := startRedis(t)
	st := newTestStore(t, srv)
	o := save(t, st, open("pay", "a", 10*time.Second, 0))
	srv.Restart()
	// A writer that had seen gen o.Gen gets a higher one from an empty server.
	again := save(t, st, open("pay", "a", 10*time.Second, o.Gen))
	if again.Gen <= o.Gen {
		t.Fatalf("gen after an empty restart %d, not above %d", again.Gen, o.Gen)
	}
}

func TestScriptHostileNamesAndOrigins(t *testing.T) {
	srv := startRedis(t)
	st := newTestStore(t, srv)
	names := []string{"a:b", "{x}", "12:3", "new\nline", "\xff\xfe", "ü\"\\", strings.Repeat("n", 1000), " "}
	for _, n := range names {
		r := open(n, "host\x00\xff \"o\"/1", 10*time.Second, 0)
		got := save(t, st, r)
		if got.Name != n || got.Origin != r.Origin {
			t.Fatalf("name %q origin %q came back as %q %q", n, r.Origin, got.Name, got.Origin)
		}
	}
	recs, err := st.Load(context.Background())
	if err != nil || len(recs) != len(names) {
		t.Fatalf("Load: %d records, %v", len(recs), err)
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	for _, r := range recs {
		if !want[r.Name] {
			t.Fatalf("Load returned unknown name %q", r.Name)
		}
	}
}

func TestScriptIgnoresJunkInTheHash(t *testing.T) {
	srv := startRedis(t)
	st := newTestStore(t, srv)
	srv.CLI("HSET", "breaker:{test}", "pay", "not json", "other", `{"s":1,"u":"x"}`)
	recs, err := st.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Name == "pay" {
			t.Fatalf("junk loaded as %+v", r)
		}
	}
	got := save(t, st, open("pay", "a", time.Second, 0))
	if got.State != breaker.Open {
		t.Fatalf("saving over junk: %+v", got)
	}
}
