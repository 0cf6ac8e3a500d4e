package filestore

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlabs/breaker"
	"github.com/breakerlabs/breaker/events"
)

var ctx = context.Background()

// openT opens path and closes the store at the end of the test.
func openT(t *testing.T, path string) *Store {
	t.Helper()
	st, err := Open(path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// fakeNow makes st read its time from *now.
func fakeNow(st *Store, now *time.Time) {
	st.mu.Lock()
	st.now = func() time.Time { return *now }
	st.mu.Unlock()
}

func save(t *testing.T, st *Store, r breaker.Record) breaker.Record {
	t.Helper()
	got, err := st.Save(ctx, r)
	if err != nil {
		t.Fatalf("Save(%+v): %v", r, err)
	}
	return got
}

// byName loads st into a map.
func byName(t *testing.T, st *Store) map[string]breaker.Record {
	t.Helper()
	recs, err := st.Load(ctx)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	m := map[string]breaker.Record{}
	for _, r := range recs {
		m[r.Name] = r
	}
	return m
}

// corruptFiles returns the files moved aside next to path.
func corruptFiles(t *testing.T, path string) []string {
	t.Helper()
	names, err := filepath.Glob(path + ".corrupt-*")
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestSaveLoadRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	now := time.Date(2026, 12, 1, 20, 45, 0, 500, time.UTC)
	st := openT(t, path)
	fakeNow(st, &now)
	since := now.Add(-time.Second)
	r1 := save(t, st, breaker.Record{Name: "payments", State: breaker.Open, Since: since, Remaining: 30 * time.Second,
		Attempt: 2, Reason: breaker.ReasonProbeFailed, BaseGen: 0, Origin: "web-1"})
	r2 := save(t, st, breaker.Record{Name: "search", State: breaker.ForcedOpen, Reason: breaker.ReasonManual, Manual: true, Origin: "web-1"})
	r3 := save(t, st, breaker.Record{Name: "ads", State: breaker.Disabled, Manual: true})
	r4 := save(t, st, breaker.Record{Name: "ads", State: breaker.Closed, Manual: true})
	if r1.Gen != 1 || r2.Gen != 2 || r3.Gen != 3 || r4.Gen != 4 {
		t.Fatalf("gens %d %d %d %d, want 1..4", r1.Gen, r2.Gen, r3.Gen, r4.Gen)
	}

	// The file is the documented format.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	bs := doc["breakers"].(map[string]any)
	pay := bs["payments"].(map[string]any)
	if doc["version"] != 1.0 || doc["gen"] != 4.0 || len(bs) != 2 || pay["state"] != "open" ||
		pay["until"] != "2026-12-01T20:45:30.0000005Z" || pay["reason"] != "probe-failed" || pay["attempt"] != 2.0 {
		t.Fatalf("file:\n%s", data)
	}

	// Reopened later: the time left is measured from the stored end.
	st.Close()
	st = openT(t, path)
	now = now.Add(10 * time.Second)
	fakeNow(st, &now)
	got := byName(t, st)
	if len(got) != 2 {
		t.Fatalf("loaded %+v", got)
	}
	want := r1
	want.Remaining = 20 * time.Second
	if got["payments"] != want {
		t.Fatalf("payments loaded as\n %+v\nwant\n %+v", got["payments"], want)
	}
	if r := got["search"]; r.State != breaker.ForcedOpen || !r.Manual || r.Gen != 2 || r.Origin != "web-1" {
		t.Fatalf("search loaded as %+v", r)
	}
	// Gens go on growing across restarts.
	if r := save(t, st, breaker.Record{Name: "x", State: breaker.Open, Remaining: time.Second}); r.Gen != 5 {
		t.Fatalf("gen %d after a reopen, want 5", r.Gen)
	}
}

func TestSecondOpenIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	st := openT(t, path)
	if _, err := Open(path); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "in use by another process") {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	st.Close()
	st.Close() // idempotent
	if _, err := st.Load(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Load after Close: %v", err)
	}
	if _, err := st.Save(ctx, breaker.Record{Name: "a", State: breaker.Open}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Save after Close: %v", err)
	}
	openT(t, path) // free again
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(""); err == nil {
		t.Error("Open(\"\") succeeded")
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing", "state.json")); err == nil {
		t.Error("Open in a missing directory succeeded")
	}
	st := openT(t, filepath.Join(t.TempDir(), "state.json"))
	if _, err := st.Save(ctx, breaker.Record{State: breaker.Open}); err == nil {
		t.Error("Save of a record without a name succeeded")
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := st.Save(done, breaker.Record{Name: "a", State: breaker.Open}); !errors.Is(err, context.Canceled) {
		t.Errorf("Save with a done context: %v", err)
	}
}

func TestLeftoverTempFileIsRemoved(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	st := openT(t, path)
	save(t, st, breaker.Record{Name: "search", State: breaker.ForcedOpen, Manual: true})
	st.Close()
	// A writer that died between creating its temporary file and renaming it.
	torn := filepath.Join(dir, "state.json.tmp-123456")
	if err := os.WriteFile(torn, []byte(`{"version": 1, "breakers": {"pay`), 0o644); err != nil {
		t.Fatal(err)
	}
	st = openT(t, path)
	if _, err := os.Stat(torn); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the leftover temporary file is still there: %v", err)
	}
	if got := byName(t, st); len(got) != 1 || got["search"].State != breaker.ForcedOpen {
		t.Fatalf("loaded %+v", got)
	}
}

func TestTruncatedFileIsMovedAside(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	st := openT(t, path)
	save(t, st, breaker.Record{Name: "search", State: breaker.ForcedOpen, Manual: true})
	save(t, st, breaker.Record{Name: "payments", State: breaker.Open, Remaining: time.Minute})
	st.Close()
	data, _ := os.ReadFile(path)
	torn := data[:len(data)/2]
	if err := os.WriteFile(path, torn, 0o644); err != nil {
		t.Fatal(err)
	}

	st = openT(t, path)
	recs, err := st.Load(ctx)
	if err == nil || len(recs) != 0 || !strings.Contains(err.Error(), "moved it aside") {
		t.Fatalf("Load of a truncated file: %v, %d records", err, len(recs))
	}
	aside := corruptFiles(t, path)
	if len(aside) != 1 || !strings.Contains(err.Error(), aside[0]) {
		t.Fatalf("moved aside to %v; error %v", aside, err)
	}
	if kept, _ := os.ReadFile(aside[0]); string(kept) != string(torn) {
		t.Fatalf("the file moved aside holds %q", kept)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the truncated file is still in place: %v", err)
	}
	// Reported once; the store works from empty.
	if recs, err := st.Load(ctx); err != nil || len(recs) != 0 {
		t.Fatalf("second Load: %v, %v", recs, err)
	}
	save(t, st, breaker.Record{Name: "payments", State: breaker.Open, Remaining: time.Minute})
	st.Close()
	if got := byName(t, openT(t, path)); len(got) != 1 {
		t.Fatalf("after a fresh save: %+v", got)
	}
}

func TestCorruptFileWithSupervisor(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(path, []byte("\x00\x01 not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	st := openT(t, path)
	mk := clock.NewMock()
	s := breaker.NewSupervisor(breaker.WithStateStore(st), breaker.WithClock(mk))
	defer s.Close()
	if err := s.StoreErr(); err == nil || !strings.Contains(err.Error(), "moved it aside") {
		t.Fatalf("StoreErr = %v", err)
	}
	sub := s.Subscribe(events.WithKinds(events.StoreFailed)) // after NewSupervisor, as a logger would
	defer sub.Close()
	b, err := s.GetOrCreate("payments", restartConfig())
	if err != nil {
		t.Fatal(err)
	}
	if b.State() != breaker.Closed {
		t.Fatalf("state %v after a corrupt file, want closed", b.State())
	}
	select {
	case ev := <-sub.C():
		if ev.Breaker != "" || ev.Err == nil || !strings.Contains(ev.Err.Error(), "moved it aside") {
			t.Fatalf("StoreFailed event %+v", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the corrupt file was not reported as StoreFailed")
	}
	b.ForceOpen()
	waitFor(t, "a save to clear StoreErr", func() bool { return s.StoreErr() == nil })
	if len(corruptFiles(t, path)) != 1 {
		t.Fatal("the corrupt file was not kept aside")
	}
}

func TestInvalidFiles(t *testing.T) {
	for _, tc := range []struct{ name, content, want string }{
		{"unknown field", `{"breakers": {"a": {"state": "open", "untill": "2026-01-01T00:00:00Z"}}}`, "untill"},
		{"unknown state", `{"breakers": {"a": {"state": "forced_open"}}}`, "forced_open"},
		{"half-open", `{"breakers": {"a": {"state": "half-open"}}}`, "half-open is never stored"},
		{"bad time", `{"breakers": {"a": {"state": "open", "until": "tomorrow"}}}`, "tomorrow"},
		{"empty name", `{"breakers": {"": {"state": "open"}}}`, "empty name"},
		{"negative attempt", `{"breakers": {"a": {"state": "open", "attempt": -1}}}`, "negative"},
		{"two values", `{} {}`, "more than one value"},
		{"empty", ``, "invalid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := openT(t, path).Load(ctx)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load: %v, want an error mentioning %q", err, tc.want)
			}
			if len(corruptFiles(t, path)) != 1 {
				t.Fatal("not moved aside")
			}
		})
	}
}

func TestNewerFormatIsRefusedAndKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	content := []byte(`{"version": 2, "breakers": {}, "future": true}`)
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), "version 2") {
		t.Fatalf("Open of a newer format: %v", err)
	}
	if got, _ := os.ReadFile(path); string(got) != string(content) || len(corruptFiles(t, path)) != 0 {
		t.Fatal("a newer file was touched")
	}
	openT(t, path+".other") // the lock was released
	if _, err := Open(path); err == nil {
		t.Fatal("the second attempt succeeded")
	}
}

