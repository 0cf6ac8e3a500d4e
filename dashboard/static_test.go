package dashboard

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func TestPageIsSmallSelfContainedAndStrict(t *testing.T) {
	total := 0
	for name, a := range assets {
		total += len(a.body)
		if name == "favicon.svg" {
			continue
		}
		body := string(a.body)
		// Every URL is relative: no scheme, no host, no leading slash.
		for _, m := range regexp.MustCompile(`(?:src|href)="([^"]*)"|(?:EventSource|fetch)\('([^']*)'`).FindAllStringSubmatch(body, -1) {
			u := m[1] + m[2]
			if strings.HasPrefix(u, "/") || strings.Contains(u, "//") {
				t.Errorf("%s: non-relative URL %q", name, u)
			}
		}
		if strings.Contains(body, "http://") && !strings.Contains(body, "http://www.w3.org/2000/svg") {
			t.Errorf("%s: refers to another origin", name)
		}
	}
	if total >= 50<<10 {
		t.Errorf("page is %d bytes, want < 50 KB", total)
	}
	html := string(assets["index.html"].body)
	if regexp.MustCompile(`<script(?:\s[^>]*)?>[^<]`).MatchString(html) || !strings.Contains(html, `<script src="app.js"`) {
		t.Error("index.html has inline script")
	}
	if regexp.MustCompile(`\son[a-z]+=|\sstyle=|<style`).MatchString(html) {
		t.Error("index.html has inline handlers or styles")
	}
}

func TestMountsUnderAPrefix(t *testing.T) {
	s := newSupervisor(t, "payments")
	h := New(s)
	defer h.Close()
	mux := http.NewServeMux()
	mux.Handle("/admin/breakers/", http.StripPrefix("/admin/breakers", h))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, tc := range []struct {
		path, ctype string
	}{
		{"/admin/breakers/", "text/html; charset=utf-8"},
		{"/admin/breakers/app.js", "text/javascript; charset=utf-8"},
		{"/admin/breakers/app.css", "text/css; charset=utf-8"},
		{"/admin/breakers/favicon.svg", "image/svg+xml"},
		{"/admin/breakers/api/snapshot", "application/json"},
	} {
		code, hdr, _ := get(t, srv.URL+tc.path)
		if code != http.StatusOK || hdr.Get("Content-Type") != tc.ctype {
			t.Errorf("%s: %d %q", tc.path, code, hdr.Get("Content-Type"))
		}
		csp := hdr.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP %q", tc.path, csp)
		}
	}
	if code, _, _ := get(t, srv.URL+"/admin/breakers/nothing"); code != http.StatusNotFound {
		t.Errorf("unknown file: %d", code)
	}

	// The mount point without its slash redirects into it, relatively.
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/admin/breakers", nil)
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// ServeMux redirects /admin/breakers itself; h does the same when it
	// sees the bare prefix (StripPrefix of the exact prefix).
	if resp.StatusCode/100 != 3 || resp.Header.Get("Location") != "/admin/breakers/" {
		t.Errorf("bare mount point: %d → %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	rec := httptest.NewRecorder()
	bare := httptest.NewRequest(http.MethodGet, "/admin/breakers", nil)
	http.StripPrefix("/admin/breakers", h).ServeHTTP(rec, bare)
	if rec.Code != http.StatusTemporaryRedirect || rec.Header().Get("Location") != "breakers/" {
		t.Errorf("handler at the bare prefix: %d → %q", rec.Code, rec.Header().Get("Location"))
	}
}

func TestAssetsRevalidate(t *testing.T) {
	s := newSupervisor(t)
	_, srv := serve(t, s)
	_, hdr, _ := get(t, srv.URL+"/app.js")
	etag := hdr.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	code, _, _ := do(t, http.MethodGet, srv.URL+"/app.js", http.Header{"If-None-Match": {etag}})
	if code != http.StatusNotModified {
		t.Errorf("revalidation: %d, want 304", code)
	}
	if code, _, _ := do(t, http.MethodPost, srv.URL+"/", nil); code != http.StatusMethodNotAllowed {
		t.Errorf("POST page: %d", code)
	}
}

func TestNilSupervisor(t *testing.T) {
	h := New(nil)
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, p := range []string{"/api/snapshot", "/api/stream", "/api/breakers/x/reset"} {
		if code, _, body := get(t, srv.URL+p); code != http.StatusInternalServerError || !strings.Contains(body, "nil Supervisor") {
			t.Errorf("%s: %d %s", p, code, body)
		}
	}
	if code, _, _ := get(t, srv.URL+"/"); code != http.StatusOK {
		t.Errorf("page: %d", code)
	}
	if err := h.Close(); err != nil {
		t.Error(err)
	}
}
