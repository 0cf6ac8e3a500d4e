package prom_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/breakerlabs/breaker"
	"github.com/breakerlabs/breaker/prom"
)

// hostileNames are breaker names the text format must escape or that are
// not valid UTF-8.
var hostileNames = []string{`quo"te`, `back\slash`, "new\nline", `\"\n`, "\xff", "pay\xffments", "\uFFFD", `name="x",kind="y"`, "}{ 1"}

// everyState gives s, besides populate's alpha (open, with a fallback)
// and beta (closed, measured), a half-open breaker, one forced open, one
// disabled, one that does not measure durations (no histogram), one with
// a count past the shared values and the hostile names in various states.
func everyState(t *testing.T, s *breaker.Supervisor, mk *clock.Mock) {
	t.Helper()
	populate(t, s, mk)
	h := getOrCreate(t, s, "gamma")
	trip(t, h, mk)
	mk.Add(time.Minute)
	if m := h.Metrics(); m.State != breaker.HalfOpen {
		t.Fatalf("gamma: state %v, want half-open", m.State)
	}
	getOrCreate(t, s, "delta").ForceOpen()
	getOrCreate(t, s, "epsilon").Disable()
	cfg := breaker.DefaultConfig() // no slow-call tracking, count window: no histogram
	plain, err := s.GetOrCreate("plain", cfg)
	if err != nil {
		t.Fatal(err)
	}
	for range 300 {
		call(t, plain, mk, time.Millisecond, success)
	}
	// A call longer than the last bucket's bound: the +Inf bucket holds
	// more than the last bound's.
	call(t, getOrCreate(t, s, "slow"), mk, 15*time.Second+time.Millisecond/3, success)
	// A sum the text format writes with an exponent (1e-05).
	call(t, getOrCreate(t, s, "quick"), mk, 10*time.Microsecond, success)
	for i, n := range hostileNames {
		b := getOrCreate(t, s, n)
		o := outcome(i % 3)
		if i%4 == 3 {
			o = success // trip's three failures in a row are what trip it
		}
		call(t, b, mk, time.Duration(i+1)*7*time.Millisecond, o)
		switch i % 4 {
		case 1:
			b.ForceOpen()
		case 2:
			b.Disable()
		case 3:
			trip(t, b, mk)
		}
	}
}

// scrapeHandler serves one request to h and returns the response.
func scrapeHandler(t *testing.T, h http.Handler, method string, header http.Header) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, "/metrics", nil)
	for k, vs := range header {
		req.Header[k] = vs
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

// handlerBody returns the body of a GET of h, failing unless it is a 200
// in the text format.
func handlerBody(t *testing.T, h http.Handler) []byte {
	t.Helper()
	resp := scrapeHandler(t, h, http.MethodGet, nil)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET: %d %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	return body
}

// promhttpBody returns what promhttp serves of a pedantic registry holding
// c to a scraper asking for the text format 0.0.4.
func promhttpBody(t *testing.T, c prometheus.Collector) []byte {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.PanicOnError}).ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("promhttp: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.Bytes()
}

// canon renders families as sorted lines, one per sample: name (escaped
// as a 0.0.4 scrape gets it), type, labels sorted by name and the value;
// the HELP texts; and the order of the families.
func canon(mfs []*dto.MetricFamily) []string {
	var out []string
	for _, mf := range mfs {
		name := model.EscapeName(mf.GetName(), model.UnderscoreEscaping)
		out = append(out, fmt.Sprintf("# %s %s %q", name, mf.GetType(), mf.GetHelp()))
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, fmt.Sprintf("%s=%q", model.EscapeName(l.GetName(), model.UnderscoreEscaping), l.GetValue()))
			}
			slices.Sort(ls)
			key := name + "{" + strings.Join(ls, ",") + "}"
			switch mf.GetType() {
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				for _, b := range h.GetBucket() {
					if !math.IsInf(b.GetUpperBound(), 1) { // the parser adds the +Inf bucket, a Gather has it implicit
						out = append(out, fmt.Sprintf("%s le=%v %d", key, b.GetUpperBound(), b.GetCumulativeCount()))
					}
				}
				out = append(out, fmt.Sprintf("%s sum %v count %d", key, h.GetSampleSum(), h.GetSampleCount()))
			case dto.MetricType_COUNTER:
				out = append(out, fmt.Sprintf("%s %v", key, m.GetCounter().GetValue()))
			default:
				out = append(out, fmt.Sprintf("%s %v", key, m.GetGauge().GetValue()))
			}
		}
	}
	slices.Sort(out)
	return out
}

