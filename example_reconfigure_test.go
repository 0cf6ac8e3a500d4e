package breaker_test

import (
	"context"
	"fmt"

	"github.com/benbjohnson/clock"
	"github.com/breakerlabs/breaker"
)

// Lowering a threshold during an incident: the breaker keeps its window,
// and trips at once because the new threshold is already exceeded.
func ExampleSupervisor_Apply() {
	s := breaker.NewSupervisor(breaker.WithClock(clock.NewMock()))
	defer s.Close()
	cs, _ := breaker.ParseConfigSet([]byte(`{"breakers": {"payments": {"minimumCalls": 4, "failureRate": 0.5}}}`))
	b, _ := s.GetOrCreate("payments", cs.Config("payments"))
	for _, fail := range []bool{false, true, false, false, true} { // 2 failures in 5: 40 %
		p, _ := b.Acquire(context.Background())
		if fail {
			p.Failure()
		} else {
			p.Success()
		}
	}
	fmt.Println(b.State(), b.Metrics().WindowCalls)

	sub := s.Subscribe()
	defer sub.Close()
	cs, err := breaker.ParseConfigSet([]byte(`{"breakers": {"payments": {"minimumCalls": 4, "failureRate": 0.4}}}`))
	if err != nil {
		panic(err)
	}
	if err := s.Apply(cs); err != nil {
		panic(err)
	}
	ev := <-sub.C()
	fmt.Println(ev.From, "→", ev.To, ev.Reason, ev.Rate)
	// Output:
	// closed 5
	// closed → open reconfigured 0.4
}

// A bad configuration is refused whole, naming every problem by its path.
func ExampleSupervisor_Reconfigure() {
	s := breaker.NewSupervisor()
	defer s.Close()
	if _, err := s.GetOrCreate("search", breaker.LenientConfig()); err != nil {
		panic(err)
	}
	cfg := breaker.AggressiveConfig()
	if err := s.Reconfigure("search", cfg); err != nil {
		panic(err)
	}
	b, _ := s.Get("search")
	fmt.Println(b.Config().FailureRate, b.State())
	cfg.FailureRate = 2
	fmt.Println(s.Reconfigure("search", cfg))
	// Output:
	// 0.25 closed
	// breaker: Config.FailureRate must be in (0,1], got 2
}
