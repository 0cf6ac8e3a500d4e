package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/breakerlabs/breaker"
	"github.com/breakerlabs/breaker/breakerhttp"
	"github.com/breakerlabs/breaker/dashboard"
	"github.com/breakerlabs/breaker/events"
	"github.com/breakerlabs/breaker/filestore"
	"github.com/breakerlabs/breaker/prom"
)

// config is the command line.
type config struct {
	duration time.Duration
	clients  int
	listen   string // dashboard and metrics address; "" for none
	state    string // state file (filestore); "" for none
	config   string // a config set file (breaker.ParseConfigSet), reloaded on SIGHUP; "" for none
}

const (
	breakerName    = "backend"
	clientTimeout  = time.Second
	pacing         = 20 * time.Millisecond // a client's pause between calls, ±25%
	fallbackHeader = "X-Breakerdemo-Fallback"
)

// breakerConfig is the breaker's configuration for a run of duration d:
// a small count window so that it reacts within a few dozen calls, the
// failure and slow-call rates both on, and an open timeout of d/20
// (1 s for the default 20 s run) growing 1.5× per failed recovery, so
// that the breaker recovers well within each phase.
func breakerConfig(d time.Duration) breaker.Config {
	open := max(d/20, 50*time.Millisecond)
	return breaker.Config{
		Window:            breaker.CountWindow(20),
		MinimumCalls:      10,
		FailureRate:       0.5,
		SlowCallDuration:  slowCall,
		SlowCallRate:      0.5,
		OpenTimeout:       open,
		BackoffMultiplier: 1.5,
		MaxOpenTimeout:    open * 3 / 2,
		HalfOpen: breaker.HalfOpenPolicy{
			MaxProbes:        2,
			Mode:             breaker.Strict,
			SuccessThreshold: 3,
			MaxWait:          2 * clientTimeout,
		},
	}
}

// stats counts the clients' calls by the phase they started in.
type stats struct {
	calls, ok, failed, rejected, fallbacks [numPhases]atomic.Int64
}

// totals returns the calls and rejections counted so far, every phase.
func (st *stats) totals() (calls, rejected int64) {
	for i := range numPhases {
		calls += st.calls[i].Load()
		rejected += st.rejected[i].Load()
	}
	return calls, rejected
}

