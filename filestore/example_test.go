package filestore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/breakerlabs/breaker"
	"github.com/breakerlabs/breaker/filestore"
)

// A breaker that tripped before a restart comes back Open for the time it
// had left.
func Example() {
	dir, err := os.MkdirTemp("", "filestore-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "breakers.json")
	cfg := breaker.DefaultConfig()
	cfg.ConsecutiveFailures = 1

	// The first run trips "payments", then stops.
	run := func(trip bool) {
		st, err := filestore.Open(path)
		if err != nil {
			log.Fatal(err)
		}
		defer st.Close() // after the supervisor's Close
		sup := breaker.NewSupervisor(breaker.WithStateStore(st))
		defer sup.Close()
		b, err := sup.GetOrCreate("payments", cfg)
		if err != nil {
			log.Fatal(err)
		}
		if trip {
			p, err := b.Acquire(context.Background())
			if err == nil {
				p.Failure()
			}
			for b.State() != breaker.Open {
				time.Sleep(time.Millisecond)
			}
			return // Close saves what is pending
		}
		m := b.Metrics()
		fmt.Println(m.State, time.Until(m.OpenUntil) > 0)
	}
	run(true)
	run(false)
	// Output: open true
}
