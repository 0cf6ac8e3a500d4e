// Command breakerdemo shows a circuit breaker at work: it starts a flaky
// HTTP backend on 127.0.0.1, drives it with concurrent clients through a
// breakerhttp.Transport, prints the breaker's state transitions as they
// happen, and ends with a summary.
//
// The backend follows a script scaled to -duration: healthy (20% of the
// run), an outage where 90% of requests fail with 503 (20%), a slow phase
// where latency climbs from 10 ms to 400 ms (35%), and recovery (25%).
// The breaker trips on the failure rate in the outage and on the slow-call
// rate in the slow phase, and recovers through half-open probes after
// each.
//
// Usage:
//
//	breakerdemo [-duration 20s] [-clients 8] [-listen 127.0.0.1:8080] [-state demo-state.json] [-config breakers.json]
//
// With -config it configures its breaker from that file (a config set, as
// breaker.ParseConfigSet reads it: the entry "backend", else the
// defaults), and re-reads it on SIGHUP (kill -HUP <pid>): a good file is
// applied at once, keeping the breaker's state and window; a bad one is
// reported and changes nothing.
//
// With -state it keeps the breaker's state in that file (package
// filestore) and stays open 10 s per trip, long enough to outlast a
// restart: stop it during the outage (Ctrl-C) and start it again, and the
// breaker comes back open for the time it had left, which it says.
//
// With -listen it serves, on that address while it runs, the live
// dashboard (package dashboard) at / and the breaker's Prometheus metrics
// at /metrics, and prints both URLs first. It exits 0 when the run is over, or early
// on an interrupt, after shutting everything down.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"
)

// about is what -h prints before the flags.
const about = `breakerdemo shows a circuit breaker at work. It starts a flaky HTTP
backend on 127.0.0.1 and drives it with concurrent clients through a
breakerhttp.Transport (package github.com/breakerlabs/breaker). The backend
is healthy, then fails 90% of requests, then slows down, then recovers;
the demo prints each phase and each state transition of the breaker as it
happens, a heartbeat line (state, calls/s, rejected/s) when nothing else
happened for a second, and a summary at the end (also on Ctrl-C).

Usage:

	breakerdemo [-duration 20s] [-clients 8] [-listen 127.0.0.1:8080] [-config breakers.json]

Flags:
`

// usage prints the description and the flags of fs to its output.
func usage(fs *flag.FlagSet) func() {
	return func() {
		fmt.Fprint(fs.Output(), about)
		fs.PrintDefaults()
	}
}

func main() {
	flag.Usage = usage(flag.CommandLine)
	var c config
	flag.DurationVar(&c.duration, "duration", 20*time.Second, "how long the demo runs; the backend's script scales to it")
	flag.IntVar(&c.clients, "clients", 8, "concurrent clients")
	flag.StringVar(&c.state, "state", "", "keep the breaker's state in this file across restarts (stop the demo during the outage and start it again: the breaker comes back open for the time it had left)")
	flag.StringVar(&c.config, "config", "", "configure the breaker from this JSON config set file (the entry \"backend\", else the defaults; see breaker.ParseConfigSet), and reload it on SIGHUP")
	flag.StringVar(&c.listen, "listen", "", "serve the live dashboard at / and Prometheus metrics at /metrics on this address while running (e.g. 127.0.0.1:8080)")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "breakerdemo: unexpected arguments %q\n", flag.Args())
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, c); err != nil {
		fmt.Fprintln(os.Stderr, "breakerdemo:", err)
		stop()
		os.Exit(1)
	}
}