// parseText parses a text-format body, failing on a parse error, and
// returns its families sorted by name.
func parseText(t *testing.T, body []byte) []*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parsing the handler's output: %v\n%s", err, body)
	}
	var mfs []*dto.MetricFamily
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for n := range fams {
			if !yield(n) {
				return
			}
		}
	}) {
		mfs = append(mfs, fams[name])
	}
	return mfs
}

// checkHandlerMatchesGather compares one GET of prom.Handler(s, opts...)
// with the collector of the same options: parsed, against a pedantic
// registry's Gather; as bytes, against promhttp's 0.0.4 output (which
// also checks the order of the families and of the series).
func checkHandlerMatchesGather(t *testing.T, s *breaker.Supervisor, h http.Handler, opts ...prom.Option) {
	t.Helper()
	body := handlerBody(t, h)
	got := canon(parseText(t, body))
	want := canon(gather(t, prom.NewCollector(s, opts...)))
	if !slices.Equal(got, want) {
		for _, l := range diffLines(got, want) {
			t.Error(l)
		}
	}
	if wantBody := promhttpBody(t, prom.NewCollector(s, opts...)); !bytes.Equal(body, wantBody) {
		t.Errorf("the handler's output differs from promhttp's:\n%s", strings.Join(diffLines(
			strings.Split(string(body), "\n"), strings.Split(string(wantBody), "\n")), "\n"))
	}
}

// diffLines returns the lines only in got (-) and only in want (+).
func diffLines(got, want []string) []string {
	in := func(l string, ls []string) bool { return slices.Contains(ls, l) }
	var d []string
	for _, l := range got {
		if !in(l, want) {
			d = append(d, fmt.Sprintf("handler only:   %q", l))
		}
	}
	for _, l := range want {
		if !in(l, got) {
			d = append(d, fmt.Sprintf("collector only: %q", l))
		}
	}
	if len(d) == 0 && len(got) != len(want) {
		d = append(d, fmt.Sprintf("%d lines, want %d", len(got), len(want)))
	}
	if len(d) == 0 {
		d = append(d, "same lines in another order")
	}
	return d
}

// TestHandlerMatchesCollector: for breakers in every state, with measured
// durations and without, and hostile names, the handler serves what the
// collector of the same options serves through a registry.
func TestHandlerMatchesCollector(t *testing.T) {
	s, mk := newSupervisor(t)
	everyState(t, s, mk)
	for _, tc := range []struct {
		name string
		opts []prom.Option
	}{
		{"default", nil},
		{"namespace", []prom.Option{prom.WithNamespace("resilience4j")}},
		{"const labels", []prom.Option{prom.WithConstLabels(prometheus.Labels{
			"a_first": `x"y\z` + "\n", "m_middle": "\uFFFD", "service": "checkout", "zone": ""})}},
		{"dashed namespace", []prom.Option{prom.WithNamespace("my-app"), prom.WithConstLabels(prometheus.Labels{"team.name": "core"}), nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkHandlerMatchesGather(t, s, prom.Handler(s, tc.opts...), tc.opts...)
		})
	}
}

// TestHandlerFollowsBreakers: one handler scraped again and again while
// breakers are removed, created again under the same name and renamed
// (an invalid name's label moving when a valid namesake comes and goes)
// serves each time what a fresh collector serves.
func TestHandlerFollowsBreakers(t *testing.T) {
	s, mk := newSupervisor(t)
	h := prom.Handler(s)
	check := func(step string) {
		t.Helper()
		t.Run(step, func(t *testing.T) { checkHandlerMatchesGather(t, s, h) })
	}
	check("empty")
	populate(t, s, mk)
	bad := getOrCreate(t, s, "\xff")
	bad.ForceOpen()
	check("populated")
	getOrCreate(t, s, "\uFFFD")
	check("a valid namesake takes the invalid name's label")
	s.Remove("alpha")
	check("alpha removed")
	getOrCreate(t, s, "alpha")
	check("alpha created again")
	s.Remove("\uFFFD")
	check("the namesake removed")
}

