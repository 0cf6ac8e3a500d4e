package breakerlog_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/breakerlabs/breaker"
	"github.com/breakerlabs/breaker/breakerlog"
)

// TestAttachLogsTransitions drives a breaker through every state on a mock
// clock and checks the exact JSON lines: one per transition, at its level,
// with the event's time and only the attributes that apply; 20,000
// rejected calls add nothing.
func TestAttachLogsTransitions(t *testing.T) {
	mk := newMock()
	s := breaker.NewSupervisor(breaker.WithClock(mk))
	defer s.Close()
	var w lines
	stop := breakerlog.Attach(s, jsonLogger(&w))
	defer stop()
	b, err := s.GetOrCreate("payments", testConfig())
	if err != nil {
		t.Fatal(err)
	}
	reject := func() {
		t.Helper()
		for range 10_000 {
			if _, err := b.Acquire(context.Background()); !errors.Is(err, breaker.ErrOpen) {
				t.Fatalf("Acquire in %v: %v, want a rejection", b.State(), err)
			}
		}
	}

	for range 3 {
		call(t, b, true)
	}
	waitState(t, b, breaker.Open)
	reject()
	mk.Add(10 * time.Second)
	waitState(t, b, breaker.HalfOpen)
	call(t, b, false) // the probe
	waitState(t, b, breaker.Closed)
	b.ForceOpen()
	reject()
	b.Disable()
	b.Reset()

	want := []string{
		`{"time":"2026-12-01T12:00:00Z","level":"WARN","msg":"circuit breaker opened","breaker":"payments","seq":1,"kind":"state-changed","from":"closed","to":"open","reason":"consecutive-failures","count":3,"until":"2026-12-01T12:00:10Z"}`,
		`{"time":"2026-12-01T12:00:10Z","level":"INFO","msg":"circuit breaker half-open","breaker":"payments","seq":2,"kind":"state-changed","from":"open","to":"half-open","reason":"open-timeout"}`,
		`{"time":"2026-12-01T12:00:10Z","level":"INFO","msg":"circuit breaker closed","breaker":"payments","seq":3,"kind":"state-changed","from":"half-open","to":"closed","reason":"probes-succeeded","count":1}`,
		`{"time":"2026-12-01T12:00:10Z","level":"WARN","msg":"circuit breaker forced open","breaker":"payments","seq":4,"kind":"state-changed","from":"closed","to":"forced-open","reason":"manual"}`,
		`{"time":"2026-12-01T12:00:10Z","level":"WARN","msg":"circuit breaker disabled","breaker":"payments","seq":5,"kind":"state-changed","from":"forced-open","to":"disabled","reason":"manual"}`,
		`{"time":"2026-12-01T12:00:10Z","level":"INFO","msg":"circuit breaker closed","breaker":"payments","seq":6,"kind":"state-changed","from":"disabled","to":"closed","reason":"manual"}`,
	}
	w.waitLines(t, len(want))
	stop() // nothing more can come: the lines are final
	got := w.all()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if m := b.Metrics(); m.Rejected != 20_000 {
		t.Fatalf("Rejected = %d, want 20000", m.Rejected)
	}
}

