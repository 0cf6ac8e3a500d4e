package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/breakerlabs/breaker"
)

// loadConfigSet reads the -config file: the demo's breaker is the entry
// named "backend" (or the defaults).
func loadConfigSet(path string) (breaker.ConfigSet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return breaker.ConfigSet{}, err
	}
	return breaker.ParseConfigSet(data)
}

// reload re-reads the -config file and applies it to the supervisor's
// breakers, keeping what they have learned; a bad file changes nothing.
// It says which on out.
func reload(out io.Writer, path string, sup *breaker.Supervisor) {
	cs, err := loadConfigSet(path)
	if err == nil {
		err = sup.Apply(cs)
	}
	if err != nil {
		fmt.Fprintf(out, "config %s not reloaded, nothing changed: %v\n", path, err)
		return
	}
	c := cs.Config(breakerName)
	fmt.Fprintf(out, "config %s reloaded: failure rate %.0f%%, open timeout %v, window %v calls\n",
		path, 100*c.FailureRate, c.OpenTimeout, c.Window.Size)
}

// reloadOnHangup reloads the -config file on every SIGHUP until ctx is
// done, on a goroutine of its own. The stop it returns stops listening for
// the signal and waits for that goroutine, which must be after ctx is done.
func reloadOnHangup(ctx context.Context, out io.Writer, path string, sup *breaker.Supervisor) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				reload(out, path, sup)
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		<-done
	}
}

// syncWriter serialises writes to w: with -config, the reloads and the
// timeline write from two goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
