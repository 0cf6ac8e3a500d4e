// Package breakerhttp puts circuit breakers of package breaker on both
// sides of HTTP.
//
// # Client side: Transport
//
// Transport is an http.RoundTripper with one breaker per key, by default
// the request's host, created on first use in a breaker.Supervisor:
//
//	sup := breaker.NewSupervisor()
//	defer sup.Close()
//	tr, err := breakerhttp.NewTransport(sup, breaker.DefaultConfig())
//	if err != nil {
//		return err
//	}
//	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
//	resp, err := client.Get("https://api.example.com/items")
//	if errors.Is(err, breaker.ErrOpen) {
//		// not sent: the host's breaker is open (or its Retry-After is pending)
//	}
//
// Transport errors, 5xx and 429 responses are failures; other responses
// (4xx included) are successes; a cancelled request is ignored. The
// outcome is reported as soon as the response headers arrive, and every
// response, failures included, is handed to the caller unchanged. A
// request the breaker rejects is never sent: RoundTrip returns a
// *RejectedError at once (or a fallback response, WithFallback). A 429 or
// 503 with Retry-After holds the host's requests back for that long, up to
// the Config's MaxOpenTimeout (WithMaxRetryAfter). See Transport.
//
// # Server side: Middleware
//
// Middleware protects a handler with any breaker.Circuit. While the
// circuit rejects, requests get 503 Service Unavailable with a Retry-After
// header and never reach the handler; otherwise the handler's 5xx
// responses and panics count as failures:
//
//	b, err := breaker.New("search", breaker.DefaultConfig())
//	if err != nil {
//		return err
//	}
//	defer b.Close()
//	http.Handle("/search", breakerhttp.Middleware(b)(searchHandler))
//
// # Time
//
// Both read the time only to turn deadlines into Retry-After durations
// and back. Tests that drive breakers with a clock.Mock
// (breaker.WithClock) should pass the same clock with WithClock.
package breakerhttp