// run runs the demo and writes its timeline and summary to out. It
// returns when the run is over (or ctx is done) and everything it started
// has stopped.
func run(ctx context.Context, out io.Writer, c config) (err error) {
	if c.duration <= 0 {
		return fmt.Errorf("-duration must be positive, got %v", c.duration)
	}
	if c.clients < 1 {
		return fmt.Errorf("-clients must be at least 1, got %d", c.clients)
	}
	cfg := breakerConfig(c.duration)
	if c.config != "" {
		out = &syncWriter{w: out}
		cs, err := loadConfigSet(c.config)
		if err != nil {
			return fmt.Errorf("-config: %w", err)
		}
		cfg = cs.Config(breakerName)
	}

	// The flaky backend.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	start := time.Now()
	srv := &http.Server{Handler: backend(start, c.duration), ReadHeaderTimeout: 5 * time.Second}
	srvDone := make(chan struct{})
	go func() {
		defer close(srvDone)
		srv.Serve(ln)
	}()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if srv.Shutdown(sctx) != nil {
			srv.Close()
		}
		<-srvDone
	}()

	// The breaker's supervisor, and the timeline of its events. With
	// -state, the breaker's state is kept in a file across restarts.
	var supOpts []breaker.Option
	if c.state != "" {
		st, err := filestore.Open(c.state)
		if err != nil {
			return fmt.Errorf("-state: %w", err)
		}
		defer st.Close() // after the supervisor's Close (deferred below)
		supOpts = append(supOpts, breaker.WithStateStore(st))
		cfg = stateConfig(cfg)
	}
	sup := breaker.NewSupervisor(supOpts...)
	defer sup.Close() // also on early returns; closing twice is fine
	var st stats
	tl := newTimeline(out, start, c.duration)
	tl.st = &st
	sub := sup.Subscribe(events.WithBuffer(1024))
	// The run ends by cancellation, not a deadline, so that the calls it
	// cuts short end with context.Canceled, which the Transport ignores,
	// rather than count as failures.
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopTimer := time.AfterFunc(c.duration-time.Since(start), cancel)
	defer stopTimer.Stop()
	tlDone := make(chan struct{})

	// Metrics, if asked for.
	var metricsURL string
	if c.listen != "" {
		mln, err := net.Listen("tcp", c.listen)
		if err != nil {
			return fmt.Errorf("-listen: %w", err)
		}
		reg := prometheus.NewRegistry()
		reg.MustRegister(prom.NewCollector(sup))
		dash := dashboard.New(sup)
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		mux.Handle("/", dash)
		msrv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		mDone := make(chan struct{})
		go func() {
			defer close(mDone)
			msrv.Serve(mln)
		}()
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			if msrv.Shutdown(sctx) != nil {
				msrv.Close()
			}
			<-mDone
		}()
		defer dash.Close() // before the server's shutdown: it ends the live streams
		metricsURL = "http://" + mln.Addr().String() + "/metrics"
	}

	// The clients' transport: the breaker in front of a plain
	// http.Transport, with a fallback serving the last good answer.
	var cache atomic.Pointer[string]
	next := &http.Transport{MaxIdleConnsPerHost: c.clients, DisableCompression: true}
	defer next.CloseIdleConnections()
	tr, err := breakerhttp.NewTransport(sup, cfg,
		breakerhttp.WithNext(next),
		breakerhttp.WithKey(func(*http.Request) string { return breakerName }),
		breakerhttp.WithFallback(func(req *http.Request, rejection error) (*http.Response, error) {
			body := cache.Load()
			if body == nil {
				return nil, rejection // nothing cached yet
			}
			return &http.Response{
				Status:     "200 OK",
				StatusCode: http.StatusOK,
				Proto:      "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
				Header: http.Header{fallbackHeader: {"stale"}},
				Body:   io.NopCloser(strings.NewReader(*body)),
			}, nil
		}))
	if err != nil {
		return err
	}
	hc := &http.Client{Transport: tr, Timeout: clientTimeout}

	tl.header(c, cfg, "http://"+ln.Addr().String(), metricsURL)
	if c.state != "" {
		b, err := sup.GetOrCreate(breakerName, cfg) // the Transport's breaker, restored now
		if err != nil {
			return err
		}
		restored(out, c.state, b.Metrics(), sup.StoreErr())
	}
	go func() {
		defer close(tlDone)
		tl.run(runCtx, sub)
	}()
	if c.config != "" {
		stopReload := reloadOnHangup(runCtx, out, c.config, sup)
		defer stopReload()
	}

	var wg sync.WaitGroup
	url := "http://" + ln.Addr().String() + "/quote"
	for range c.clients {
		wg.Go(func() { client(runCtx, hc, url, start, c.duration, &st, &cache) })
	}
	wg.Wait()
	end := time.Now()
	m, _ := sup.Get(breakerName)
	var bm breaker.Metrics
	if m != nil {
		bm = m.Metrics()
	}
	sup.Close() // closes sub: the timeline drains it and stops
	<-tlDone
	tl.summary(c, end, &st, bm, ctx.Err() != nil)
	if c.state != "" {
		saved(out, c.state, bm, sup.StoreErr())
	}
	return nil
}

// client calls the backend until ctx is done, counting the outcomes by
// phase. Calls cut short by the end of the run are not counted.
func client(ctx context.Context, hc *http.Client, url string, start time.Time, d time.Duration,
	st *stats, cache *atomic.Pointer[string]) {
	for ctx.Err() == nil {
		i, _ := phaseAt(time.Since(start), d)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := hc.Do(req)
		var body []byte
		if err == nil {
			body, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		if ctx.Err() != nil {
			return
		}
		st.calls[i].Add(1)
		switch {
		case errors.Is(err, breaker.ErrOpen), errors.Is(err, breaker.ErrTooManyProbes):
			st.rejected[i].Add(1) // not sent, and nothing cached to fall back on
		case err != nil:
			st.failed[i].Add(1) // connection error or timeout
		case resp.Header.Get(fallbackHeader) != "":
			st.rejected[i].Add(1)
			st.fallbacks[i].Add(1)
		case resp.StatusCode >= 500:
			st.failed[i].Add(1)
		default:
			st.ok[i].Add(1)
			s := string(body)
			cache.Store(&s)
		}
		jitter := time.Duration(float64(pacing) * (0.75 + 0.5*rand.Float64()))
		t := time.NewTimer(jitter)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
}
