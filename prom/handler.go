package prom

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/breakerlabs/breaker"
)

// handler is the http.Handler Handler returns: the series of NewCollector
// written in the text format straight from each scrape's rows.
type handler struct {
	reader
	text *textFormat
	err  error // the options' error, answered to every scrape
}

// Handler returns an http.Handler that serves the metrics of every breaker
// of s, read at request time, in the Prometheus text exposition format
// 0.0.4, without a registry: mount it on its own path, e.g.
//
//	http.Handle("/metrics/breakers", prom.Handler(breaker.Default()))
//
// It serves exactly the series a registry holding NewCollector(s, opts...)
// serves through promhttp (the same names, HELP, types, labels and values,
// families sorted by name and series in the registry's order), but writes
// each line straight from the breaker's values into a pooled buffer: a
// scrape allocates a few hundred bytes per breaker where a registry's
// Gather allocates about 4 KB (see the package doc). It has no registry's
// checks and cannot be merged with other collectors' metrics on one path.
//
// Like the collector it keeps each breaker's name label from one scrape to
// the next, and forgets a breaker once a scrape finds it gone.
//
// GET gets the metrics, gzip-compressed if the request accepts gzip (as
// Prometheus's scrapes do): that divides the body by about 29 for about
// 1.4 µs of CPU per breaker (see the package doc); to serve it plain,
// delete the request's Accept-Encoding header before calling the handler.
// HEAD gets the headers alone and reads no breaker; any other method gets 405 Method Not Allowed. A client that goes
// away is noticed at the next write (every 32 KB or so) and the scrape
// stops there. If s is nil, or the options are ones a registry would refuse
// for NewCollector (a constant label named name, kind, state, from or to,
// or an invalid label name), every GET answers 500 with the error. Names
// that are not legacy Prometheus names (a namespace with a dash, say) are
// written with underscores, as promhttp writes them for a 0.0.4 scrape.
// Safe for concurrent scrapes.
func Handler(s *breaker.Supervisor, opts ...Option) http.Handler {
	h := &handler{}
	if s == nil {
		h.err = errors.New("prom: Handler with a nil Supervisor")
		return h
	}
	// The checks a registry makes of NewCollector's descriptors.
	if err := prometheus.NewRegistry().Register(NewCollector(s, opts...)); err != nil {
		h.err = fmt.Errorf("prom: Handler: %w", err)
		return h
	}
	o := newOptions(opts)
	h.reader = newReader(s, func(b *breaker.Breaker, label string) *entry {
		return &entry{b: b, label: label, esc: escapeLabelValue(label)}
	})
	h.text = newTextFormat(o)
	return h
}

// gzipLevel is the compression level of a gzip-encoded scrape: on this
// very repetitive text, level 3 measured faster than gzip.BestSpeed (865
// against 692 MB/s) and compresses a little better (29× against 28×).
const gzipLevel = 3

var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzipLevel)
	return w
}}

// ServeHTTP serves one scrape. Safe for concurrent use.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "prom: "+r.Method+" not allowed: use GET", http.StatusMethodNotAllowed)
		return
	}
	if h.err != nil {
		http.Error(w, h.err.Error(), http.StatusInternalServerError)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", contentType)
	hdr.Add("Vary", "Accept-Encoding")
	zip := acceptsGzip(r.Header.Values("Accept-Encoding"))
	if zip {
		hdr.Set("Content-Encoding", "gzip")
	}
	if r.Method == http.MethodHead {
		return
	}
	var out io.Writer = w
	if zip {
		gz := gzipWriters.Get().(*gzip.Writer)
		gz.Reset(w)
		defer func() {
			gz.Reset(nil)
			gzipWriters.Put(gz)
		}()
		out = gz
		defer gz.Close() // before the Reset above: the gzip trailer
	}
	tw := getTextWriter(out)
	defer tw.put()
	h.write(tw)
}

// write reads every breaker the supervisor has now and writes its
// series to tw, family by family in name order, stopping at the first
// write error.
func (h *handler) write(tw *textWriter) {
	entries := h.entries()
	sc := scrape{rows: make([]row, len(entries))}
	for r, e := range entries {
		sc.read(r, e)
	}
	t := h.text
	for _, f := range t.order {
		switch {
		case f == famCallsSeconds:
			if len(sc.hists) == 0 {
				continue
			}
			tw.buf = append(tw.buf, t.header[f]...)
			for hs := range sc.histograms() {
				if h.writeHist(tw, hs) {
					return
				}
			}
		case f == famTransitions:
			if len(sc.trans) == 0 {
				continue
			}
			tw.buf = append(tw.buf, t.header[f]...)
			for ts := range sc.transitions() {
				tw.series(t.name[f], &t.trans[ts.from][ts.to], ts.e.esc, "} ", ts.v)
				if tw.full() {
					return
				}
			}
		default:
			if len(sc.rows) == 0 {
				continue
			}
			tw.buf = append(tw.buf, t.header[f]...)
			for rw, i := range sc.rowSeries(f) {
				tw.series(t.name[f], &t.series[i], rw.e.esc, "} ", rw.v[i])
				if tw.full() {
					return
				}
			}
		}
	}
	tw.flush()
}

// writeHist writes the lines of one histogram, and reports whether
// writing has failed.
func (h *handler) writeHist(tw *textWriter, hs *histSample) bool {
	t := h.text
	a, esc := &t.hist[hs.kind], hs.e.esc
	var last uint64
	for i := range bounds {
		if hs.count != 0 && i < len(hs.cum) {
			last = hs.cum[i]
		}
		tw.series(t.bucketName, a, esc, t.le[i], float64(last))
	}
	tw.series(t.bucketName, a, esc, t.le[len(bounds)], float64(hs.count))
	tw.series(t.sumName, a, esc, "} ", hs.sum)
	tw.series(t.countName, a, esc, "} ", float64(hs.count))
	return tw.full()
}

// acceptsGzip reports whether Accept-Encoding header values vs accept
// gzip: a gzip or x-gzip coding (or *) whose q is not 0.
func acceptsGzip(vs []string) bool {
	for _, v := range vs {
		for c := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(c, ";")
			coding = strings.ToLower(strings.TrimSpace(coding))
			if coding != "gzip" && coding != "x-gzip" && coding != "*" {
				continue
			}
			if q, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok && strings.Trim(q, "0.") == "" {
				continue // q=0: refused
			}
			return true
		}
	}
	return false
}
