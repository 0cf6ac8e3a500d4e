package breaker_test

// The Go snippets of README.md, each in a function that compiles it as it
// is printed there, so they cannot rot: TestReadmeSnippetsAreHere fails
// when a snippet of README.md is not found, line for line, in this file or
// in a readme_test.go of a nested module (breakerotel/readme_test.go: the
// root module cannot import those). Change a snippet in both places. The functions provide what a snippet
// takes from its surroundings (ctx, a client, a supervisor...) as
// parameters; the few that are safe to run are run.

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/breakerlabs/breaker"
	"github.com/breakerlabs/breaker/breakerhttp"
	"github.com/breakerlabs/breaker/breakerlog"
	"github.com/breakerlabs/breaker/dashboard"
	"github.com/breakerlabs/breaker/events"
	"github.com/breakerlabs/breaker/filestore"
	"github.com/breakerlabs/breaker/prom"
)

// readmeQuickStart is the first snippet; it leaves the breaker's final
// Metrics in out.
func readmeQuickStart(ctx context.Context, client *http.Client, req *http.Request, out *breaker.Metrics) error {
	b, err := breaker.New("payments", breaker.DefaultConfig())
	if err != nil {
		log.Fatal(err) // every Config problem at once, on one line, each naming its field
	}
	defer b.Close()

	p, err := b.Acquire(ctx) // errors.Is(err, breaker.ErrOpen) while open: don't call
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err == nil {
		defer resp.Body.Close()
		if resp.StatusCode >= 500 {
			err = fmt.Errorf("payments: %s", resp.Status) // a 5xx is no Go error: make it one
		}
	}
	p.Done(err) // nil: success; an error: failure (context.Canceled: ignored)

	*out = b.Metrics()
	return nil
}

// readmeConfiguration is the Configuration snippet.
func readmeConfiguration() breaker.Config {
	cfg := breaker.DefaultConfig()
	cfg.FailureRate = 0.3                            // trip at 30% failures…
	cfg.Window = breaker.TimeWindow(time.Minute, 12) // …over the last minute, in 5 s buckets
	cfg.SlowCallDuration, cfg.SlowCallRate = 2*time.Second, 0.5
	cfg.CallTimeout = 3 * time.Second // used by Do / Execute
	if err := cfg.Validate(); err != nil {
		log.Fatal(err)
	}

	return cfg
}

// Quote and what the Calling snippet calls.
type Quote struct{ Price float64 }

var cachedQuote = Quote{Price: 1}

func callTheService(context.Context) error      { return nil }
func fetchQuote(context.Context) (Quote, error) { return Quote{Price: 2}, nil }
func readmeUse(...any)                          {}
func isAdmin(*http.Request) bool                { return false }

var quoteHandler http.Handler = http.NotFoundHandler()

// readmeCalling is the "Calling through a breaker" snippet.
func readmeCalling(ctx context.Context, b *breaker.Breaker) error {
	// Around any call: Acquire, then report once.
	p, err := b.Acquire(ctx)
	if err != nil {
		return err
	}
	p.Done(callTheService(ctx))

	// Or let the library do it: CallTimeout applied, panics counted as failures
	// and re-panicked, fn's own error returned unchanged.
	//lint:ignore SA4006 the README shows each way in turn
	err = b.Do(ctx, func(ctx context.Context) error { return callTheService(ctx) })

	//lint:ignore SA4006 the README shows both calls
	quote, err := breaker.Execute(ctx, b, fetchQuote) // any Circuit: *Breaker or *MutexBreaker
	quote, err = breaker.ExecuteWithFallback(ctx, b, fetchQuote,
		func(ctx context.Context, rejection error) (Quote, error) { return cachedQuote, nil })

	readmeUse(quote, err)
	return err
}

// readmeSupervisor is the "Supervisor and events" snippet.
func readmeSupervisor(cfg breaker.Config, own *breaker.Breaker) error {
	s := breaker.NewSupervisor() // or breaker.Default(), process-wide
	defer s.Close()              // stops every actor; no goroutine left
	//lint:ignore SA4006 the README shows each call in turn
	b, err := s.GetOrCreate("payments", cfg) // one breaker per name; cfg only if it is new
	err = s.Register(own)                    // adopt a breaker made by New (ErrExists if the name is taken)
	s.Clear()                                // remove and close them all; s stays usable

	sub := s.Subscribe(events.WithKinds(events.StateChanged), events.WithBuffer(128))
	go func() {
		for e := range sub.C() {
			log.Print(e) // payments #3 state-changed closed → open (failure-rate 0.62)
		}
	}()

	readmeUse(b)
	return err
}

// readmePrometheus is the Prometheus snippet (compiled, not run: it
// registers on http.DefaultServeMux).
func readmePrometheus(s *breaker.Supervisor) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prom.NewCollector(s)) // the supervisor your breakers live in
	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))

	http.Handle("/metrics/breakers", prom.Handler(s)) // a scrape job of its own
}

// readmeHTTP is the HTTP snippet (compiled, not run: it calls out).
func readmeHTTP(s *breaker.Supervisor, b *breaker.Breaker) error {
	// Client: one breaker per host, in a supervisor.
	//lint:ignore SA4006 the README shows each call in turn
	t, err := breakerhttp.NewTransport(s, breaker.DefaultConfig())
	client := &http.Client{Transport: t}
	_, err = client.Get("https://api.example.com/quote") // errors.Is(err, breaker.ErrOpen) while open

	// Server: protect a handler; rejections get 503 with Retry-After.
	http.Handle("/quote", breakerhttp.Middleware(b)(quoteHandler))

	return err
}

