package dashboard

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlabs/breaker"
)

// TestReadingNeverChangesABreaker: a hundred snapshots and a connected
// stream leave a half-open breaker's probe slots and every breaker's
// transitions as they were (Hystrix#236).
func TestReadingNeverChangesABreaker(t *testing.T) {
	mk := clock.NewMock()
	s := breaker.NewSupervisor(breaker.WithClock(mk))
	defer s.Close()
	cfg := breaker.DefaultConfig()
	cfg.ConsecutiveFailures = 1
	cfg.OpenTimeout = time.Second
	cfg.HalfOpen.MaxProbes = 1
	trip := func(name string) *breaker.Breaker {
		b, err := s.GetOrCreate(name, cfg)
		if err != nil {
			t.Fatal(err)
		}
		p, err := b.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		p.Failure()
		eventually(t, 5*time.Second, name+" open", func() bool { return b.State() == breaker.Open })
		return b
	}
	half := trip("half")
	mk.Add(cfg.OpenTimeout)
	eventually(t, 5*time.Second, "half-open", func() bool { return half.State() == breaker.HalfOpen })
	open := trip("open") // open until mk.Now()+1s
	if _, err := s.GetOrCreate("closed", cfg); err != nil {
		t.Fatal(err)
	}
	before := s.Metrics()

	_, srv := serve(t, s, WithClock(mk))
	r := openStream(t, context.Background(), srv.URL+"/api/stream")
	r.next(t, 5*time.Second)
	for range 100 {
		code, _, body := get(t, srv.URL+"/api/snapshot")
		if code != http.StatusOK {
			t.Fatalf("snapshot: %d %s", code, body)
		}
		snap := decode[Snapshot](t, body)
		if len(snap.Breakers) != 3 || snap.Breakers[1].State != "half-open" || snap.Breakers[2].State != "open" {
			t.Fatalf("snapshot states = %+v", snap.Breakers)
		}
	}
	after := s.Metrics()
	for i := range before {
		b, a := before[i], after[i]
		if a.State != b.State || a.Transitions != b.Transitions || a.HalfOpenInFlight != b.HalfOpenInFlight ||
			!a.OpenUntil.Equal(b.OpenUntil) || a.Rejected != b.Rejected {
			t.Errorf("%s changed under reads: before %+v, after %+v", a.Name, b, a)
		}
	}
	for _, to := range []breaker.State{breaker.Closed, breaker.Open} {
		if n := half.TransitionCount(breaker.HalfOpen, to); n != 0 {
			t.Errorf("half-open → %v happened %d times", to, n)
		}
	}
	// The probe slot is still free, and only one.
	p, err := half.Acquire(context.Background())
	if err != nil {
		t.Fatalf("the probe was taken by a read: %v", err)
	}
	defer p.Ignore()
	if _, err := half.Acquire(context.Background()); !errors.Is(err, breaker.ErrTooManyProbes) {
		t.Errorf("second probe: %v, want ErrTooManyProbes", err)
	}
	if open.State() != breaker.Open {
		t.Errorf("open breaker is %v", open.State())
	}
}

func TestSnapshotJSON(t *testing.T) {
	s := newSupervisor(t, "payments")
	_, srv := serve(t, s, WithControl(func(*http.Request) bool { return true }), WithInterval(250*time.Millisecond))
	code, hdr, body := get(t, srv.URL+"/api/snapshot")
	if code != http.StatusOK || hdr.Get("Content-Type") != "application/json" || hdr.Get("Cache-Control") != "no-store" {
		t.Fatalf("snapshot: %d %v", code, hdr)
	}
	snap := decode[Snapshot](t, body)
	if !snap.Control || snap.Interval != 250 || len(snap.Breakers) != 1 {
		t.Fatalf("snapshot = %+v", snap)
	}
	b := snap.Breakers[0]
	if b.Name != "payments" || b.State != "closed" || b.Since == 0 || b.OpenUntil != 0 || b.Config == nil ||
		b.Config.OpenTimeout != breaker.DefaultConfig().OpenTimeout {
		t.Errorf("breaker = %+v", b)
	}
	if b.Rates != nil {
		t.Errorf("rates from a single sample: %+v", b.Rates)
	}
	if b.Latency != nil {
		t.Errorf("latency for a breaker that does not time its calls: %+v", b.Latency)
	}
	if code, _, _ := do(t, http.MethodPost, srv.URL+"/api/snapshot", nil); code != http.StatusMethodNotAllowed {
		t.Errorf("POST snapshot: %d", code)
	}
}
