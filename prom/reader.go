package prom

import (
	"slices"
	"strings"
	"sync"

	"github.com/breakerlabs/breaker"
)

// A reader finds a supervisor's breakers for a scrape and keeps an entry
// per breaker from one scrape to the next: the part of a scrape both
// encoders share (the collector's and the text handler's), so that they
// name, order and forget breakers the same way.
type reader struct {
	s *breaker.Supervisor
	// newEntry makes the entry of breaker b, whose name label is label.
	newEntry func(b *breaker.Breaker, label string) *entry

	mu    sync.Mutex
	cache map[*breaker.Breaker]*entry // the breakers of the last scrapes; under mu
}

// newReader returns a reader of s making its entries with newEntry.
func newReader(s *breaker.Supervisor, newEntry func(*breaker.Breaker, string) *entry) reader {
	return reader{s: s, newEntry: newEntry, cache: make(map[*breaker.Breaker]*entry)}
}

// entries returns the entries of the supervisor's breakers, sorted by
// their name labels, making those of breakers the cache does not have and
// dropping from it those of breakers that are gone. Safe for concurrent
// use.
func (rd *reader) entries() []*entry {
	names := rd.s.Names()
	invalid := invalidLabels(names)
	rows := make([]*entry, 0, len(names))
	rd.mu.Lock()
	defer rd.mu.Unlock()
	for _, name := range names {
		b, ok := rd.s.Get(name)
		if !ok {
			continue // removed since Names
		}
		label := name
		if invalid != nil {
			if l, ok := invalid[name]; ok {
				label = l
			}
		}
		e := rd.cache[b]
		if e == nil || e.label != label {
			e = rd.newEntry(b, label)
			rd.cache[b] = e
		}
		rows = append(rows, e)
	}
	// Every breaker found has its entry now, so any more are stale.
	if len(rd.cache) > len(rows) {
		for b := range rd.cache {
			if cur, ok := rd.s.Get(b.Name()); !ok || cur != b {
				delete(rd.cache, b)
			}
		}
	}
	if invalid != nil {
		slices.SortFunc(rows, func(a, b *entry) int { return strings.Compare(a.label, b.label) })
	}
	return rows
}
