package prom_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/breakerlabs/breaker"
	"github.com/breakerlabs/breaker/prom"
)

// Register a collector for a supervisor's breakers and serve it; every
// scrape reads the breakers as they are then.
func Example() {
	s := breaker.NewSupervisor()
	defer s.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(prom.NewCollector(s))
	// In a program: http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()

	b, _ := s.GetOrCreate("payments", breaker.DefaultConfig())
	_ = b.Do(context.Background(), func(context.Context) error { return nil })
	b.ForceOpen()
	_ = b.Do(context.Background(), func(context.Context) error { return nil }) // rejected

	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "circuitbreaker_state") || strings.HasPrefix(line, "circuitbreaker_calls_total") ||
			strings.HasPrefix(line, "circuitbreaker_transitions_total") {
			fmt.Println(line)
		}
	}
	srv.Client().CloseIdleConnections()
	// Output:
	// circuitbreaker_calls_total{kind="failed",name="payments"} 0
	// circuitbreaker_calls_total{kind="ignored",name="payments"} 0
	// circuitbreaker_calls_total{kind="not_permitted",name="payments"} 1
	// circuitbreaker_calls_total{kind="successful",name="payments"} 1
	// circuitbreaker_state{name="payments",state="closed"} 0
	// circuitbreaker_state{name="payments",state="disabled"} 0
	// circuitbreaker_state{name="payments",state="forced-open"} 1
	// circuitbreaker_state{name="payments",state="half-open"} 0
	// circuitbreaker_state{name="payments",state="open"} 0
	// circuitbreaker_transitions_total{from="closed",name="payments",to="forced-open"} 1
}

// Serve the breakers on a scrape path of their own, without a registry:
// the same series, in the text format, for a fraction of the cost when
// there are many breakers.
func ExampleHandler() {
	s := breaker.NewSupervisor()
	defer s.Close()

	// In a program: http.Handle("/metrics/breakers", prom.Handler(s))
	srv := httptest.NewServer(prom.Handler(s, prom.WithNamespace("resilience4j")))
	defer srv.Close()

	b, _ := s.GetOrCreate(`pay"ments`, breaker.DefaultConfig())
	b.ForceOpen()

	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	fmt.Println(resp.Header.Get("Content-Type"))
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if line := sc.Text(); strings.Contains(line, "circuitbreaker_state") {
			fmt.Println(line)
		}
	}
	srv.Client().CloseIdleConnections()
	// Output:
	// text/plain; version=0.0.4; charset=utf-8
	// # HELP resilience4j_circuitbreaker_state The state of the circuit breaker: 1 for the current state, 0 for the others.
	// # TYPE resilience4j_circuitbreaker_state gauge
	// resilience4j_circuitbreaker_state{name="pay\"ments",state="closed"} 0
	// resilience4j_circuitbreaker_state{name="pay\"ments",state="disabled"} 0
	// resilience4j_circuitbreaker_state{name="pay\"ments",state="forced-open"} 1
	// resilience4j_circuitbreaker_state{name="pay\"ments",state="half-open"} 0
	// resilience4j_circuitbreaker_state{name="pay\"ments",state="open"} 0
}
