package breakerhttp_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/breakerlabs/breaker"
	"github.com/breakerlabs/breaker/breakerhttp"
)

// WithConfigSet: each host's breaker is made with the set's entry named by
// the host, else the set's defaults; the Transport's own Config is unused.
func TestTransportWithConfigSet(t *testing.T) {
	cs, err := breaker.ParseConfigSet([]byte(`{
		"defaults": {"preset": "lenient"},
		"breakers": {"api.example.com": {"preset": "aggressive", "halfOpen": {"maxProbes": 2}}}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	sup := breaker.NewSupervisor()
	defer sup.Close()
	ok := rtFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
	})
	tr, err := breakerhttp.NewTransport(sup, testConfig(), breakerhttp.WithConfigSet(cs), breakerhttp.WithNext(ok))
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"https://api.example.com/x", "https://other.example.com/y"} {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		resp.Body.Close()
	}
	api, ok1 := sup.Get("api.example.com")
	other, ok2 := sup.Get("other.example.com")
	if !ok1 || !ok2 {
		t.Fatalf("breakers: %v", sup.Names())
	}
	if c := api.Config(); c.FailureRate != breaker.AggressiveConfig().FailureRate || c.HalfOpen.MaxProbes != 2 {
		t.Errorf("api.example.com: %+v, want the aggressive preset with 2 probes", c)
	}
	if c := other.Config(); c.Window.Size != breaker.LenientConfig().Window.Size || c.FailureRate != breaker.LenientConfig().FailureRate {
		t.Errorf("other.example.com: %+v, want the lenient defaults", c)
	}

	bad := breaker.ConfigSet{Defaults: breaker.DefaultConfig(), Breakers: map[string]breaker.Config{"h": {}}}
	if _, err := breakerhttp.NewTransport(sup, testConfig(), breakerhttp.WithConfigSet(bad)); err == nil ||
		!strings.Contains(err.Error(), `Breakers["h"]`) {
		t.Fatalf("NewTransport with an invalid set: %v", err)
	}
}
