package breakerredis_test

import (
	"github.com/breakerlabs/breaker"
	"github.com/breakerlabs/breaker/breakerredis"
	"github.com/redis/go-redis/v9"
)

// The README's Go snippets about breakerredis, compiled as they are
// (TestReadmeSnippetsAreHere in the root checks they are here).

func readmeFleet(pod string) {
	rdb := redis.NewClient(&redis.Options{Addr: "redis:6379", ContextTimeoutEnabled: true})
	st := breakerredis.New(rdb, "checkout", breakerredis.WithInstance(pod))
	defer st.Close() // after the supervisor's Close
	s := breaker.NewSupervisor(breaker.WithStateStore(st), breaker.WithInstance(pod))
	defer s.Close()
}

var _ = readmeFleet
