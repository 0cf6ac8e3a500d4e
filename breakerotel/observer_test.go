package breakerotel_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/breakerlabs/breaker"
	"github.com/breakerlabs/breaker/breakerhttp"
	"github.com/breakerlabs/breaker/breakerotel"
)

func newTracer(t *testing.T) (trace.Tracer, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp.Tracer("test"), rec
}

// spanView is what a test checks of an ended span.
type spanView struct {
	name   string
	attrs  []attribute.KeyValue
	events []eventView
	status codes.Code
}

type eventView struct {
	name  string
	attrs []attribute.KeyValue
}

func view(s sdktrace.ReadOnlySpan) spanView {
	v := spanView{name: s.Name(), attrs: s.Attributes(), status: s.Status().Code}
	for _, e := range s.Events() {
		v.events = append(v.events, eventView{e.Name, e.Attributes})
	}
	return v
}

func rejected(name, state, errType string) eventView {
	return eventView{"circuit_breaker.rejected", []attribute.KeyValue{
		attribute.String("circuit_breaker.name", name),
		attribute.String("circuit_breaker.state", state),
		attribute.String("error.type", errType),
	}}
}

func equalSpans(t *testing.T, got []sdktrace.ReadOnlySpan, want []spanView) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d spans ended, want %d", len(got), len(want))
	}
	for i := range want {
		g := view(got[i])
		if g.name != want[i].name || g.status != want[i].status ||
			!equalKVs(g.attrs, want[i].attrs) || len(g.events) != len(want[i].events) {
			t.Fatalf("span %d:\n got %+v\nwant %+v", i, g, want[i])
		}
		for j := range want[i].events {
			if g.events[j].name != want[i].events[j].name || !equalKVs(g.events[j].attrs, want[i].events[j].attrs) {
				t.Fatalf("span %d event %d:\n got %+v\nwant %+v", i, j, g.events[j], want[i].events[j])
			}
		}
	}
}

func equalKVs(a, b []attribute.KeyValue) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestObserverSpans runs one span per Acquire through a breaker's states
// on a mock clock and checks every span exactly: admissions in Closed
// leave it untouched, a probe is marked with attributes, each rejection
// adds one event with the state and the error type, and no status is ever
// set.
func TestObserverSpans(t *testing.T) {
	tracer, rec := newTracer(t)
	mk := newMock()
	s := breaker.NewSupervisor(breaker.WithClock(mk), breaker.WithCallObserver(breakerotel.NewObserver()))
	defer s.Close()
	b, err := s.GetOrCreate("payments", testConfig())
	if err != nil {
		t.Fatal(err)
	}
	inSpan := func(name string, f func(ctx context.Context)) {
		ctx, span := tracer.Start(context.Background(), name)
		f(ctx)
		span.End()
	}
	acquire := func(ctx context.Context) (breaker.Permit, error) { return b.Acquire(ctx) }

	inSpan("closed", func(ctx context.Context) { call(t, ctx, b, 'F') })
	call(t, context.Background(), b, 'F') // no span: nothing to mark
	call(t, context.Background(), b, 'F')
	waitState(t, b, breaker.Open)
	inSpan("open", func(ctx context.Context) {
		if _, err := acquire(ctx); !errors.Is(err, breaker.ErrOpen) {
			t.Fatalf("Acquire in Open: %v", err)
		}
	})
	mk.Add(testConfig().OpenTimeout)
	waitState(t, b, breaker.HalfOpen)
	var probe breaker.Permit
	inSpan("probe", func(ctx context.Context) {
		if probe, err = acquire(ctx); err != nil {
			t.Fatal(err)
		}
	})
	inSpan("too-many", func(ctx context.Context) {
		if _, err := acquire(ctx); !errors.Is(err, breaker.ErrTooManyProbes) {
			t.Fatalf("second Acquire in HalfOpen: %v", err)
		}
	})
	probe.Success()
	waitState(t, b, breaker.Closed)
	b.ForceOpen()
	inSpan("forced", func(ctx context.Context) {
		if _, err := acquire(ctx); !errors.Is(err, breaker.ErrOpen) {
			t.Fatalf("Acquire in ForcedOpen: %v", err)
		}
	})
	s.Remove("payments")
	inSpan("stopped", func(ctx context.Context) {
		if _, err := acquire(ctx); !errors.Is(err, breaker.ErrStopped) {
			t.Fatalf("Acquire after Remove: %v", err)
		}
	})

	equalSpans(t, rec.Ended(), []spanView{
		{name: "closed"},
		{name: "open", events: []eventView{rejected("payments", "open", "open")}},
		{name: "probe", attrs: []attribute.KeyValue{
			attribute.String("circuit_breaker.name", "payments"), attribute.Bool("circuit_breaker.probe", true)}},
		{name: "too-many", events: []eventView{rejected("payments", "half-open", "too_many_probes")}},
		{name: "forced", events: []eventView{rejected("payments", "forced-open", "forced_open")}},
		{name: "stopped", events: []eventView{rejected("payments", "forced-open", "stopped")}},
	})
}

// TestObserverKeepsStatus: a span the caller marked stays as marked.
func TestObserverKeepsStatus(t *testing.T) {
	tracer, rec := newTracer(t)
	b, err := breaker.NewMutex("m", testConfig(), breaker.WithClock(newMock()),
		breaker.WithCallObserver(breakerotel.NewObserver()))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	b.ForceOpen()
	ctx, span := tracer.Start(context.Background(), "ok")
	span.SetStatus(codes.Ok, "")
	_, _ = b.Acquire(ctx)
	span.End()
	ctx, span = tracer.Start(context.Background(), "unset")
	_, _ = b.Acquire(ctx)
	span.End()
	equalSpans(t, rec.Ended(), []spanView{
		{name: "ok", status: codes.Ok, events: []eventView{rejected("m", "forced-open", "forced_open")}},
		{name: "unset", events: []eventView{rejected("m", "forced-open", "forced_open")}},
	})
}

