// Command fleetdemo shows fleet-wide breaker state on Redis: three
// instances of a service (a, b and c, each with its own Redis client,
// breakerredis.Store and Supervisor, in one process) call one flaky HTTP
// backend through breakerhttp. Instance a sends the most traffic, so it
// trips first when the backend fails; b and c follow within milliseconds
// (reason "remote"), having sent the failing backend almost nothing. When
// the open period ends, one instance holds the probe lease
// (WithSingleProber) and probes while the others stay Open; its verdict —
// reopen while the backend still fails, close once it has recovered —
// reaches the others the same way.
//
// Usage:
//
//	fleetdemo [-addr host:port]
//
// Without -addr it starts a private redis-server (no persistence) on a
// free 127.0.0.1 port and stops it at the end; with -addr it uses that
// server under a namespace of its own and deletes only its own keys.
// `make demo-fleet` runs it. It takes about 10 s.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
)

func main() {
	addr := flag.String("addr", "", "use this Redis (host:port) instead of starting a private redis-server")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "fleetdemo: unexpected arguments %q\n", flag.Args())
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, *addr, 1); err != nil {
		fmt.Fprintln(os.Stderr, "fleetdemo:", err)
		stop()
		os.Exit(1)
	}
}
