package prom_test

// Regression tests for defects found by attacking the collector (issue 10).

import (
	"net/http/httptest"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/breakerlabs/breaker/prom"
)

// TestRegressionInvalidUTF8NameKeepsScrapeWorking: one breaker whose name
// is not valid UTF-8 (a redirect to http://%ff/ through breakerhttp's
// Transport is enough to make one) made the collector panic and every
// /metrics request answer 500. Label values are made valid, and two names
// that become the same label value stay two distinct series.
func TestRegressionInvalidUTF8NameKeepsScrapeWorking(t *testing.T) {
	s, _ := newSupervisor(t)
	names := []string{"ok", "\xff", "\xfe", "\uFFFD", "pay\xffments"}
	for _, n := range names {
		getOrCreate(t, s, n)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(prom.NewCollector(s))

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	var got []string
	for _, mf := range mfs {
		if mf.GetName() != "circuitbreaker_failure_rate" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "name" {
					got = append(got, l.GetValue())
				}
			}
		}
	}
	slices.Sort(got)
	if len(slices.Compact(slices.Clone(got))) != len(names) {
		t.Errorf("name labels %q: want %d distinct values, one per breaker", got, len(names))
	}
	for _, v := range got {
		if !utf8.ValidString(v) {
			t.Errorf("label value %q is not valid UTF-8", v)
		}
	}
	if !slices.Contains(got, "ok") || !slices.Contains(got, "\uFFFD") {
		t.Errorf("name labels %q: valid names must be exported as they are", got)
	}

	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Errorf("/metrics answered %d: %s", rec.Code, rec.Body)
	}
}
