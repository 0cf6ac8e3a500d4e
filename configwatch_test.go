package breaker

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
)

// watchHarness runs WatchConfigFile on a mock clock and hands its
// callbacks to the test over channels.
type watchHarness struct {
	path    string
	mk      *clock.Mock
	s       *Supervisor
	applied chan ConfigSet
	errs    chan error
	done    chan error
	cancel  context.CancelFunc
}

func startWatch(t *testing.T, initial string) (*watchHarness, error) {
	t.Helper()
	h := &watchHarness{
		path:    filepath.Join(t.TempDir(), "breakers.json"),
		mk:      clock.NewMock(),
		applied: make(chan ConfigSet, 8),
		errs:    make(chan error, 8),
		done:    make(chan error, 1),
	}
	h.write(t, initial)
	h.s = NewSupervisor(WithClock(h.mk))
	t.Cleanup(func() { h.s.Close() })
	if _, err := h.s.GetOrCreate("payments", DefaultConfig()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() {
		h.done <- WatchConfigFile(ctx, h.path, h.s, WatchInterval(time.Second),
			WatchOnApply(func(cs ConfigSet) { h.applied <- cs }),
			WatchOnError(func(err error) { h.errs <- err }))
	}()
	select {
	case <-h.applied:
		t.Cleanup(func() { h.stop(t) })
		return h, nil
	case err := <-h.done:
		cancel()
		return nil, err
	case <-time.After(10 * time.Second):
		t.Fatal("the initial load neither applied nor failed within 10s")
	}
	return nil, nil
}

func (h *watchHarness) write(t *testing.T, content string) {
	t.Helper()
	// Rename a new file over the old one, as editors do: a reader sees
	// either version whole.
	tmp := h.path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, h.path); err != nil {
		t.Fatal(err)
	}
}

// tick moves the mock clock one polling interval.
func (h *watchHarness) tick() { h.mk.Add(time.Second) }

func (h *watchHarness) stop(t *testing.T) {
	h.cancel()
	select {
	case err := <-h.done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("WatchConfigFile returned %v after cancel, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("WatchConfigFile did not return within 10s of cancel")
	}
}

func (h *watchHarness) failureRate() float64 {
	b, _ := h.s.Get("payments")
	return b.Config().FailureRate
}

func TestWatchConfigFile(t *testing.T) {
	h, err := startWatch(t, `{"breakers": {"payments": {"failureRate": 0.3}}}`)
	if err != nil {
		t.Fatalf("initial load: %v", err)
	}
	if got := h.failureRate(); got != 0.3 {
		t.Fatalf("after the initial load: FailureRate %v, want 0.3", got)
	}

	// A change is applied at the next poll.
	h.write(t, `{"breakers": {"payments": {"failureRate": 0.45}}}`)
	h.tick()
	select {
	case cs := <-h.applied:
		if cs.Config("payments").FailureRate != 0.45 {
			t.Fatalf("applied %+v", cs.Config("payments"))
		}
	case err := <-h.errs:
		t.Fatalf("a good file reported %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("a changed file was not applied within 10s of a poll")
	}
	if got := h.failureRate(); got != 0.45 {
		t.Fatalf("after the reload: FailureRate %v, want 0.45", got)
	}

	// A bad file changes nothing and is reported once, with its path.
	h.write(t, `{"breakers": {"payments": {"failureRate": 1.5, "maxProbe": 1}}}`)
	h.tick()
	select {
	case err := <-h.errs:
		var cse *ConfigSetError
		if !errors.As(err, &cse) || !strings.Contains(err.Error(), "breakers.payments.failureRate: must be in (0,1], got 1.5") ||
			!strings.Contains(err.Error(), h.path) {
			t.Fatalf("reported %v", err)
		}
	case <-h.applied:
		t.Fatal("a bad file was applied")
	case <-time.After(10 * time.Second):
		t.Fatal("a bad file was not reported within 10s of a poll")
	}
	if got := h.failureRate(); got != 0.45 {
		t.Fatalf("a bad file changed FailureRate to %v", got)
	}
	h.tick()
	h.tick()

	// A deleted file too; then a good one comes back.
	if err := os.Remove(h.path); err != nil {
		t.Fatal(err)
	}
	h.tick()
	select {
	case err := <-h.errs:
		if !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("a missing file reported %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a missing file was not reported within 10s of a poll")
	}
	h.tick()
	h.write(t, `{"defaults": {"preset": "aggressive"}}`)
	h.tick()
	select {
	case <-h.applied:
	case err := <-h.errs:
		t.Fatalf("a good file after a bad one reported %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("a good file after a bad one was not applied within 10s of a poll")
	}
	if got := h.failureRate(); got != AggressiveConfig().FailureRate {
		t.Fatalf("after recovery: FailureRate %v, want the aggressive preset's", got)
	}
	select {
	case err := <-h.errs:
		t.Fatalf("a problem was reported more than once: %v", err)
	default:
	}
}

func TestWatchConfigFileInitialErrors(t *testing.T) {
	if _, err := startWatch(t, `{"breakers": {"payments": {"failureRate": 2}}}`); err == nil ||
		!strings.Contains(err.Error(), "breakers.payments.failureRate") {
		t.Fatalf("a bad initial file: %v", err)
	}
	s := NewSupervisor()
	defer s.Close()
	err := WatchConfigFile(context.Background(), filepath.Join(t.TempDir(), "missing.json"), s)
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a missing initial file: %v", err)
	}
}

// Closing the supervisor stops the watcher with ErrStopped at its next
// reload.
func TestWatchConfigFileSupervisorClosed(t *testing.T) {
	h, err := startWatch(t, `{}`)
	if err != nil {
		t.Fatal(err)
	}
	h.s.Close()
	h.write(t, `{"defaults": {"failureRate": 0.9}}`)
	h.tick()
	select {
	case err := <-h.done:
		if !errors.Is(err, ErrStopped) {
			t.Fatalf("WatchConfigFile returned %v, want ErrStopped", err)
		}
		h.done <- context.Canceled // for the cleanup's stop
	case <-time.After(10 * time.Second):
		t.Fatal("WatchConfigFile did not stop within 10s of its supervisor's Close")
	}
}
