package filestore

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/breakerlabs/breaker"
)

// The restart test re-executes this test binary as a child process: with
// childEnv set to a state file's path, TestMain runs runChild instead of
// the tests. The child trips a breaker with a file store, prints the open
// deadline, and waits to be killed.
const childEnv = "FILESTORE_TEST_CHILD"

// restartConfig trips on one failure and stays open a minute.
func restartConfig() breaker.Config {
	return breaker.Config{
		Window:              breaker.CountWindow(10),
		ConsecutiveFailures: 1,
		OpenTimeout:         time.Minute,
		BackoffMultiplier:   2,
		MaxOpenTimeout:      10 * time.Minute,
		HalfOpen:            breaker.HalfOpenPolicy{MaxProbes: 1, Mode: breaker.Strict, SuccessThreshold: 1},
	}
}

// runChild is the child's whole life. Its exit code is only seen if it
// fails before being killed.
func runChild() int {
	if dir := os.Getenv(readOnlyEnv); dir != "" {
		if err := readOnlyScenario(dir); err != nil {
			fmt.Println("FAIL:", err)
			return 1
		}
		fmt.Println("PASS")
		return 0
	}
	path := os.Getenv(childEnv)
	st, err := Open(path)
	if err != nil {
		fmt.Println("open:", err)
		return 1
	}
	s := breaker.NewSupervisor(breaker.WithStateStore(st), breaker.WithInstance("child"))
	b, err := s.GetOrCreate("payments", restartConfig())
	if err != nil {
		fmt.Println("GetOrCreate:", err)
		return 1
	}
	p, err := b.Acquire(context.Background())
	if err != nil {
		fmt.Println("acquire:", err)
		return 1
	}
	p.Failure()
	var until time.Time
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			fmt.Println("the trip was not saved within 10 s")
			return 1
		}
		if m := b.Metrics(); m.State == breaker.Open {
			until = m.OpenUntil
		}
		if data, err := os.ReadFile(path); err == nil && !until.IsZero() {
			if f, err := decode(data); err == nil && f.Breakers["payments"].State == breaker.Open {
				break
			}
		}
	}
	fmt.Println("until", until.Format(time.RFC3339Nano))
	time.Sleep(time.Hour) // mid-run: the parent kills us here
	return 0
}

func TestRestartAfterSIGKILL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var line string
	select {
	case line = <-lines:
	case <-time.After(30 * time.Second):
		t.Fatal("the child said nothing within 30 s")
	}
	stamp, ok := strings.CutPrefix(line, "until ")
	if !ok {
		t.Fatalf("child: %q", line)
	}
	until, err := time.Parse(time.RFC3339Nano, stamp)
	if err != nil {
		t.Fatal(err)
	}

	// While the child runs, the file is its own.
	if st, err := Open(path); !errors.Is(err, ErrLocked) {
		if st != nil {
			st.Close()
		}
		t.Fatalf("a second Open while the child holds the file: %v, want ErrLocked", err)
	}

	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no chance to flush or unlock
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("child ended with %v, want killed", err)
	}
	for range lines { // the reader goroutine ends with the pipe
	}

	st, err := Open(path)
	if err != nil {
		t.Fatalf("Open after the child died: %v", err)
	}
	defer st.Close()
	s := breaker.NewSupervisor(breaker.WithStateStore(st))
	defer s.Close()
	if err := s.StoreErr(); err != nil {
		t.Fatalf("StoreErr after the restart: %v", err)
	}
	b, err := s.GetOrCreate("payments", restartConfig())
	if err != nil {
		t.Fatal(err)
	}
	m := b.Metrics()
	if m.State != breaker.Open {
		t.Fatalf("after the restart payments is %v, want open", m.State)
	}
	if d := m.OpenUntil.Sub(until); d < -250*time.Millisecond || d > 250*time.Millisecond {
		t.Fatalf("restored until %v, the child's deadline was %v (off by %v)", m.OpenUntil, until, d)
	}
	if left := time.Until(m.OpenUntil); left <= 0 || left > time.Minute {
		t.Fatalf("%v left after the restart, want in (0, 1m]", left)
	}
	var oe *breaker.OpenError
	if _, err := b.Acquire(context.Background()); !errors.As(err, &oe) {
		t.Fatalf("Acquire after the restart: %v, want an *OpenError", err)
	}
}
