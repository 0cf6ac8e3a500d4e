package breakerredis_test

import (
	"context"
	"log"

	"github.com/breakerlabs/breaker"
	"github.com/breakerlabs/breaker/breakerredis"
	"github.com/redis/go-redis/v9"
)

// A supervisor whose breakers share their state with every instance of
// the service: a trip here makes the others reject, and theirs make this
// one reject. Redis is never on a call's path. (Not run: it needs a Redis.)
func ExampleNew() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
	defer rdb.Close()
	st := breakerredis.New(rdb, "checkout", breakerredis.WithInstance("checkout-7f9c"))
	defer st.Close() // after the supervisor's

	sup := breaker.NewSupervisor(breaker.WithStateStore(st), breaker.WithInstance("checkout-7f9c"))
	defer sup.Close()

	b, err := sup.GetOrCreate("payments", breaker.DefaultConfig())
	if err != nil {
		log.Fatal(err)
	}
	p, err := b.Acquire(context.Background())
	if err != nil {
		return // open here or, through Redis, on another instance
	}
	p.Done(nil)
}

// One misbehaving instance must not open the fleet, and after a
// fleet-wide trip only one instance should probe the recovering
// dependency. (Not run: it needs a Redis.)
func ExampleWithQuorum() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
	defer rdb.Close()
	st := breakerredis.New(rdb, "checkout",
		breakerredis.WithQuorum(2),         // adopt another's automatic Open once 2 instances opened
		breakerredis.WithSingleProber(),    // one prober at a time, the others stay Open
		breakerredis.WithInstance("pod-a"), // the supervisor's Origin
	)
	defer st.Close()
	sup := breaker.NewSupervisor(breaker.WithStateStore(st), breaker.WithInstance("pod-a"))
	defer sup.Close()
}
