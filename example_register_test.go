package breaker_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/benbjohnson/clock"
	"github.com/breakerlabs/breaker"
)

// A breaker made by New joins a supervisor with Register: its events then
// reach the supervisor's subscribers, and the supervisor closes it. A
// second breaker of the same name is refused with ErrExists. Clear closes
// them all and leaves the supervisor ready for more.
func ExampleSupervisor_Register() {
	mk := clock.NewMock()
	s := breaker.NewSupervisor(breaker.WithClock(mk))
	defer s.Close()

	own, _ := breaker.New("payments", breaker.DefaultConfig(), breaker.WithClock(mk))
	if err := s.Register(own); err != nil {
		fmt.Println(err)
	}
	twin, _ := breaker.New("payments", breaker.DefaultConfig(), breaker.WithClock(mk))
	defer twin.Close()
	err := s.Register(twin)
	fmt.Println(errors.Is(err, breaker.ErrExists), err)

	b, _ := s.GetOrCreate("payments", breaker.Config{}) // the registered one
	fmt.Println(b == own, s.Names())

	s.Clear()
	_, err = own.Acquire(context.Background())
	fmt.Println(s.Names(), errors.Is(err, breaker.ErrStopped))
	// Output:
	// true breaker: name already taken: "payments"
	// true [payments]
	// [] true
}
