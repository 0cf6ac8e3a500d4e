package breaker

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
)

// The registry agrees with a map through random stores, deletes (leaving
// tombstones, reused by later stores), growth and clears.
func TestRegistryAgreesWithAMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	pool := make([]*Breaker, 300)
	for i := range pool {
		pool[i] = &Breaker{base: base{name: fmt.Sprintf("b%d", i)}}
	}
	var r registry
	model := map[string]*Breaker{}
	for step := range 20000 {
		b := pool[rng.IntN(len(pool))]
		switch op := rng.IntN(100); {
		case op < 50:
			if _, ok := model[b.name]; !ok {
				r.store(b)
				model[b.name] = b
			}
		case op < 95:
			got, ok := r.delete(b.name)
			want, wok := model[b.name]
			if ok != wok || got != want {
				t.Fatalf("step %d: delete(%s) = %p, %v; want %p, %v", step, b.name, got, ok, want, wok)
			}
			delete(model, b.name)
		default:
			if op == 99 && step%7 == 0 {
				r.clear()
				clear(model)
			}
		}
		for _, p := range pool[:20] {
			got, ok := r.load(p.name)
			if want, wok := model[p.name]; ok != wok || got != want {
				t.Fatalf("step %d: load(%s) = %p, %v; want %p, %v", step, p.name, got, ok, want, wok)
			}
		}
		if tb := r.t.Load(); tb != nil && 2*(r.live+r.dead) > len(tb.slots) {
			t.Fatalf("step %d: table of %d slots holds %d live and %d removed", step, len(tb.slots), r.live, r.dead)
		}
	}
	n := 0
	r.each(func(b *Breaker) bool {
		if model[b.name] != b {
			t.Fatalf("each: %s is not in the model", b.name)
		}
		n++
		return true
	})
	if n != len(model) || n != r.live {
		t.Fatalf("each saw %d, model has %d, live %d", n, len(model), r.live)
	}
}

// Lookups run without a lock while a writer stores, deletes and grows the
// table: a breaker stored before the lookups started and never deleted is
// always found, and a lookup never returns another name's breaker. Run
// under -race.
func TestRegistryLookupsDuringWrites(t *testing.T) {
	var r registry
	stable := make([]*Breaker, 50)
	for i := range stable {
		stable[i] = &Breaker{base: base{name: fmt.Sprintf("stable%d", i)}}
		r.store(stable[i])
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				want := stable[(i+g)%len(stable)]
				if b, ok := r.load(want.name); !ok || b != want {
					t.Errorf("load(%s) = %v, %v during writes", want.name, b, ok)
					return
				}
				if b, ok := r.load(fmt.Sprintf("churn%d", i%500)); ok && b.name != fmt.Sprintf("churn%d", i%500) {
					t.Errorf("load of churn%d returned %s", i%500, b.name)
					return
				}
			}
		})
	}
	for i := range 5000 {
		name := fmt.Sprintf("churn%d", i%500)
		if _, ok := r.load(name); ok {
			r.delete(name)
		} else {
			r.store(&Breaker{base: base{name: name}})
		}
	}
	stop.Store(true)
	wg.Wait()
}
