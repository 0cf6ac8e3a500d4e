package breaker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/benbjohnson/clock"
)

// A WatchOption configures WatchConfigFile.
type WatchOption func(*watchOptions)

type watchOptions struct {
	interval time.Duration
	onApply  func(ConfigSet)
	onError  func(error)
}

// WatchInterval sets how often WatchConfigFile looks at the file's
// modification time and size. The default is 1s; a d ≤ 0 keeps it.
func WatchInterval(d time.Duration) WatchOption {
	return func(o *watchOptions) {
		if d > 0 {
			o.interval = d
		}
	}
}

// WatchOnApply makes WatchConfigFile call fn with every ConfigSet it has
// applied, the initial one included, on the watching goroutine, after
// Supervisor.Apply returns. A program uses it to learn of a reload (to log
// it, or to hand the set to code that creates breakers later, such as
// breakerhttp's WithConfigSet). fn must not block for long: the next poll
// waits for it.
func WatchOnApply(fn func(ConfigSet)) WatchOption {
	return func(o *watchOptions) { o.onApply = fn }
}

// WatchOnError makes WatchConfigFile call fn, on the watching goroutine,
// with each problem it meets after the initial load: a file that cannot
// be read, or that ParseConfigSet rejects (a *ConfigSetError, with every
// problem's JSON path). Nothing is applied then; the breakers keep their
// configuration until the file changes again. Each problem is reported
// once, not once per poll. Without this option problems are logged with
// slog.Default at Error level.
func WatchOnError(fn func(error)) WatchOption {
	return func(o *watchOptions) { o.onError = fn }
}

// WatchConfigFile keeps the breakers of s configured from the JSON file at
// path (ParseConfigSet's format) until ctx is done, polling the file's
// modification time and size with the clock s was given (WithClock), or
// the real clock.
//
// It first reads, parses and applies the file (Supervisor.Apply): if that
// fails, it returns the error at once and changes nothing. Afterwards,
// whenever the file's modification time or size changes and its content
// differs from what was last applied, it parses and applies it again,
// keeping what each breaker has learned (see Supervisor.Reconfigure). A
// file that cannot be read or does not parse changes nothing and is
// reported (WatchOnError); watching goes on, and a later good version is
// applied. A file replaced by renaming a new one over it (as editors and
// configuration managers do) is picked up like one written in place.
//
// WatchConfigFile blocks: run it on its own goroutine. It returns
// ctx.Err() when ctx is done, and ErrStopped if s is closed. Any number
// may run at once (on different files, or supervisors); two on the same
// supervisor apply their files in turn, each over the other's.
func WatchConfigFile(ctx context.Context, path string, s *Supervisor, opts ...WatchOption) error {
	o := watchOptions{interval: time.Second}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if o.onError == nil {
		o.onError = func(err error) { slog.Default().Error("breaker: config file not applied", "path", path, "err", err) }
	}
	s.init()
	clk := buildOptions(s.opts).clock
	if clk == nil {
		clk = clock.New()
	}
	w := &fileWatch{path: path, s: s, o: &o}
	ticker := clk.Ticker(o.interval)
	defer ticker.Stop()
	if err := w.load(); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
			if err := w.poll(); errors.Is(err, ErrStopped) {
				return err
			}
		}
	}
}

// fileWatch is one WatchConfigFile's state.
type fileWatch struct {
	path    string
	s       *Supervisor
	o       *watchOptions
	stamp   fileStamp // of the version last read (applied or not)
	applied []byte    // the content last applied
	lastErr string    // the problem last reported, so it is reported once
}

// fileStamp is what polling compares.
type fileStamp struct {
	mod  time.Time
	size int64
}

// load reads, parses and applies the file.
func (w *fileWatch) load() error {
	st, err := os.Stat(w.path)
	if err != nil {
		return fmt.Errorf("breaker: config file: %w", err)
	}
	data, err := os.ReadFile(w.path)
	if err != nil {
		return fmt.Errorf("breaker: config file: %w", err)
	}
	w.stamp = fileStamp{st.ModTime(), st.Size()}
	if w.applied != nil && bytes.Equal(data, w.applied) {
		return nil
	}
	cs, err := ParseConfigSet(data)
	if err != nil {
		return fmt.Errorf("breaker: config file %s: %w", w.path, err)
	}
	if err := w.s.Apply(cs); err != nil {
		return err
	}
	w.applied = data
	w.lastErr = ""
	if w.o.onApply != nil {
		w.o.onApply(cs)
	}
	return nil
}

// poll applies the file if it changed, reporting a problem once.
func (w *fileWatch) poll() error {
	st, err := os.Stat(w.path)
	if err == nil && (fileStamp{st.ModTime(), st.Size()}) == w.stamp {
		return nil
	}
	if err == nil {
		err = w.load()
	} else {
		err = fmt.Errorf("breaker: config file: %w", err)
	}
	if err == nil || errors.Is(err, ErrStopped) {
		return err
	}
	if msg := err.Error(); msg != w.lastErr {
		w.lastErr = msg
		w.o.onError(err)
	}
	return nil
}
