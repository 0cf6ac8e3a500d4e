package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/breakerlabs/breaker/filestore"
	"go.uber.org/goleak"
)

// A run with -state that ends while the breaker is open leaves that in
// the file; the next run starts with the breaker open for the time that
// was left, and says so.
func TestDemoStateSurvivesRestart(t *testing.T) {
	defer goleak.VerifyNone(t)
	path := filepath.Join(t.TempDir(), "demo-state.json")
	var first bytes.Buffer
	if err := run(context.Background(), &first, config{duration: 3 * time.Second, clients: 8, state: path}); err != nil {
		t.Fatalf("first run: %v\n%s", err, first.String())
	}
	if !strings.Contains(first.String(), "holds nothing for") || !strings.Contains(first.String(), "is open for another") {
		t.Fatalf("the first run did not end open:\n%s", first.String())
	}

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var second bytes.Buffer
	if err := run(ctx, &second, config{duration: time.Minute, clients: 4, state: path}); err != nil {
		t.Fatalf("second run: %v\n%s", err, second.String())
	}
	s := second.String()
	t.Logf("second run:\n%s", s)
	for _, want := range []string{`"backend" is OPEN for another`, "closed → open", "remote: restored, decided by"} {
		if !strings.Contains(s, want) {
			t.Errorf("the second run's output lacks %q", want)
		}
	}
	if strings.Contains(s, "sent to the backend") && !strings.Contains(s, "(0 sent to the backend") {
		t.Errorf("calls reached the backend while the restored breaker was open:\n%s", s)
	}
}

func TestDemoStateFileInUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "demo-state.json")
	st, err := filestore.Open(path) // another process, as far as the demo can tell
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	err = run(context.Background(), new(bytes.Buffer), config{duration: time.Second, clients: 1, state: path})
	if err == nil || !strings.Contains(err.Error(), "-state") || !strings.Contains(err.Error(), "in use by another process") {
		t.Fatalf("a demo on a state file in use: %v, want an in-use error", err)
	}
}
