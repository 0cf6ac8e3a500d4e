package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/breakerlabs/breaker"
)

// The browser tests drive a real headless Chromium with chromedp, against
// pages served from 127.0.0.1. Without Chromium they skip, unless
// BREAKER_INTEGRATION=1 (CI), where they fail.

// chromium returns the path of the browser, or skips (or fails) the test.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("BREAKER_INTEGRATION") == "1" {
		t.Fatal("chromium is not installed, and BREAKER_INTEGRATION=1 needs it")
	}
	t.Skip("chromium not installed: browser tests skipped (BREAKER_INTEGRATION=1 makes this a failure)")
	return ""
}

// newBrowser starts a headless Chromium with a fresh profile; it stops at
// the end of the test.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := chromium(t)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // CI runs as root
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	start := time.Now()
	if err := chromedp.Do(bctx); err != nil { // starts the browser
		t.Fatalf("starting chromium: %v", err)
	}
	t.Logf("chromium started in %v", time.Since(start))
	return bctx
}

// console collects what a tab reports as errors: uncaught exceptions,
// console.error calls and, unless network errors are expected, error
// entries of the browser's log (CSP violations, failed loads).
type console struct {
	mu      sync.Mutex
	errs    []string
	network bool // ignore log entries from the network (a server that is down)
}

func (c *console) add(s string) {
	c.mu.Lock()
	c.errs = append(c.errs, s)
	c.mu.Unlock()
}

func (c *console) check(t *testing.T) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.errs {
		t.Errorf("browser console: %s", e)
	}
}

