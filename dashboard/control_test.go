package dashboard

import (
	"net/http"
	"strings"
	"testing"

	"github.com/breakerlabs/breaker"
)

func TestControlForbiddenWithoutWithControl(t *testing.T) {
	s := newSupervisor(t, "payments")
	_, srv := serve(t, s)
	b, _ := s.Get("payments")
	before := b.Metrics()
	for _, action := range []string{"reset", "force-open", "disable", "explode"} {
		code, hdr, body := do(t, http.MethodPost, srv.URL+"/api/breakers/payments/"+action, nil)
		if code != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", action, code)
		}
		if ct := hdr.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: Content-Type %q", action, ct)
		}
		if e := decode[apiError](t, body); !strings.Contains(e.Error, "WithControl") {
			t.Errorf("%s: error %q", action, e.Error)
		}
	}
	if after := b.Metrics(); after.State != breaker.Closed || after.Transitions != before.Transitions {
		t.Errorf("the breaker changed: %v, %d transitions", after.State, after.Transitions)
	}
}

func TestControlForbiddenWhenAllowSaysNo(t *testing.T) {
	s := newSupervisor(t, "payments")
	var asked int
	_, srv := serve(t, s, WithControl(func(r *http.Request) bool {
		asked++
		return r.Header.Get("Authorization") == "Bearer ok"
	}))
	b, _ := s.Get("payments")
	code, _, _ := do(t, http.MethodPost, srv.URL+"/api/breakers/payments/force-open", nil)
	if code != http.StatusForbidden || asked != 1 {
		t.Errorf("status %d after %d allow calls, want 403 after 1", code, asked)
	}
	if m := b.Metrics(); m.State != breaker.Closed || m.Transitions != 0 {
		t.Errorf("the breaker changed: %v", m.State)
	}
	code, _, body := do(t, http.MethodPost, srv.URL+"/api/breakers/payments/force-open",
		http.Header{"Authorization": {"Bearer ok"}})
	if code != http.StatusOK {
		t.Fatalf("allowed: %d %s", code, body)
	}
	if r := decode[controlResult](t, body); r.State != "forced-open" || r.Name != "payments" || r.Action != "force-open" {
		t.Errorf("result %+v", r)
	}
	if b.State() != breaker.ForcedOpen {
		t.Errorf("state %v, want forced-open", b.State())
	}
}

func TestControlActions(t *testing.T) {
	s := newSupervisor(t, "payments", "a/b c")
	_, srv := serve(t, s, WithControl(func(*http.Request) bool { return true }))
	b, _ := s.Get("a/b c")
	for _, tc := range []struct {
		action string
		want   breaker.State
	}{{"force-open", breaker.ForcedOpen}, {"reset", breaker.Closed}, {"disable", breaker.Disabled}, {"reset", breaker.Closed}} {
		code, _, body := do(t, http.MethodPost, srv.URL+"/api/breakers/a%2Fb%20c/"+tc.action, nil)
		if code != http.StatusOK {
			t.Fatalf("%s: %d %s", tc.action, code, body)
		}
		if got := b.State(); got != tc.want {
			t.Errorf("after %s: %v, want %v", tc.action, got, tc.want)
		}
	}
}

func TestControlErrors(t *testing.T) {
	s := newSupervisor(t, "payments")
	_, srv := serve(t, s, WithControl(func(*http.Request) bool { return true }))
	b, _ := s.Get("payments")
	for _, tc := range []struct {
		method, path string
		hdr          http.Header
		code         int
		msg          string
	}{
		{http.MethodPost, "/api/breakers/nosuch/reset", nil, http.StatusNotFound, `no breaker named "nosuch"`},
		{http.MethodPost, "/api/breakers/payments/explode", nil, http.StatusNotFound, `unknown action "explode"`},
		{http.MethodGet, "/api/breakers/payments/force-open", nil, http.StatusMethodNotAllowed, "use POST"},
		{http.MethodPost, "/api/breakers/payments/force-open",
			http.Header{"Sec-Fetch-Site": {"cross-site"}}, http.StatusForbidden, "cross-origin"},
		{http.MethodGet, "/api/nothing", nil, http.StatusNotFound, "no such endpoint"},
	} {
		code, hdr, body := do(t, tc.method, srv.URL+tc.path, tc.hdr)
		if code != tc.code {
			t.Errorf("%s %s: %d, want %d (%s)", tc.method, tc.path, code, tc.code, body)
			continue
		}
		if ct := hdr.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: Content-Type %q", tc.method, tc.path, ct)
		}
		if e := decode[apiError](t, body); !strings.Contains(e.Error, tc.msg) {
			t.Errorf("%s %s: error %q, want %q in it", tc.method, tc.path, e.Error, tc.msg)
		}
	}
	if m := b.Metrics(); m.State != breaker.Closed || m.Transitions != 0 {
		t.Errorf("a refused request changed the breaker: %v", m.State)
	}
}
