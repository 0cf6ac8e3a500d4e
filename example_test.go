package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlabs/breaker"
)

// The examples pass a mock clock with WithClock only to make their output
// deterministic; real code leaves it out.

func ExampleNew() {
	cfg := breaker.DefaultConfig()
	cfg.ConsecutiveFailures = 2
	b, err := breaker.New("payments", cfg, breaker.WithClock(clock.NewMock()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()

	ctx := context.Background()
	for _, ok := range []bool{true, false, false} {
		p, err := b.Acquire(ctx)
		if err != nil {
			fmt.Println("rejected:", err)
			continue
		}
		// ... make the call ...
		if ok {
			p.Success()
		} else {
			p.Failure()
		}
	}

	// Metrics goes through the actor, so it reflects the reports above.
	m := b.Metrics()
	fmt.Println(m.State, m.Successes, m.Failures)

	_, err = b.Acquire(ctx)
	var open *breaker.OpenError
	if errors.As(err, &open) {
		fmt.Println(errors.Is(err, breaker.ErrOpen), "retry in", open.Until.Sub(m.Since))
	}
	// Output:
	// open 1 2
	// true retry in 30s
}

func ExampleBreaker_Do() {
	b, err := breaker.New("inventory", breaker.DefaultConfig(), breaker.WithClock(clock.NewMock()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()

	ctx := context.Background()
	errLost := errors.New("connection lost")
	fmt.Println(b.Do(ctx, func(ctx context.Context) error { return nil }))
	err = b.Do(ctx, func(ctx context.Context) error { return errLost })
	fmt.Println(err == errLost) // fn's own error, unchanged

	m := b.Metrics()
	fmt.Println(m.Successes, m.Failures)
	// Output:
	// <nil>
	// true
	// 1 1
}

func ExampleExecute() {
	// Execute takes any Circuit: here the mutex variant.
	c, err := breaker.NewMutex("prices", breaker.DefaultConfig(), breaker.WithClock(clock.NewMock()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	price, err := breaker.Execute(context.Background(), c, func(ctx context.Context) (float64, error) {
		return 9.99, nil
	})
	fmt.Println(price, err)

	c.ForceOpen()
	_, err = breaker.Execute(context.Background(), c, func(ctx context.Context) (float64, error) {
		panic("not called: the breaker rejects the call")
	})
	fmt.Println(errors.Is(err, breaker.ErrOpen))
	// Output:
	// 9.99 <nil>
	// true
}

func ExampleExecuteWithFallback() {
	b, err := breaker.New("recommendations", breaker.DefaultConfig(), breaker.WithClock(clock.NewMock()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()
	b.ForceOpen() // say, during an incident

	fetch := func(ctx context.Context) ([]string, error) {
		return []string{"personalised"}, nil
	}
	cached := func(ctx context.Context, rejection error) ([]string, error) {
		fmt.Println("fallback:", rejection)
		return []string{"bestsellers"}, nil
	}
	items, err := breaker.ExecuteWithFallback(context.Background(), b, fetch, cached)
	fmt.Println(items, err, b.Metrics().Fallbacks)
	// Output:
	// fallback: breaker: circuit "recommendations" forced open
	// [bestsellers] <nil> 1
}

func ExampleBreaker_Subscribe() {
	clk := clock.NewMock()
	cfg := breaker.DefaultConfig()
	cfg.ConsecutiveFailures = 2
	cfg.OpenTimeout = 10 * time.Second
	b, err := breaker.New("search", cfg, breaker.WithClock(clk))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()

	sub := b.Subscribe() // state changes; see events.WithKinds for more
	defer sub.Close()

	for range 2 {
		if p, err := b.Acquire(context.Background()); err == nil {
			p.Failure()
		}
	}
	fmt.Println(<-sub.C())

	clk.Add(10 * time.Second) // the open timeout elapses
	fmt.Println(<-sub.C())

	b.Reset()
	fmt.Println(<-sub.C())
	// Output:
	// search #1 state-changed closed → open (consecutive-failures 2)
	// search #2 state-changed open → half-open (open-timeout)
	// search #3 state-changed half-open → closed (manual)
}
