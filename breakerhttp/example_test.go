package breakerhttp_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlabs/breaker"
	"github.com/breakerlabs/breaker/breakerhttp"
)

// A client whose requests to a failing host stop being sent once the
// host's breaker trips.
func ExampleNewTransport() {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	}))
	defer backend.Close()

	sup := breaker.NewSupervisor()
	defer sup.Close()
	cfg := breaker.DefaultConfig()
	cfg.ConsecutiveFailures = 3
	tr, err := breakerhttp.NewTransport(sup, cfg)
	if err != nil {
		panic(err)
	}
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()

	for range 4 {
		resp, err := client.Get(backend.URL)
		switch {
		case errors.Is(err, breaker.ErrOpen):
			fmt.Println("not sent: the breaker is open")
		case err != nil:
			fmt.Println("error:", err)
		default:
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			fmt.Println(resp.Status)
		}
		sup.Metrics() // let the breaker act on each outcome before the next request
	}
	for _, m := range sup.Metrics() {
		fmt.Printf("%d failures, %d rejected, %v\n", m.Failures, m.Rejected, m.State)
	}
	// Output:
	// 503 Service Unavailable
	// 503 Service Unavailable
	// 503 Service Unavailable
	// not sent: the breaker is open
	// 3 failures, 1 rejected, open
}

// A fallback answers the requests the breaker does not send.
func ExampleWithFallback() {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer backend.Close()

	sup := breaker.NewSupervisor()
	defer sup.Close()
	cfg := breaker.DefaultConfig()
	cfg.ConsecutiveFailures = 1
	tr, _ := breakerhttp.NewTransport(sup, cfg,
		breakerhttp.WithFallback(func(req *http.Request, rejection error) (*http.Response, error) {
			return &http.Response{
				Status:     "200 OK (cached)",
				StatusCode: http.StatusOK,
				Header:     http.Header{"X-From-Cache": {"1"}},
			}, nil
		}))
	client := &http.Client{Transport: tr}
	defer client.CloseIdleConnections()

	for range 2 {
		resp, err := client.Get(backend.URL)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		fmt.Println(resp.Status)
		sup.Metrics()
	}
	// Output:
	// 502 Bad Gateway
	// 200 OK (cached)
}

// A handler behind a breaker: once it trips, clients get 503 with a
// Retry-After header, and the handler is left alone.
func ExampleMiddleware() {
	mk := clock.NewMock() // a mock clock makes Retry-After predictable here
	cfg := breaker.DefaultConfig()
	cfg.ConsecutiveFailures = 2
	b, err := breaker.New("reports", cfg, breaker.WithClock(mk))
	if err != nil {
		panic(err)
	}
	defer b.Close()

	reports := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "database unavailable", http.StatusInternalServerError)
	})
	srv := httptest.NewServer(breakerhttp.Middleware(b, breakerhttp.WithClock(mk))(reports))
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()

	for range 3 {
		resp, err := client.Get(srv.URL)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		if ra := resp.Header.Get("Retry-After"); ra != "" {
			fmt.Println(resp.Status, "Retry-After:", ra)
		} else {
			fmt.Println(resp.Status)
		}
		b.Metrics()
		mk.Add(10 * time.Second)
	}
	// Output:
	// 500 Internal Server Error
	// 500 Internal Server Error
	// 503 Service Unavailable Retry-After: 20
}