// TestHandlerEmpty: a supervisor without breakers gives an empty body, as
// an empty registry does.
func TestHandlerEmpty(t *testing.T) {
	s, _ := newSupervisor(t)
	if body := handlerBody(t, prom.Handler(s)); len(body) != 0 {
		t.Errorf("body %q, want empty", body)
	}
}

// TestHandlerMethods: HEAD gets the headers of a GET and no body; other
// methods get 405 with Allow.
func TestHandlerMethods(t *testing.T) {
	s, mk := newSupervisor(t)
	populate(t, s, mk)
	h := prom.Handler(s)
	resp := scrapeHandler(t, h, http.MethodHead, http.Header{"Accept-Encoding": {"gzip"}})
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || len(body) != 0 {
		t.Errorf("HEAD: %d with %d bytes, want 200 with none", resp.StatusCode, len(body))
	}
	if ct, ce := resp.Header.Get("Content-Type"), resp.Header.Get("Content-Encoding"); ct != "text/plain; version=0.0.4; charset=utf-8" || ce != "gzip" {
		t.Errorf("HEAD: Content-Type %q, Content-Encoding %q", ct, ce)
	}
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, "PATCH", "BREW"} {
		resp := scrapeHandler(t, h, m, nil)
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s: %d, Allow %q; want 405, GET, HEAD", m, resp.StatusCode, resp.Header.Get("Allow"))
		}
	}
}

// TestHandlerGzip: a scrape that accepts gzip gets the same text
// compressed; one that refuses it (q=0) or does not ask gets it plain.
func TestHandlerGzip(t *testing.T) {
	s, mk := newSupervisor(t)
	everyState(t, s, mk)
	h := prom.Handler(s)
	plain := handlerBody(t, h)
	for _, tc := range []struct {
		accept string
		zipped bool
	}{
		{"gzip", true},
		{"deflate, GZIP;q=0.5", true},
		{"x-gzip", true},
		{"*", true},
		{"gzip;q=0", false},
		{"gzip; q=0.000", false},
		{"br, deflate", false},
		{"", false},
	} {
		for range 2 { // the second takes the pooled writer back
			resp := scrapeHandler(t, h, http.MethodGet, http.Header{"Accept-Encoding": {tc.accept}})
			if got := resp.Header.Get("Content-Encoding") == "gzip"; got != tc.zipped {
				t.Fatalf("Accept-Encoding %q: Content-Encoding %q", tc.accept, resp.Header.Get("Content-Encoding"))
			}
			if !slices.Contains(resp.Header.Values("Vary"), "Accept-Encoding") {
				t.Errorf("Accept-Encoding %q: Vary %q", tc.accept, resp.Header.Values("Vary"))
			}
			var r io.Reader = resp.Body
			if tc.zipped {
				zr, err := gzip.NewReader(resp.Body)
				if err != nil {
					t.Fatalf("Accept-Encoding %q: %v", tc.accept, err)
				}
				r = zr
			}
			body, err := io.ReadAll(r)
			if err != nil {
				t.Fatalf("Accept-Encoding %q: %v", tc.accept, err)
			}
			if !bytes.Equal(body, plain) {
				t.Errorf("Accept-Encoding %q: body differs from the plain one (%d bytes, want %d)", tc.accept, len(body), len(plain))
			}
		}
	}
}

// TestHandlerBadOptions: options a registry would refuse for the
// collector, and a nil supervisor, make every GET a 500 that says why.
func TestHandlerBadOptions(t *testing.T) {
	s, mk := newSupervisor(t)
	populate(t, s, mk)
	for _, tc := range []struct {
		name string
		h    http.Handler
		want string
	}{
		{"const label name", prom.Handler(s, prom.WithConstLabels(prometheus.Labels{"name": "x"})), "duplicate label names"},
		{"const label kind", prom.Handler(s, prom.WithConstLabels(prometheus.Labels{"kind": "x"})), "duplicate label names"},
		{"reserved label", prom.Handler(s, prom.WithConstLabels(prometheus.Labels{"__x": "x"})), "__x"},
		{"nil supervisor", prom.Handler(nil), "nil Supervisor"},
	} {
		resp := scrapeHandler(t, tc.h, http.MethodGet, nil)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(string(body), tc.want) {
			t.Errorf("%s: %d %q; want 500 saying %q", tc.name, resp.StatusCode, body, tc.want)
		}
	}
}

