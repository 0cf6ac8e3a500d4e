package dashboard

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// stalledWriter is a streaming http.ResponseWriter for a client that stops
// reading: from the first write that contains trigger on, every write
// blocks until unstall or close, or until the write deadline the handler
// set passes (then it fails, as a network write would).
type stalledWriter struct {
	mu       sync.Mutex
	hdr      http.Header
	buf      bytes.Buffer
	deadline time.Time
	trigger  string
	stalled  bool
	blocked  chan struct{} // closed when a write first blocks
	once     sync.Once
	free     chan struct{} // closed by unstall
	ctx      context.Context
	cancel   context.CancelFunc
}

func newStalledWriter(trigger string) *stalledWriter {
	ctx, cancel := context.WithCancel(context.Background())
	return &stalledWriter{hdr: http.Header{}, trigger: trigger, blocked: make(chan struct{}),
		free: make(chan struct{}), ctx: ctx, cancel: cancel}
}

func (w *stalledWriter) Header() http.Header { return w.hdr }
func (w *stalledWriter) WriteHeader(int)     {}
func (w *stalledWriter) Flush()              {}

func (w *stalledWriter) SetWriteDeadline(t time.Time) error {
	w.mu.Lock()
	w.deadline = t
	w.mu.Unlock()
	return nil
}

func (w *stalledWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.trigger != "" && bytes.Contains(p, []byte(w.trigger)) {
		w.stalled, w.trigger = true, ""
	}
	stalled, dl := w.stalled, w.deadline
	w.mu.Unlock()
	if stalled {
		w.once.Do(func() { close(w.blocked) })
		var expire <-chan time.Time
		if !dl.IsZero() {
			expire = time.After(time.Until(dl))
		}
		select {
		case <-w.free:
		case <-w.ctx.Done():
			return 0, context.Canceled
		case <-expire:
			return 0, os.ErrDeadlineExceeded
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

// unstall lets every write through from now on.
func (w *stalledWriter) unstall() {
	w.mu.Lock()
	w.stalled = false
	w.mu.Unlock()
	close(w.free)
}

// request returns a stream request whose context ends with close.
func (w *stalledWriter) request() *http.Request {
	return (&http.Request{Method: http.MethodGet, URL: mustURL("/api/stream"), Header: http.Header{}}).WithContext(w.ctx)
}

// close ends the request (the client went away).
func (w *stalledWriter) close() { w.cancel() }

func (w *stalledWriter) count(s string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Count(w.buf.String(), s)
}

func (w *stalledWriter) contains(s string) bool { return w.count(s) > 0 }

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
