package filestore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/breakerlabs/breaker"
)

// formatVersion is the version of the file format this package writes.
const formatVersion = 1

// file is the state file's content (see the package documentation).
type file struct {
	Version  int              `json:"version"`
	Gen      uint64           `json:"gen"`
	Breakers map[string]entry `json:"breakers"`
}

// entry is one breaker's stored state.
type entry struct {
	State   breaker.State  `json:"state"`
	Until   *time.Time     `json:"until,omitempty"` // Open: the end of the open period
	Since   *time.Time     `json:"since,omitempty"`
	Attempt int            `json:"attempt,omitempty"`
	Reason  breaker.Reason `json:"reason,omitempty"`
	Manual  bool           `json:"manual,omitempty"`
	Gen     uint64         `json:"gen,omitempty"`
	Origin  string         `json:"origin,omitempty"`
}

// entryOf is the entry for r written at now: an Open record's remaining
// time becomes an absolute end, so the file says when, readably.
func entryOf(r breaker.Record, now time.Time) entry {
	e := entry{State: r.State, Attempt: r.Attempt, Reason: r.Reason, Manual: r.Manual, Gen: r.Gen, Origin: r.Origin}
	if !r.Since.IsZero() {
		since := r.Since.UTC()
		e.Since = &since
	}
	if r.State == breaker.Open {
		until := now.Add(r.Remaining).UTC()
		e.Until = &until
	}
	return e
}

// record is e as a Record for name, loaded at now.
func (e entry) record(name string, now time.Time) breaker.Record {
	r := breaker.Record{Name: name, State: e.State, Attempt: e.Attempt, Reason: e.Reason,
		Manual: e.Manual, Gen: e.Gen, Origin: e.Origin}
	if e.Since != nil {
		r.Since = *e.Since
	}
	if e.State == breaker.Open && e.Until != nil {
		r.Remaining = e.Until.Sub(now)
	}
	return r
}

// newerVersionError is a file written by a newer version of this package:
// never moved aside, never overwritten.
type newerVersionError struct{ version int }

func (e *newerVersionError) Error() string {
	return fmt.Sprintf("filestore: the state file has format version %d; this version of filestore reads up to %d", e.version, formatVersion)
}

// decode parses and checks a state file. Closed entries are dropped.
func decode(data []byte) (file, error) {
	// The version first, leniently: a newer file may have fields this
	// version does not know, and must be refused, not moved aside.
	var v struct {
		Version int `json:"version"`
	}
	if json.Unmarshal(data, &v) == nil && v.Version > formatVersion {
		return file{}, &newerVersionError{version: v.Version}
	}
	var f file
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return file{}, fmt.Errorf("invalid JSON: %w", err)
	}
	if dec.More() {
		return file{}, errors.New("invalid JSON: more than one value")
	}
	if f.Version < 0 {
		return file{}, fmt.Errorf("version %d", f.Version)
	}
	if f.Breakers == nil {
		f.Breakers = map[string]entry{}
	}
	for name, e := range f.Breakers {
		switch {
		case name == "":
			return file{}, errors.New(`breakers: an entry with an empty name`)
		case e.State == breaker.Closed:
			delete(f.Breakers, name)
		case e.State == breaker.HalfOpen:
			return file{}, fmt.Errorf("breakers.%s.state: half-open is never stored (use open with until)", name)
		case e.Attempt < 0:
			return file{}, fmt.Errorf("breakers.%s.attempt: %d is negative", name, e.Attempt)
		}
		f.Gen = max(f.Gen, e.Gen)
	}
	return f, nil
}

// encode formats f for the file: indented, one breaker per block, sorted
// by name (encoding/json sorts map keys), with a final newline.
func encode(f file) ([]byte, error) {
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}
