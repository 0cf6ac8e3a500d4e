package dashboard

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/breakerlabs/breaker"
	"github.com/breakerlabs/breaker/events"
)

// Handler serves the dashboard of one Supervisor: the page, the JSON
// snapshot, the event stream and, with WithControl, the admin endpoint.
// Make one with New and Close it when done. It is safe for concurrent
// use: any number of requests may be served at once.
type Handler struct {
	sup *breaker.Supervisor
	o   options
	cop *http.CrossOriginProtection

	reg     chan *client       // a stream connected
	unreg   chan *client       // a stream ended
	resync  chan *client       // a stream needs a fresh snapshot
	snapReq chan chan<- []byte // ./api/snapshot asks for the JSON

	done      chan struct{} // closed by Close
	closeOnce sync.Once
	loopDone  chan struct{} // closed when the loop has returned

	// sampling reports whether the sampler's ticker runs (while at least
	// one stream is connected); written by the loop, read by tests.
	sampling atomic.Bool

	// testBeforeRegister, if set, runs in each stream after the headers
	// are sent and before its client is registered (tests only).
	testBeforeRegister func(*client)

	mu       sync.Mutex     // guards isClosed and streams.Add
	isClosed bool           // set by Close before done is closed
	broken   string         // why the API cannot work (a nil Supervisor)
	streams  sync.WaitGroup // the streams being served
}

// New returns a dashboard over s. It starts one goroutine, which follows
// s's state changes (so the page can show why each breaker last changed
// state) and, while a stream client is connected, samples s every
// interval; Close stops it. New never changes a breaker. With a nil s
// the handler starts nothing and its API answers 500 with an error.
func New(s *breaker.Supervisor, opts ...Option) *Handler {
	o := defaultOptions()
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	h := &Handler{
		sup:      s,
		o:        o,
		cop:      http.NewCrossOriginProtection(),
		reg:      make(chan *client),
		unreg:    make(chan *client),
		resync:   make(chan *client),
		snapReq:  make(chan chan<- []byte),
		done:     make(chan struct{}),
		loopDone: make(chan struct{}),
	}
	if s == nil {
		h.isClosed, h.broken = true, "dashboard: New was given a nil Supervisor"
		close(h.done)
		close(h.loopDone)
		return h
	}
	sub := s.Subscribe(events.WithBuffer(eventBuffer)) // StateChanged, ActorRestarted, StoreFailed
	go h.loop(sub)
	return h
}

// Close ends every stream, stops the handler's goroutine and waits for
// them (a stream stuck in a write ends at its write deadline). Afterwards
// the page is still served, while the API answers 503. Close is
// idempotent and returns nil.
func (h *Handler) Close() error {
	h.closeOnce.Do(func() {
		if h.broken != "" {
			return
		}
		h.mu.Lock()
		h.isClosed = true
		h.mu.Unlock()
		close(h.done)
	})
	<-h.loopDone
	h.streams.Wait()
	return nil
}

// enterStream counts a stream in, unless the handler is closed.
func (h *Handler) enterStream() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.isClosed {
		return false
	}
	h.streams.Add(1)
	return true
}

func (h *Handler) closed() bool {
	select {
	case <-h.done:
		return true
	default:
		return false
	}
}

// ServeHTTP serves the dashboard. It routes on the end of the path, so the
// handler works mounted under any prefix, with or without
// http.StripPrefix: …/ is the page, …/app.js, …/app.css and …/favicon.svg
// its assets, …/api/snapshot, …/api/stream and
// …/api/breakers/{name}/{action} the API (name path-escaped).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w.Header())
	p := r.URL.EscapedPath()
	segs := strings.Split(p, "/")
	last := segs[len(segs)-1]
	seg := func(i int) string { // the i-th segment from the end (1: the last)
		if i > len(segs) {
			return ""
		}
		return segs[len(segs)-i]
	}
	switch {
	case h.broken != "" && strings.Contains(p, "/api/"):
		writeError(w, http.StatusInternalServerError, h.broken)
	case p == "":
		redirectToDir(w, r)
	case seg(2) == "api" && last == "snapshot":
		h.serveSnapshot(w, r)
	case seg(2) == "api" && last == "stream":
		h.serveStream(w, r)
	case seg(4) == "api" && seg(3) == "breakers":
		name, err := url.PathUnescape(seg(2))
		if err != nil || name == "" {
			writeError(w, http.StatusBadRequest, "bad breaker name in path")
			return
		}
		h.serveControl(w, r, name, last)
	case seg(2) == "api" || (seg(3) == "api" && seg(2) == "breakers"):
		writeError(w, http.StatusNotFound, "no such endpoint")
	case last == "" || last == "index.html":
		serveAsset(w, r, "index.html")
	case last == "app.js" || last == "app.css" || last == "favicon.svg":
		serveAsset(w, r, last)
	case strings.Contains(p, "/api/"):
		writeError(w, http.StatusNotFound, "no such endpoint")
	default:
		http.NotFound(w, r)
	}
}

// redirectToDir sends a request for the mount point without its trailing
// slash (…/breakers) to …/breakers/, relative to where the browser is, so
// that the page's relative URLs resolve under the mount point.
func redirectToDir(w http.ResponseWriter, r *http.Request) {
	base := r.URL.Path
	if u, err := url.ParseRequestURI(r.RequestURI); err == nil {
		base = u.Path
	}
	base = base[strings.LastIndexByte(base, '/')+1:]
	if base == "" {
		http.NotFound(w, r)
		return
	}
	loc := (&url.URL{Path: base + "/"}).EscapedPath()
	if strings.Contains(base, ":") {
		loc = "./" + loc // not a scheme
	}
	w.Header().Set("Location", loc)
	w.WriteHeader(http.StatusTemporaryRedirect)
}