// TestTransportRejectionOnClientSpan: breakerhttp's Transport passes the
// request's context to Acquire, so a rejected request is marked on the
// client's span.
func TestTransportRejectionOnClientSpan(t *testing.T) {
	tracer, rec := newTracer(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer srv.Close()
	mk := newMock()
	s := breaker.NewSupervisor(breaker.WithClock(mk), breaker.WithCallObserver(breakerotel.NewObserver()))
	defer s.Close()
	tr, err := breakerhttp.NewTransport(s, testConfig(), breakerhttp.WithClock(mk))
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	get := func(name string) error {
		ctx, span := tracer.Start(context.Background(), name)
		defer span.End()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if err := get("sent"); err != nil {
		t.Fatal(err)
	}
	key := breakerhttp.DefaultKey(&http.Request{Host: srv.Listener.Addr().String()})
	b, ok := s.Get(key)
	if !ok {
		t.Fatalf("no breaker %q; have %v", key, s.Names())
	}
	b.ForceOpen()
	if err := get("rejected"); !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("GET with the breaker forced open: %v", err)
	}
	equalSpans(t, rec.Ended(), []spanView{
		{name: "sent"},
		{name: "rejected", events: []eventView{rejected(key, "forced-open", "forced_open")}},
	})
}

// TestObserverNoAllocsWhenNotRecording: with a span that does not record
// (here: sampled out), neither method allocates, and neither does a whole
// Acquire through a breaker with the observer.
func TestObserverNoAllocsWhenNotRecording(t *testing.T) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
	defer tp.Shutdown(context.Background())
	ctx, span := tp.Tracer("test").Start(context.Background(), "sampled-out")
	defer span.End()
	if span.IsRecording() {
		t.Fatal("the span records")
	}
	o := breakerotel.NewObserver()
	errOpen := &breaker.OpenError{Breaker: "payments"}
	for name, f := range map[string]func(){
		"Admitted probe":   func() { o.Admitted(ctx, "payments", breaker.HalfOpen, true) },
		"Admitted":         func() { o.Admitted(ctx, "payments", breaker.Closed, false) },
		"Rejected":         func() { o.Rejected(ctx, "payments", breaker.Open, errOpen) },
		"Rejected no span": func() { o.Rejected(context.Background(), "payments", breaker.Open, errOpen) },
	} {
		if n := testing.AllocsPerRun(1000, f); n != 0 {
			t.Errorf("%s: %v allocations, want 0", name, n)
		}
	}

	b, err := breaker.New("payments", testConfig(), breaker.WithClock(newMock()), breaker.WithCallObserver(o))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if n := testing.AllocsPerRun(1000, func() {
		p, _ := b.Acquire(ctx)
		p.Success()
	}); n != 0 {
		t.Errorf("Closed Acquire+Success: %v allocations, want 0", n)
	}
	b.ForceOpen()
	if n := testing.AllocsPerRun(1000, func() { _, _ = b.Acquire(ctx) }); n != 0 {
		t.Errorf("ForcedOpen rejection: %v allocations, want 0", n)
	}
}

// TestMiddlewareRejectionOnServerSpan: breakerhttp's Middleware passes the
// request's context to Acquire, so a request it turns away is marked on
// the server's span (started here by an outer handler, as otelhttp would).
func TestMiddlewareRejectionOnServerSpan(t *testing.T) {
	tracer, rec := newTracer(t)
	b, err := breaker.New("search", testConfig(), breaker.WithClock(newMock()),
		breaker.WithCallObserver(breakerotel.NewObserver()))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	protected := breakerhttp.Middleware(b)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	traced := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, span := tracer.Start(r.Context(), "GET /search")
		defer span.End()
		protected.ServeHTTP(w, r.WithContext(ctx))
	})
	serve := func() int {
		w := httptest.NewRecorder()
		traced.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/search", nil))
		return w.Code
	}
	if code := serve(); code != http.StatusOK {
		t.Fatalf("closed: status %d", code)
	}
	b.ForceOpen()
	if code := serve(); code != http.StatusServiceUnavailable {
		t.Fatalf("forced open: status %d", code)
	}
	equalSpans(t, rec.Ended(), []spanView{
		{name: "GET /search"},
		{name: "GET /search", events: []eventView{rejected("search", "forced-open", "forced_open")}},
	})
}

// TestErrorTypes: every error Acquire can return maps to its error.type.
func TestErrorTypes(t *testing.T) {
	tracer, rec := newTracer(t)
	o := breakerotel.NewObserver()
	var want []spanView
	for _, tc := range []struct {
		s    breaker.State
		err  error
		want string
	}{
		{breaker.Open, &breaker.OpenError{Breaker: "b"}, "open"},
		{breaker.ForcedOpen, &breaker.OpenError{Breaker: "b"}, "forced_open"},
		{breaker.HalfOpen, breaker.ErrTooManyProbes, "too_many_probes"},
		{breaker.Closed, breaker.ErrStopped, "stopped"},
		{breaker.HalfOpen, context.Canceled, "canceled"},
		{breaker.HalfOpen, context.DeadlineExceeded, "deadline_exceeded"},
		{breaker.Closed, errors.New("something else"), "_OTHER"},
	} {
		ctx, span := tracer.Start(context.Background(), tc.want)
		o.Rejected(ctx, "b", tc.s, tc.err)
		span.End()
		want = append(want, spanView{name: tc.want, events: []eventView{rejected("b", tc.s.String(), tc.want)}})
	}
	equalSpans(t, rec.Ended(), want)
}
