// Breakerdemo shows a circuit breaker at work: it starts a flaky backend on
// loopback whose error rate and latency follow a script (healthy → outage →
// slow → recovery), drives it with concurrent clients through a
// breakerhttp.Transport, prints every state transition from the event
// stream as it happens, and ends with a summary of what the breaker spared
// the backend.
//
// Usage:
//
//	go run ./cmd/breakerdemo [-duration 20s] [-clients 8] [-listen 127.0.0.1:9090]
//
// With -listen it serves Prometheus metrics at /metrics while it runs. It
// exits 0 on its own when the script ends.
package main
