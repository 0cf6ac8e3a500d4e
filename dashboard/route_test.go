package dashboard

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/breakerlabs/breaker"
)

// FuzzServeHTTP: no path, method or name makes the handler panic or
// hang; every API error is JSON, every answer has the CSP, and nothing
// but a POST to an action of an existing breaker changes one.
func FuzzServeHTTP(f *testing.F) {
	for _, p := range []string{"/", "", "//", "/api/", "/api/breakers/", "/api/breakers//reset",
		"/api/breakers/a/b/c/reset", "/api/breakers/%2e%2e/reset", "/api/breakers/a%2Fb/reset",
		"/x/api/snapshot", "/api/stream/extra", "/app.js/", "/index.html", "/api/breakers/payments/force-open"} {
		f.Add("GET", p)
		f.Add("POST", p)
	}
	s := breakerSupervisorForFuzz(f)
	h := New(s, WithControl(func(*http.Request) bool { return true }))
	f.Cleanup(func() { h.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // a stream returns at once
	f.Fuzz(func(t *testing.T, method, path string) {
		if method != "GET" && method != "POST" && method != "HEAD" {
			method = "PUT"
		}
		u, err := url.Parse(path)
		if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" {
			return
		}
		r := (&http.Request{Method: method, URL: &url.URL{Path: u.Path, RawPath: u.RawPath}, Header: http.Header{},
			RequestURI: u.RequestURI()}).WithContext(ctx)
		b, _ := s.Get("payments")
		before := b.Metrics().Transitions
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		segs := strings.Split(u.EscapedPath(), "/")
		seg := func(i int) string {
			if i > len(segs) {
				return ""
			}
			return segs[len(segs)-i]
		}
		api := seg(2) == "api" || seg(3) == "api" && seg(2) == "breakers" || seg(4) == "api" && seg(3) == "breakers"
		if api && w.Code != http.StatusOK {
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("%s %q: %d with Content-Type %q", method, path, w.Code, ct)
			}
		}
		if w.Header().Get("Content-Security-Policy") == "" {
			t.Errorf("%s %q: no CSP", method, path)
		}
		if method != "POST" && b.Metrics().Transitions != before {
			t.Fatalf("%s %q changed a breaker", method, path)
		}
		b.Reset()
	})
}

func breakerSupervisorForFuzz(f *testing.F) *breaker.Supervisor {
	s := breaker.NewSupervisor()
	f.Cleanup(func() { s.Close() })
	if _, err := s.GetOrCreate("payments", breaker.DefaultConfig()); err != nil {
		f.Fatal(err)
	}
	return s
}
