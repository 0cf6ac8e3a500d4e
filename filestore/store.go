package filestore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/breakerlabs/breaker"
)

// ErrLocked matches the error Open returns when another Store (in this
// process or another) has the file open.
var ErrLocked = errors.New("filestore: the state file is in use by another process")

// ErrClosed is returned by Load and Save after Close.
var ErrClosed = errors.New("filestore: store is closed")

// Store is a breaker.StateStore kept in one JSON file (see the package
// documentation for the format and the guarantees). Make one with Open.
// Every method is safe for concurrent use.
type Store struct {
	path string
	dir  string
	lock *fileLock

	mu      sync.Mutex
	closed  bool
	gen     uint64
	entries map[string]entry // what the file holds
	loadErr error            // why the file was moved aside at Open; Load reports it once

	// Seams for tests; the os functions otherwise.
	now        func() time.Time
	createTemp func(dir, pattern string) (tempFile, error)
	rename     func(from, to string) error
	syncDir    func(dir string) error
}

// tempFile is what Save writes the new content to.
type tempFile interface {
	io.Writer
	Name() string
	Sync() error
	Close() error
}

// Open opens the state file at path, creating nothing until the first
// Save: the directory must exist. It takes the file's lock (failing with
// an error matching ErrLocked if another Store holds it), removes
// temporary files a crashed writer left behind, and reads the file. A file
// that cannot be read or parsed is moved aside and the store starts empty
// (the first Load reports it). Open fails only if the lock cannot be
// taken, or the file was written by a newer version of this package.
func Open(path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("filestore: empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("filestore: %w", err)
	}
	s := &Store{
		path:       abs,
		dir:        filepath.Dir(abs),
		entries:    map[string]entry{},
		now:        time.Now,
		createTemp: func(dir, pattern string) (tempFile, error) { return os.CreateTemp(dir, pattern) },
		rename:     os.Rename,
		syncDir:    syncDir,
	}
	if s.lock, err = lockFile(abs + ".lock"); err != nil {
		return nil, err
	}
	s.removeTemps()
	if err := s.read(); err != nil {
		s.lock.release()
		return nil, err
	}
	return s, nil
}

// Path returns the absolute path of the state file.
func (s *Store) Path() string { return s.path }

// tempPrefix is the name prefix of Save's temporary files.
func (s *Store) tempPrefix() string { return filepath.Base(s.path) + ".tmp-" }

// removeTemps deletes temporary files left by a writer that crashed
// between creating and renaming one. Only the lock holder writes them, so
// any that exist now are dead.
func (s *Store) removeTemps() {
	names, _ := filepath.Glob(filepath.Join(s.dir, globEscape(s.tempPrefix())+"*"))
	for _, name := range names {
		os.Remove(name)
	}
}

// globEscape quotes the glob metacharacters of a literal.
func globEscape(lit string) string {
	var b strings.Builder
	for _, r := range lit {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// read loads the file into s. A missing file is an empty store; one that
// cannot be read or parsed is moved aside (loadErr says so); a newer
// format is an error.
func (s *Store) read() error {
	data, err := os.ReadFile(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err == nil {
		var f file
		f, err = decode(data)
		var newer *newerVersionError
		if errors.As(err, &newer) {
			return err
		}
		if err == nil {
			s.gen, s.entries = f.Gen, f.Breakers
			return nil
		}
	}
	aside := fmt.Sprintf("%s.corrupt-%s", s.path, s.now().UTC().Format("20060102T150405.000000000Z"))
	if rerr := s.rename(s.path, aside); rerr != nil {
		s.loadErr = fmt.Errorf("filestore: %s is unusable (%w), and moving it aside failed (%v); starting empty: the next save replaces it", s.path, err, rerr)
	} else {
		s.loadErr = fmt.Errorf("filestore: %s is unusable (%w); moved it aside to %s and starting empty", s.path, err, aside)
	}
	return nil
}

// Load returns the stored records, each Open one with the time left until
// its end by this machine's clock (zero or less if it has passed). If the
// file was unusable at Open, the first Load also returns the error saying
// so (with no records). ctx is not consulted: Load reads memory only.
func (s *Store) Load(context.Context) ([]breaker.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	now := s.now()
	recs := make([]breaker.Record, 0, len(s.entries))
	for name, e := range s.entries {
		recs = append(recs, e.record(name, now))
	}
	err := s.loadErr
	s.loadErr = nil
	return recs, err
}

// Save stores r (a Closed record removes the name), assigning it the
// store's next Gen, and returns it as stored. The file is rewritten
// atomically before Save returns; if that fails, the file and the store
// are unchanged and Save returns the error. A context already done when
// Save starts stops it; once the write has started it completes.
func (s *Store) Save(ctx context.Context, r breaker.Record) (breaker.Record, error) {
	if err := ctx.Err(); err != nil {
		return breaker.Record{}, err
	}
	if r.Name == "" {
		return breaker.Record{}, errors.New("filestore: a record needs a name")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return breaker.Record{}, ErrClosed
	}
	now := s.now()
	next := make(map[string]entry, len(s.entries)+1)
	for name, e := range s.entries {
		next[name] = e
	}
	gen := s.gen + 1
	r.Gen = gen
	switch r.State {
	case breaker.Open, breaker.ForcedOpen, breaker.Disabled:
		next[r.Name] = entryOf(r, now)
	default: // Closed (and HalfOpen, never stored): the name has nothing to restore
		delete(next, r.Name)
	}
	if err := s.write(file{Version: formatVersion, Gen: gen, Breakers: next}); err != nil {
		return breaker.Record{}, err
	}
	s.gen, s.entries = gen, next
	return r, nil
}

// write replaces the file with f: temporary file, sync, rename, sync of
// the directory. On failure the temporary file is removed and the file is
// as it was (unless the failure was syncing the directory after the
// rename, when the new content is in place but may not survive a power
// loss).
func (s *Store) write(f file) error {
	data, err := encode(f)
	if err != nil {
		return fmt.Errorf("filestore: %w", err)
	}
	tmp, err := s.createTemp(s.dir, s.tempPrefix())
	if err != nil {
		return fmt.Errorf("filestore: writing %s: %w", s.path, err)
	}
	name := tmp.Name()
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.rename(name, s.path)
	}
	if err != nil {
		os.Remove(name)
		return fmt.Errorf("filestore: writing %s: %w", s.path, err)
	}
	if err := s.syncDir(s.dir); err != nil {
		return fmt.Errorf("filestore: syncing %s after writing %s: %w", s.dir, s.path, err)
	}
	return nil
}

// syncDir fsyncs a directory, so that a rename in it is durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Close releases the file's lock. The file stays. Close is idempotent and
// always returns nil; after it, Load and Save return ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		s.lock.release()
	}
	return nil
}