// newTab opens a tab whose errors go to the returned console.
func newTab(t *testing.T, browser context.Context, allowNetworkErrors bool) (context.Context, *console) {
	t.Helper()
	tab, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	c := &console{network: allowNetworkErrors}
	err := chromedp.Listen(tab, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			c.add(fmt.Sprintf("exception: %s at %s:%d:%d", msg, d.URL, d.LineNumber+1, d.ColumnNumber+1))
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				c.add("console." + string(ev.Type) + ": " + strings.Join(parts, " "))
			}
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.EntryLevelError && !(c.network && ev.Entry.Source == cdplog.EntrySourceNetwork) {
				c.add(fmt.Sprintf("log (%s): %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return tab, c
}

// listen returns a listener on a free 127.0.0.1 port.
func listen(t *testing.T, addr string) net.Listener {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// mount serves h under /admin/breakers/ on ln until the returned stop.
func mount(h *Handler, ln net.Listener) (stop func()) {
	mux := http.NewServeMux()
	mux.Handle("/admin/breakers/", http.StripPrefix("/admin/breakers", h))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	return func() {
		srv.Close()
		<-done
	}
}

// waitJS polls a JavaScript condition in the tab until it is true.
func waitJS(t *testing.T, tab context.Context, d time.Duration, what, cond string) {
	t.Helper()
	defer func(start time.Time) { t.Logf("%s: %v", what, time.Since(start)) }(time.Now())
	if _, err := chromedp.Run(tab, chromedp.Poll[bool](cond,
		chromedp.WithPollingInterval(10*time.Millisecond), chromedp.WithPollingTimeout(d))); err != nil {
		// What the page shows, to tell a slow page from a wrong one.
		page, _ := chromedp.Run(tab, chromedp.Evaluate[string](`JSON.stringify({conn: document.body.dataset.conn,
			snapshots: document.body.dataset.snapshots, msg: document.getElementById('msg').textContent,
			cards: [...document.querySelectorAll('[data-breaker]')].slice(0, 8).map(e => e.dataset.breaker + ':' + e.dataset.state)})`))
		t.Fatalf("waiting %v for %s (%s): %v\npage: %s", d, what, cond, err, page)
	}
}

func evalJS[T any](t *testing.T, tab context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(tab, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// card is the selector of a breaker's card.
func card(name string) string {
	b, _ := json.Marshal(name)
	return `[data-breaker=` + string(b) + `]`
}

// stateIs is a JavaScript condition: name's card shows state.
func stateIs(name, state string) string {
	n, _ := json.Marshal(name)
	return fmt.Sprintf(`[...document.querySelectorAll('[data-breaker]')].some(e => e.dataset.breaker === %s && e.dataset.state === %q)`, n, state)
}

const hostile = `x"><img src=x onerror=alert(1)>`

func TestBrowser(t *testing.T) {
	browser := newBrowser(t)
	s := newSupervisor(t, "payments", "search", "inventory", hostile)

	t.Run("page", func(t *testing.T) {
		h := New(s)
		defer h.Close()
		ln := listen(t, "")
		stop := mount(h, ln)
		defer stop()
		tab, con := newTab(t, browser, false)
		if err := chromedp.Do(tab, chromedp.Navigate("http://"+ln.Addr().String()+"/admin/breakers/")); err != nil {
			t.Fatal(err)
		}
		waitJS(t, tab, 15*time.Second, "the page to go live", `document.body.dataset.conn === 'live'`)
		if got := evalJS[int](t, tab, `document.querySelectorAll('[data-breaker]').length`); got != 4 {
			t.Errorf("%d cards, want 4", got)
		}
		if !evalJS[bool](t, tab, stateIs("payments", "closed")) {
			t.Error("payments is not shown closed")
		}
		if !evalJS[bool](t, tab, stateIs(hostile, "closed")) || evalJS[int](t, tab, `document.querySelectorAll('#cards img').length`) != 0 {
			t.Error("a breaker name was not rendered as text")
		}
		if n := evalJS[int](t, tab, `document.querySelectorAll('button[data-action]').length`); n != 0 {
			t.Errorf("%d admin buttons without control", n)
		}
		b, _ := s.Get("payments")
		b.ForceOpen()
		defer b.Reset()
		start := time.Now()
		waitJS(t, tab, 2*time.Second, "payments to show forced-open", stateIs("payments", "forced-open"))
		t.Logf("forced-open shown after %v", time.Since(start))
		// Filtering and sorting: open first; a filter leaves only matches.
		waitJS(t, tab, 2*time.Second, "payments first (sorted by state)",
			`document.querySelector('#cards [data-breaker]').dataset.breaker === 'payments'`)
		if err := chromedp.Do(tab, chromedp.SendKeys(chromedp.ID("filter"), "sea")); err != nil {
			t.Fatal(err)
		}
		waitJS(t, tab, 2*time.Second, "the filter", `document.querySelectorAll('[data-breaker]').length === 1 && !!document.querySelector('[data-breaker="search"]')`)
		con.check(t)
	})

	t.Run("control", func(t *testing.T) {
		h := New(s, WithControl(func(*http.Request) bool { return true }))
		defer h.Close()
		ln := listen(t, "")
		stop := mount(h, ln)
		defer stop()
		tab, con := newTab(t, browser, false)
		if err := chromedp.Do(tab, chromedp.Navigate("http://"+ln.Addr().String()+"/admin/breakers/")); err != nil {
			t.Fatal(err)
		}
		waitJS(t, tab, 15*time.Second, "the page to go live", `document.body.dataset.conn === 'live'`)
		if n := evalJS[int](t, tab, `document.querySelectorAll('button[data-action]').length`); n != 4*3 {
			t.Errorf("%d admin buttons, want 12", n)
		}
		b, _ := s.Get("inventory")
		click := func(action string) {
			t.Helper()
			sel := chromedp.CSS(card("inventory") + ` button[data-action="` + action + `"]`)
			if err := chromedp.Do(tab, chromedp.Click(sel)); err != nil {
				t.Fatal(err)
			}
			if b.State() != breaker.Closed && action == "force-open" {
				t.Fatal("one click acted: the buttons ask for a confirming click")
			}
			if err := chromedp.Do(tab, chromedp.Click(sel)); err != nil {
				t.Fatal(err)
			}
		}
		click("force-open")
		waitJS(t, tab, 5*time.Second, "inventory forced open", stateIs("inventory", "forced-open"))
		// Sorted by state, it moves first once the pointer leaves the cards.
		if err := chromedp.Do(tab, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 1, 1)); err != nil {
			t.Fatal(err)
		}
		waitJS(t, tab, 5*time.Second, "inventory first, with its reason", `document.querySelector('#cards [data-breaker]').dataset.breaker === 'inventory' &&
			document.querySelector('#cards [data-breaker] .why').textContent.startsWith('closed → forced-open: manual')`)
		if b.State() != breaker.ForcedOpen {
			t.Errorf("inventory is %v", b.State())
		}
		click("reset")
		waitJS(t, tab, 5*time.Second, "inventory closed", stateIs("inventory", "closed"))
		if b.State() != breaker.Closed {
			t.Errorf("inventory is %v", b.State())
		}
		con.check(t)
	})

	t.Run("a thousand breakers", func(t *testing.T) {
		many := newSupervisor(t)
		for i := range 1000 {
			if _, err := many.GetOrCreate(fmt.Sprintf("svc-%04d", i), breaker.DefaultConfig()); err != nil {
				t.Fatal(err)
			}
		}
		h := New(many, WithInterval(5*time.Second)) // no rates needed: keep the sampler quiet
		defer h.Close()
		ln := listen(t, "")
		stop := mount(h, ln)
		defer stop()
		tab, con := newTab(t, browser, false)
		if err := chromedp.Do(tab, chromedp.Navigate("http://"+ln.Addr().String()+"/admin/breakers/")); err != nil {
			t.Fatal(err)
		}
		waitJS(t, tab, 15*time.Second, "the page to go live", `document.body.dataset.conn === 'live'`)
		if n := evalJS[int](t, tab, `document.querySelectorAll('[data-breaker]').length`); n != 60 {
			t.Errorf("%d cards on a page, want 60", n)
		}
		if p := evalJS[string](t, tab, `document.getElementById('page').textContent`); p != "1/17" {
			t.Errorf("pager %q, want 1/17", p)
		}
		b, _ := many.Get("svc-0999")
		b.ForceOpen()
		waitJS(t, tab, 5*time.Second, "the forced-open breaker first on page 1",
			`document.querySelector('#cards [data-breaker]').dataset.breaker === 'svc-0999' && `+stateIs("svc-0999", "forced-open"))
		if err := chromedp.Do(tab, chromedp.Click(chromedp.ID("next"))); err != nil {
			t.Fatal(err)
		}
		waitJS(t, tab, 5*time.Second, "page 2", `document.getElementById('page').textContent === '2/17' && document.querySelector('#cards [data-breaker]').dataset.breaker === 'svc-0059'`)
		if err := chromedp.Do(tab, chromedp.SendKeys(chromedp.ID("filter"), "svc-07")); err != nil {
			t.Fatal(err)
		}
		waitJS(t, tab, 5*time.Second, "the filter", `document.querySelectorAll('[data-breaker]').length === 60 && document.getElementById('page').textContent === '1/2'`)
		// Stats for a thousand breakers keep coming without stalling the page.
		took := evalJS[float64](t, tab, `(() => { const t0 = performance.now(); for (let i = 0; i < 10; i++) document.getElementById('sort').dispatchEvent(new Event('change')); return (performance.now() - t0) / 10; })()`)
		t.Logf("a full render of 1000 breakers takes %.1f ms", took)
		if took > 200 {
			t.Errorf("a render takes %.0f ms", took)
		}
		con.check(t)
	})

	t.Run("server restart", func(t *testing.T) {
		h := New(s)
		defer h.Close()
		ln := listen(t, "")
		addr := ln.Addr().String()
		stop := mount(h, ln)
		tab, con := newTab(t, browser, true) // refused connections while down are expected
		if err := chromedp.Do(tab, chromedp.Navigate("http://"+addr+"/admin/breakers/")); err != nil {
			t.Fatal(err)
		}
		waitJS(t, tab, 15*time.Second, "the page to go live", `document.body.dataset.conn === 'live'`)
		stop() // the listener and every connection close
		waitJS(t, tab, 5*time.Second, "the page to notice", `document.body.dataset.conn === 'reconnecting'`)
		stop = mount(h, listen(t, addr)) // the same address again
		defer stop()
		waitJS(t, tab, 10*time.Second, "a new snapshot", `document.body.dataset.conn === 'live' && +document.body.dataset.snapshots >= 2`)
		b, _ := s.Get("search")
		b.Disable()
		defer b.Reset()
		waitJS(t, tab, 2*time.Second, "search disabled after the restart", stateIs("search", "disabled"))
		con.check(t)
	})
}

// TestBrowserScreenshot writes docs/dashboard.png: the dashboard during
// an outage, with live traffic. It runs only with BREAKER_SCREENSHOT=1.
func TestBrowserScreenshot(t *testing.T) {
	if os.Getenv("BREAKER_SCREENSHOT") != "1" {
		t.Skip("set BREAKER_SCREENSHOT=1 to write docs/dashboard.png")
	}
	browser := newBrowser(t)
	s := breaker.NewSupervisor()
	defer s.Close()
	h := New(s, WithInterval(250*time.Millisecond), WithHistory(30*time.Second),
		WithControl(func(*http.Request) bool { return true }))
	defer h.Close()
	ln := listen(t, "")
	stop := mount(h, ln)
	defer stop()

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	start := time.Now()
	traffic(ctx, t, s, &wg, start)
	tab, _ := newTab(t, browser, false)
	if err := chromedp.Do(tab, chromedp.Navigate("http://"+ln.Addr().String()+"/admin/breakers/")); err != nil {
		t.Fatal(err)
	}
	waitJS(t, tab, 15*time.Second, "the page to go live", `document.body.dataset.conn === 'live'`)
	// Let the sparklines fill, through the outage.
	waitJS(t, tab, 40*time.Second, "the outage", `document.querySelectorAll('[data-state="open"]').length >= 2`)
	time.Sleep(time.Until(start.Add(24 * time.Second))) // pacing a picture, not synchronisation
	png, err := chromedp.Run(tab, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join("..", "docs", "dashboard.png")
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", out, len(png))
}

// traffic runs a few services' worth of calls through breakers of s until
// ctx ends: most healthy, two in an outage from 8 s on, one slow, one
// forced open by an operator, one disabled.
func traffic(ctx context.Context, t *testing.T, s *breaker.Supervisor, wg *sync.WaitGroup, start time.Time) {
	t.Helper()
	cfg := breaker.DefaultConfig()
	cfg.Window = breaker.TimeWindow(5*time.Second, 10)
	cfg.MinimumCalls = 10
	cfg.SlowCallDuration = 80 * time.Millisecond
	cfg.SlowCallRate = 0.8
	cfg.OpenTimeout = 4 * time.Second
	type svc struct {
		name    string
		every   time.Duration
		latency time.Duration
		failPct func(since time.Duration) int
	}
	healthy := func(time.Duration) int { return 1 }
	outage := func(since time.Duration) int {
		if since > 8*time.Second {
			return 85
		}
		return 2
	}
	services := []svc{
		{"payments", 8 * time.Millisecond, 12 * time.Millisecond, outage},
		{"payments-refunds", 25 * time.Millisecond, 15 * time.Millisecond, outage},
		{"search", 5 * time.Millisecond, 20 * time.Millisecond, healthy},
		{"inventory", 10 * time.Millisecond, 35 * time.Millisecond, func(time.Duration) int { return 8 }},
		{"recommendations", 15 * time.Millisecond, 60 * time.Millisecond, healthy},
		{"shipping-quotes", 20 * time.Millisecond, 6 * time.Millisecond, healthy},
		{"user-profile", 6 * time.Millisecond, 4 * time.Millisecond, healthy},
		{"email", 40 * time.Millisecond, 30 * time.Millisecond, healthy},
		{"geo-lookup", 30 * time.Millisecond, 3 * time.Millisecond, healthy},
	}
	for _, sv := range services {
		b, err := s.GetOrCreate(sv.name, cfg)
		if err != nil {
			t.Fatal(err)
		}
		switch sv.name {
		case "email":
			b.ForceOpen()
		case "geo-lookup":
			b.Disable()
		}
		wg.Go(func() {
			for ctx.Err() == nil {
				fail := rand.IntN(100) < sv.failPct(time.Since(start))
				jitter := time.Duration(rand.IntN(5)) * sv.latency / 4
				b.Do(ctx, func(ctx context.Context) error {
					select {
					case <-time.After(sv.latency/2 + jitter):
					case <-ctx.Done():
					}
					if fail {
						return errors.New("backend failed")
					}
					return nil
				})
				select {
				case <-time.After(sv.every):
				case <-ctx.Done():
				}
			}
		})
	}
}
