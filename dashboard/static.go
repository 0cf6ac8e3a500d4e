package dashboard

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"net/http"
	"path"
	"time"
)

//go:embed static
var staticFS embed.FS

// asset is one embedded file, read once.
type asset struct {
	body  []byte
	etag  string
	ctype string
}

var assets = loadAssets()

func loadAssets() map[string]asset {
	types := map[string]string{
		".html": "text/html; charset=utf-8",
		".js":   "text/javascript; charset=utf-8",
		".css":  "text/css; charset=utf-8",
		".svg":  "image/svg+xml",
	}
	m := make(map[string]asset)
	for _, name := range []string{"index.html", "app.js", "app.css", "favicon.svg"} {
		b, err := staticFS.ReadFile("static/" + name)
		if err != nil {
			panic("dashboard: missing embedded " + name) // a build error, caught by every test
		}
		sum := sha256.Sum256(b)
		m[name] = asset{body: b, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, ctype: types[path.Ext(name)]}
	}
	return m
}

// contentSecurityPolicy allows the page nothing but its own script,
// stylesheet, icon and API: no inline script or style, no other origin, no
// framing.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// securityHeaders sets the headers every response carries.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

// serveAsset serves an embedded file (GET or HEAD), revalidated by ETag.
func serveAsset(w http.ResponseWriter, r *http.Request, name string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	a := assets[name]
	w.Header().Set("Content-Type", a.ctype)
	w.Header().Set("ETag", a.etag)
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.body))
}
