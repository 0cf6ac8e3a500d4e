package breakerredis

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/breakerlabs/breaker"
)

// TestMergeOpensCommute: whatever order automatic opens from different
// instances arrive in, the namespace ends with one open period ending at
// the latest deadline, the highest attempt and every instance's vote, and
// each accepted write has a higher gen than the one before.
func TestMergeOpensCommute(t *testing.T) {
	srv := startRedis(t)
	st := newTestStore(t, srv)
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 1))
	t.Logf("seed %d", seed)
	for round := range 40 {
		name := "dep-" + itoa(uint64(round))
		n := 2 + rng.IntN(4)
		type open struct {
			rem     time.Duration
			attempt int
		}
		opens := make([]open, n)
		var longest time.Duration
		var attempt int
		for i := range opens {
			opens[i] = open{time.Duration(1+rng.IntN(600)) * time.Second, rng.IntN(5)}
			longest = max(longest, opens[i].rem)
			attempt = max(attempt, opens[i].attempt)
		}
		var last breaker.Record
		for _, i := range rng.Perm(n) {
			got := save(t, st, breaker.Record{Name: name, State: breaker.Open, Remaining: opens[i].rem,
				Attempt: opens[i].attempt, Origin: "i" + itoa(uint64(i)), BaseGen: 0})
			if got.Gen <= last.Gen {
				t.Fatalf("seed %d round %d: gen %d after %d", seed, round, got.Gen, last.Gen)
			}
			last = got
		}
		if !near(last.Remaining, longest, time.Second) || last.Attempt != attempt {
			t.Fatalf("seed %d round %d: ended %v attempt %d, want %v attempt %d", seed, round,
				last.Remaining, last.Attempt, longest, attempt)
		}
		all, err := st.loadAll(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range all {
			if s.Name == name && s.votes != n {
				t.Fatalf("seed %d round %d: %d votes, want %d", seed, round, s.votes, n)
			}
		}
	}
}