// readmeLogging is the slog snippet of "Logging and tracing".
func readmeLogging(sup *breaker.Supervisor) {
	stop := breakerlog.Attach(sup, slog.Default()) // WithLevel(breaker.Open, slog.LevelError) to change a level
	defer stop()                                   // logs what is pending; no goroutine left
}

// readmeDashboard is the Dashboard snippet.
func readmeDashboard(s *breaker.Supervisor, mux *http.ServeMux) {
	dash := dashboard.New(s, dashboard.WithControl(isAdmin)) // isAdmin(*http.Request) bool; omit it for read-only
	defer dash.Close()
	mux.Handle("/admin/breakers/", http.StripPrefix("/admin/breakers", dash))
}

// readmeStateAcrossRestarts is the State across restarts snippet.
func readmeStateAcrossRestarts(cfg breaker.Config) error {
	st, err := filestore.Open("/var/lib/myservice/breakers.json") // ErrLocked if another process has it
	if err != nil {
		return err
	}
	defer st.Close()                                       // after the supervisor's Close
	s := breaker.NewSupervisor(breaker.WithStateStore(st)) // loads the file once
	defer s.Close()                                        // flushes what is pending (at most 1 s)
	b, err := s.GetOrCreate("payments", cfg)               // Open for the time left, if it was
	_ = b
	return err
}

// readmeConfigFiles is the Configuration files and reload snippet.
func readmeConfigFiles(ctx context.Context, sup *breaker.Supervisor, data []byte) error {
	cs, err := breaker.ParseConfigSet(data) // every problem at once; nothing applied
	if err != nil {
		return err
	}
	if err := sup.Apply(cs); err != nil { // live breakers: their entry, else the defaults
		return err
	}
	b, err := sup.GetOrCreate("orders", cs.Config("orders")) // a new breaker, from the set
	if err != nil {
		return err
	}
	_ = b
	go breaker.WatchConfigFile(ctx, "/etc/myservice/breakers.json", sup, // re-applies it when it changes
		breaker.WatchOnError(func(err error) { log.Print(err) })) // a bad file changes nothing
	return nil
}

var (
	_ = readmeConfigFiles
	_ = readmeStateAcrossRestarts
	_ = readmePrometheus
	_ = readmeHTTP
)

// TestReadmeSnippetsAreHere: every ```go block of README.md is in this
// file, line for line (leading and repeated spaces aside), so that the
// compiler checks what the README shows.
func TestReadmeSnippetsAreHere(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("*/readme_test.go")
	var here string
	for _, f := range append([]string{"readme_test.go"}, files...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		here += normalize(string(b))
	}
	blocks := regexp.MustCompile("(?ms)^```go\n(.*?)^```").FindAllStringSubmatch(string(readme), -1)
	if len(blocks) == 0 {
		t.Fatal("README.md has no Go snippet")
	}
	for _, b := range blocks {
		if !strings.Contains(here, normalize(b[1])) {
			t.Errorf("this README.md snippet is not in readme_test.go (add it there, in a function, as it is):\n%s", b[1])
		}
	}
}

var spaces = regexp.MustCompile(`[ \t]+`)

// normalize trims every line, collapses runs of spaces and drops empty
// lines and linter directives, so that indentation, gofmt's comment
// alignment and a //lint:ignore do not matter.
func normalize(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(spaces.ReplaceAllString(l, " ")); l != "" && !strings.HasPrefix(l, "//lint:") {
			out = append(out, l)
		}
	}
	return "\n" + strings.Join(out, "\n") + "\n"
}

// TestRegressionReadmeQuickStartCounts5xx: the README's first snippet
// reported p.Done(err) after client.Do, and an HTTP 5xx comes back with a
// nil error: a new user's 500s were counted as successes (twelve of them
// left the breaker Closed with no failure). The snippet now turns a 5xx
// into an error.
func TestRegressionReadmeQuickStartCounts5xx(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	req, _ := http.NewRequest("GET", srv.URL, nil)
	var m breaker.Metrics
	if err := readmeQuickStart(context.Background(), client, req, &m); err != nil {
		t.Fatal(err)
	}
	if m.Failures != 1 || m.Successes != 0 {
		t.Errorf("a 500 through the README's first snippet: %d failures, %d successes; want 1, 0", m.Failures, m.Successes)
	}
}

// TestReadmeSnippetsRun runs the snippets that touch nothing outside.
func TestReadmeSnippetsRun(t *testing.T) {
	cfg := readmeConfiguration()
	b, err := breaker.New("quotes", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := readmeCalling(context.Background(), b); err != nil {
		t.Errorf("the Calling snippet: %v", err)
	}
	own, err := breaker.New("own", cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := readmeSupervisor(cfg, own); err != nil && !errors.Is(err, breaker.ErrExists) {
		t.Errorf("the Supervisor snippet: %v", err)
	}
	s := breaker.NewSupervisor()
	defer s.Close()
	readmeDashboard(s, http.NewServeMux())
	readmeLogging(s)
}