// failingWriter is a ResponseWriter whose writes fail after the first
// okWrites, as when the scraper has gone away.
type failingWriter struct {
	header   http.Header
	okWrites int
	writes   int
}

func (w *failingWriter) Header() http.Header { return w.header }
func (w *failingWriter) WriteHeader(int)     {}
func (w *failingWriter) Write(p []byte) (int, error) {
	w.writes++
	if w.writes > w.okWrites {
		return 0, errors.New("connection reset by peer")
	}
	return len(p), nil
}

// TestHandlerStopsWhenClientGoesAway: once a write fails, the handler
// writes nothing more (and does not panic), plain or compressed.
func TestHandlerStopsWhenClientGoesAway(t *testing.T) {
	s := scaleSupervisor(t, 3_000) // about 4 MB of text
	h := prom.Handler(s)
	for _, accept := range []string{"", "gzip"} {
		for _, ok := range []int{0, 2} {
			w := &failingWriter{header: http.Header{}, okWrites: ok}
			req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			req.Header.Set("Accept-Encoding", accept)
			h.ServeHTTP(w, req)
			if w.writes != ok+1 {
				t.Errorf("Accept-Encoding %q, writes failing after %d: %d writes, want %d", accept, ok, w.writes, ok+1)
			}
		}
	}
}

// countingWriter counts the body bytes a handler tries to write.
type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (w countingWriter) Write(p []byte) (int, error) {
	w.n.Add(int64(len(p)))
	return w.ResponseWriter.Write(p)
}

// TestHandlerClientGoesAwayOverHTTP: a scraper that reads the first bytes
// of a large scrape and hangs up makes the handler stop writing well
// before the end of the text.
func TestHandlerClientGoesAwayOverHTTP(t *testing.T) {
	s := scaleSupervisor(t, 10_000)
	h := prom.Handler(s)
	full := len(handlerBody(t, h)) // about 14 MB, more than loopback's socket buffers
	var (
		served  = make(chan struct{}, 1)
		written atomic.Int64
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(countingWriter{w, &written}, r)
		served <- struct{}{}
	}))
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer client.CloseIdleConnections()
	resp, err := client.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close() // before the end: the transport closes the connection
	select {
	case <-served:
	case <-time.After(30 * time.Second):
		t.Fatal("the handler is still serving 30 s after the client went away")
	}
	if n := written.Load(); n >= int64(full) {
		t.Errorf("the handler wrote %d bytes of %d though the client went away after 1000", n, full)
	}
}

// TestHandlerConcurrentScrapes: scrapes in parallel while breakers are
// created, called and removed each parse, and show every breaker they
// show with all its series; once the churn stops, the handler serves
// what the collector does. Run with -race.
func TestHandlerConcurrentScrapes(t *testing.T) {
	s := breaker.NewSupervisor()
	defer s.Close()
	h := prom.Handler(s)
	var (
		stop     atomic.Bool
		churn    sync.WaitGroup
		scrapers sync.WaitGroup
		fails    = make(chan string, 16)
	)
	cfg := breaker.DefaultConfig()
	churn.Go(func() {
		for i := 0; !stop.Load(); i++ {
			name := fmt.Sprintf("b%d", i%40)
			if i%3 == 0 {
				s.Remove(name)
				continue
			}
			b, err := s.GetOrCreate(name, cfg)
			if err != nil {
				fails <- err.Error()
				return
			}
			if i%7 == 0 {
				b.ForceOpen()
			}
		}
	})
	for range 3 {
		scrapers.Go(func() {
			for range 30 {
				req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				p := expfmt.NewTextParser(model.LegacyValidation)
				fams, err := p.TextToMetricFamilies(rec.Body)
				if err != nil {
					fails <- err.Error()
					return
				}
				perName := map[string]int{}
				for _, mf := range fams {
					if mf.GetName() == "circuitbreaker_transitions_total" {
						continue
					}
					for _, m := range mf.GetMetric() {
						perName[labelOf(m, "name")]++
					}
				}
				for name, n := range perName {
					if n != 17 {
						fails <- fmt.Sprintf("%s has %d series, want 17", name, n)
						return
					}
				}
			}
		})
	}
	scrapers.Wait()
	stop.Store(true)
	churn.Wait()
	close(fails)
	for f := range fails {
		t.Error(f)
	}
	checkHandlerMatchesGather(t, s, h)
}