// TestWithLevel: the level of a transition follows WithLevel, and the
// handler's level filters as usual.
func TestWithLevel(t *testing.T) {
	mk := newMock()
	s := breaker.NewSupervisor(breaker.WithClock(mk))
	defer s.Close()
	var w lines
	h := slog.NewJSONHandler(&w, &slog.HandlerOptions{Level: slog.LevelInfo})
	stop := breakerlog.Attach(s, slog.New(h),
		breakerlog.WithLevel(breaker.ForcedOpen, slog.LevelError),
		breakerlog.WithLevel(breaker.Closed, slog.LevelDebug),    // below the handler's level: not written
		breakerlog.WithLevel(breaker.State(99), slog.LevelError)) // not a state: ignored
	defer stop()
	b, err := s.GetOrCreate("search", testConfig())
	if err != nil {
		t.Fatal(err)
	}
	b.ForceOpen()
	b.Reset()
	b.Disable()
	want := []string{
		`{"time":"2026-12-01T12:00:00Z","level":"ERROR","msg":"circuit breaker forced open","breaker":"search","seq":1,"kind":"state-changed","from":"closed","to":"forced-open","reason":"manual"}`,
		`{"time":"2026-12-01T12:00:00Z","level":"WARN","msg":"circuit breaker disabled","breaker":"search","seq":3,"kind":"state-changed","from":"closed","to":"disabled","reason":"manual"}`,
	}
	w.waitLines(t, len(want))
	stop()
	if got := w.all(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// gate is a handler whose first Handle blocks until released, so that the
// events behind it pile up in the subscription.
type gate struct {
	slog.Handler
	once    sync.Once
	entered chan struct{}
	release chan struct{}
}

func (g *gate) Handle(ctx context.Context, r slog.Record) error {
	g.once.Do(func() {
		close(g.entered)
		<-g.release
	})
	return g.Handler.Handle(ctx, r)
}

// TestDroppedEventsOneWarn: while the handler is stuck, the subscription
// keeps WithBuffer events and drops the rest; once it is unstuck the kept
// events are logged, then one Warn with the number lost.
func TestDroppedEventsOneWarn(t *testing.T) {
	mk := newMock()
	s := breaker.NewSupervisor(breaker.WithClock(mk))
	defer s.Close()
	var w lines
	g := &gate{Handler: slog.NewJSONHandler(&w, &slog.HandlerOptions{ReplaceAttr: dropTime}),
		entered: make(chan struct{}), release: make(chan struct{})}
	stop := breakerlog.Attach(s, slog.New(g), breakerlog.WithBuffer(2))
	defer stop()
	b, err := s.GetOrCreate("payments", testConfig())
	if err != nil {
		t.Fatal(err)
	}
	b.ForceOpen() // seq 1: taken by the writer, which blocks in the handler
	select {
	case <-g.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the writer never reached the handler")
	}
	for range 50 { // seq 2..101: 2 and 3 are kept, 98 are dropped
		b.Reset()
		b.ForceOpen()
	}
	close(g.release)
	want := []string{
		`{"level":"WARN","msg":"circuit breaker forced open","breaker":"payments","seq":1,"kind":"state-changed","from":"closed","to":"forced-open","reason":"manual"}`,
		`{"level":"INFO","msg":"circuit breaker closed","breaker":"payments","seq":2,"kind":"state-changed","from":"forced-open","to":"closed","reason":"manual"}`,
		`{"level":"WARN","msg":"circuit breaker forced open","breaker":"payments","seq":3,"kind":"state-changed","from":"closed","to":"forced-open","reason":"manual"}`,
		`{"level":"WARN","msg":"circuit breaker events dropped: the log fell behind","dropped":98,"dropped_total":98}`,
	}
	w.waitLines(t, len(want))
	b.Reset() // seq 102, after the warning
	want = append(want, `{"level":"INFO","msg":"circuit breaker closed","breaker":"payments","seq":102,"kind":"state-changed","from":"forced-open","to":"closed","reason":"manual"}`)
	w.waitLines(t, len(want))
	stop()
	if got := w.all(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func dropTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

// TestStop: after stop returns nothing is logged and no goroutine of
// Attach is left; stop is idempotent, and closing the supervisor first is
// fine.
func TestStop(t *testing.T) {
	defer goleak.VerifyNone(t)
	mk := newMock()
	s := breaker.NewSupervisor(breaker.WithClock(mk))
	var w lines
	stop := breakerlog.Attach(s, jsonLogger(&w))
	b, err := s.GetOrCreate("payments", testConfig())
	if err != nil {
		t.Fatal(err)
	}
	b.ForceOpen()
	w.waitLines(t, 1)
	stop()
	stop()
	b.Reset()
	b.ForceOpen()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := w.all(); len(got) != 1 {
		t.Fatalf("%d lines after stop, want 1:\n%s", len(got), strings.Join(got, "\n"))
	}

	// A supervisor closed before stop ends the writer by itself.
	s2 := breaker.NewSupervisor(breaker.WithClock(mk))
	stop2 := breakerlog.Attach(s2, jsonLogger(&w))
	s2.Close()
	stop2()
}

// TestAttachNil: a nil supervisor is a no-op; a nil logger means
// slog.Default().
func TestAttachNil(t *testing.T) {
	breakerlog.Attach(nil, nil)()
	var w lines
	old := slog.Default()
	slog.SetDefault(jsonLogger(&w))
	defer slog.SetDefault(old)
	s := breaker.NewSupervisor(breaker.WithClock(newMock()))
	defer s.Close()
	stop := breakerlog.Attach(s, nil)
	defer stop()
	b, err := s.GetOrCreate("x", testConfig())
	if err != nil {
		t.Fatal(err)
	}
	b.ForceOpen()
	if got := w.waitLines(t, 1); !strings.Contains(got[0], `"msg":"circuit breaker forced open","breaker":"x"`) {
		t.Fatalf("default logger got %s", got[0])
	}
}