func TestHandEditedFileIsHonoured(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	until := time.Now().Add(90 * time.Second).UTC().Format(time.RFC3339Nano)
	edited := `{
  "breakers": {
    "search":   {"state": "forced-open"},
    "ads":      {"state": "disabled"},
    "payments": {"state": "open", "until": "` + until + `"},
    "legacy":   {"state": "open"},
    "orders":   {"state": "closed"}
  }
}`
	if err := os.WriteFile(path, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	st := openT(t, path)
	s := breaker.NewSupervisor(breaker.WithStateStore(st))
	defer s.Close()
	if err := s.StoreErr(); err != nil {
		t.Fatalf("StoreErr: %v", err)
	}
	want := map[string]breaker.State{"search": breaker.ForcedOpen, "ads": breaker.Disabled, "payments": breaker.Open,
		"legacy": breaker.HalfOpen, "orders": breaker.Closed}
	for name, ws := range want {
		b, err := s.GetOrCreate(name, restartConfig())
		if err != nil {
			t.Fatal(err)
		}
		if got := b.State(); got != ws {
			t.Errorf("%s: %v, want %v", name, got, ws)
		}
	}
	b, _ := s.Get("payments")
	if left := time.Until(b.Metrics().OpenUntil); left < 80*time.Second || left > 90*time.Second {
		t.Errorf("payments: %v left, want about 90 s (capped by nothing: MaxOpenTimeout is 10 min)", left)
	}
}

// fullDisk is a temporary file whose writes fail with ENOSPC after a few
// bytes while full is set.
type fullDisk struct {
	*os.File
	full *atomic.Bool
}

func (f fullDisk) Write(p []byte) (int, error) {
	if f.full.Load() && len(p) > 8 {
		n, _ := f.File.Write(p[:8])
		return n, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	return f.File.Write(p)
}

func TestFullDisk(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	st := openT(t, path)
	var full atomic.Bool
	st.mu.Lock()
	st.createTemp = func(dir, pattern string) (tempFile, error) {
		f, err := os.CreateTemp(dir, pattern)
		if err != nil {
			return nil, err
		}
		return fullDisk{File: f, full: &full}, nil
	}
	st.mu.Unlock()

	mk := clock.NewMock()
	s := breaker.NewSupervisor(breaker.WithStateStore(st), breaker.WithClock(mk))
	defer s.Close()
	sub := s.Subscribe(events.WithKinds(events.StoreFailed))
	defer sub.Close()
	orders, _ := s.GetOrCreate("orders", restartConfig())
	orders.ForceOpen()
	waitFor(t, "orders saved", func() bool { _, ok := readFile(t, path).Breakers["orders"]; return ok })
	before, _ := os.ReadFile(path)

	full.Store(true)
	b, _ := s.GetOrCreate("payments", restartConfig())
	for range 10 {
		start := time.Now()
		p, err := b.Acquire(ctx)
		if err == nil {
			p.Failure()
		}
		b.Reset()
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Fatalf("a call and a reset took %v with a full disk", d)
		}
		mk.Add(time.Second)
	}
	p, err := b.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p.Failure() // ends Open
	var ev events.Event
	select {
	case ev = <-sub.C():
	case <-time.After(5 * time.Second):
		t.Fatal("no StoreFailed event")
	}
	if ev.Breaker != "payments" || !errors.Is(ev.Err, syscall.ENOSPC) || !errors.Is(s.StoreErr(), syscall.ENOSPC) {
		t.Fatalf("event %+v, StoreErr %v", ev, s.StoreErr())
	}
	for range 5 { // retries fail quietly
		mk.Add(10 * time.Second)
	}
	select {
	case ev := <-sub.C():
		t.Fatalf("a second event in one outage: %+v", ev)
	case <-time.After(50 * time.Millisecond):
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Fatalf("the file changed during the outage:\n%s", after)
	}
	if temps, _ := filepath.Glob(filepath.Join(dir, "state.json.tmp-*")); len(temps) != 0 {
		t.Fatalf("temporary files left behind: %v", temps)
	}

	full.Store(false) // space freed: the next retry saves the latest state
	waitFor(t, "the latest state saved", func() bool {
		mk.Add(10 * time.Second)
		f := readFile(t, path)
		return f.Breakers["payments"].State == breaker.Open && f.Breakers["orders"].State == breaker.ForcedOpen &&
			s.StoreErr() == nil
	})
}

// readFile decodes the state file (empty if it does not exist yet).
func readFile(t *testing.T, path string) file {
	t.Helper()
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return file{}
	}
	if err != nil {
		t.Fatal(err)
	}
	f, err := decode(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return f
}

// waitFor polls cond until it holds, failing after 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestConcurrentSaves(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	st := openT(t, path)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 20 {
				name := string(rune('a' + i))
				state := breaker.Open
				if j%2 == 1 {
					state = breaker.ForcedOpen
				}
				if _, err := st.Save(ctx, breaker.Record{Name: name, State: state, Remaining: time.Minute}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	f := readFile(t, path)
	if f.Gen != 160 || len(f.Breakers) != 8 {
		t.Fatalf("gen %d, %d breakers; want 160 and 8", f.Gen, len(f.Breakers))
	}
	for name, e := range f.Breakers {
		if e.State != breaker.ForcedOpen {
			t.Errorf("%s: %v, want the last save (forced-open)", name, e.State)
		}
	}
}
