package breakerredis

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisServer is a private redis-server on a free 127.0.0.1 port, without
// persistence, that a test may freeze (SIGSTOP), kill and restart empty.
type redisServer struct {
	t    *testing.T
	bin  string
	port int
	Addr string
	cmd  *exec.Cmd
}

// startRedis starts a private redis-server and stops it in t.Cleanup. It
// skips the test with one line if redis-server is not installed, unless
// BREAKER_INTEGRATION=1, where that is a failure.
func startRedis(t *testing.T) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("BREAKER_INTEGRATION") == "1" {
			t.Fatalf("redis-server not found (BREAKER_INTEGRATION=1): %v", err)
		}
		t.Skip("redis-server not installed; set BREAKER_INTEGRATION=1 to make this a failure")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s := &redisServer{t: t, bin: bin, port: port, Addr: "127.0.0.1:" + strconv.Itoa(port)}
	s.start()
	t.Cleanup(func() {
		if s.cmd != nil {
			_ = s.cmd.Process.Signal(syscall.SIGCONT)
			s.kill()
		}
	})
	return s
}

func (s *redisServer) start() {
	s.t.Helper()
	cmd := exec.Command(s.bin, "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.t.TempDir(), "--loglevel", "warning")
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start redis-server: %v", err)
	}
	s.cmd = cmd
	c := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("redis-server on %s did not answer: %v", s.Addr, err)
		}
		time.Sleep(10 * time.Millisecond) // polling for readiness with a deadline
	}
}

// Stop freezes the server (SIGSTOP): connections stay open, nothing answers.
func (s *redisServer) Stop() { s.signal(syscall.SIGSTOP) }

// Cont resumes a frozen server.
func (s *redisServer) Cont() { s.signal(syscall.SIGCONT) }

func (s *redisServer) signal(sig syscall.Signal) {
	s.t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("signal %v: %v", sig, err)
	}
}

func (s *redisServer) kill() {
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Restart kills the server (SIGKILL) and starts an empty one on the same
// port.
func (s *redisServer) Restart() {
	s.t.Helper()
	s.kill()
	s.start()
}

// Client returns a client of its own, closed in t.Cleanup, whose calls
// honour their contexts' deadlines.
func (s *redisServer) Client() *redis.Client {
	c := redis.NewClient(&redis.Options{
		Addr:                  s.Addr,
		ContextTimeoutEnabled: true,
		DialTimeout:           500 * time.Millisecond,
		ReadTimeout:           time.Second,
		WriteTimeout:          time.Second,
		MaxRetries:            -1,
	})
	s.t.Cleanup(func() { c.Close() })
	return c
}

// CLI runs redis-cli against the server, as an operator would.
func (s *redisServer) CLI(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("redis-cli", append([]string{"-p", strconv.Itoa(s.port)}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("redis-cli %v: %v: %s", args, err, out)
	}
	return string(out)
}

func (s *redisServer) String() string { return fmt.Sprintf("redis-server %s", s.Addr) }
