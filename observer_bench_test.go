package breaker

import (
	"context"
	"testing"
)

// BenchmarkCallObserver is the Closed fast path (Acquire + Success) and the
// open rejection of the actor breaker with no observer and with one that
// does nothing, so the cost of the hook itself shows: with none it is one
// nil check. (bench/RESULTS.md compares observer=none with the same tree
// built without the hook.)
func BenchmarkCallObserver(b *testing.B) {
	for _, o := range []struct {
		name string
		obs  CallObserver
	}{{"none", nil}, {"nop", nopObserver{}}} {
		b.Run("path=closed/observer="+o.name, func(b *testing.B) {
			br := benchNewObserved(b, o.obs)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				p, err := br.Acquire(ctx)
				if err != nil {
					b.Fatal(err)
				}
				p.Success()
			}
		})
		b.Run("path=open/observer="+o.name, func(b *testing.B) {
			br := benchNewObserved(b, o.obs)
			benchTrip(b, br)
			want := benchRejection(b, br)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := br.Acquire(ctx); err != want {
					b.Fatalf("Acquire = %v, want the open period's rejection", err)
				}
			}
		})
	}
}

func benchNewObserved(b *testing.B, o CallObserver) *Breaker {
	b.Helper()
	br, err := New("bench", benchConfig(), WithCallObserver(o))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { br.Close() })
	return br
}
