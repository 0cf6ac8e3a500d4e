// Package dashboard serves a live view of a Supervisor's breakers and,
// when allowed, an admin endpoint to reset, force open or disable them.
//
// New returns an http.Handler that mounts under any prefix (every URL it
// uses is relative):
//
//	GET  ./                                   the page (HTML, one script, one stylesheet, all embedded)
//	GET  ./api/snapshot                       every breaker as JSON (a Snapshot)
//	GET  ./api/stream                         Server-Sent Events: a snapshot on connect,
//	                                          each state change as it happens, rates every interval
//	POST ./api/breakers/{name}/{action}       reset, force-open or disable (only with WithControl)
//
// The page needs no build step and no external asset; it runs under the
// strict Content-Security-Policy the handler sends with every response (no
// inline script or style). Each breaker is a card with data-breaker="NAME"
// and data-state="STATE" attributes (State.String()), updated live. The
// page pages its cards, so it stays usable with thousands of breakers.
//
// # Reading never changes a breaker
//
// The handler reads only Supervisor.Metrics, Breaker.Latencies,
// Breaker.Config and the supervisor's StateChanged events: reads that take
// no probe and cause no transition. Rates and latency quantiles are
// computed from the differences between two samples. The sampler reads
// the supervisor once per interval, and only while a stream client is
// connected (or when ./api/snapshot is asked).
//
// # Slow clients
//
// Each stream client has a bounded queue. Rate updates are coalesced (a
// client that is behind gets only the latest); a client that falls too far
// behind loses its queue and gets a fresh snapshot when it catches up.
// Every write has its own deadline (WithWriteTimeout), set through
// http.ResponseController, so a stalled client is dropped after that
// deadline, blocks no one meanwhile, and a long stream outlives an
// http.Server WriteTimeout.
//
// # Control
//
// Without WithControl every POST is refused with 403 and the breaker is
// untouched. With it, a request is carried out only if the allow function
// returns true for it and it passes http.CrossOriginProtection (a
// cross-site form or script cannot trigger it). Errors are JSON:
// {"error": "..."}.
package dashboard
