package prom

import (
	"sync/atomic"

	dto "github.com/prometheus/client_model/go"

	"github.com/breakerlabs/breaker"
)

// An entry is what a collector (or a Handler) keeps of one breaker from
// one scrape to the next: its name label and the label pairs of all its
// series, made once for the breaker instead of once per series per scrape. It is never
// modified after newEntry returns, except that trans is set once; so
// concurrent scrapes and the registries' consumers may read it freely. A
// breaker removed and created again under its name is another
// *breaker.Breaker and so gets another entry; a breaker whose name label
// changes (an invalid UTF-8 name whose suffix depends on the other names)
// gets a new entry too. A Handler's entries have only b, label and esc.
type entry struct {
	c     *collector
	b     *breaker.Breaker
	label string        // the name label's value
	esc   string        // label escaped for the text format (Handler's entries only)
	name  dto.LabelPair // {name="<label>"}, shared by every set below

	// sets are the numPairSets label sets {name, state} and {kind, name}
	// of w() labels each, then {name} of w−1, each merged with the constant
	// labels and sorted by label name, as a dto.Metric's labels must be.
	sets []*dto.LabelPair
	// trans are the {from, name, to} sets of the transition counters, w+1
	// labels each, [from][to] by State: made at the first scrape that finds
	// the breaker has changed state, which most breakers never do.
	trans atomic.Pointer[[]*dto.LabelPair]

	inline [numPairSets*2 + 1]*dto.LabelPair // sets, without constant labels
}

// newEntry makes the entry of breaker b, whose name label is label.
func newEntry(c *collector, b *breaker.Breaker, label string) *entry {
	e := &entry{c: c, b: b, label: label}
	e.name.Name, e.name.Value = &labelName, &e.label
	n := numPairSets*e.w() + e.w() - 1
	if n <= len(e.inline) {
		e.sets = e.inline[:0:n]
	} else {
		e.sets = make([]*dto.LabelPair, 0, n)
	}
	for i := range states {
		e.sets = c.merge(e.sets, &e.name, statePairs[i])
	}
	for k := range kinds {
		e.sets = c.merge(e.sets, kindPairs[k], &e.name)
	}
	e.sets = c.merge(e.sets, &e.name)
	return e
}

// w returns the number of labels in a set with two variable labels: 2 +
// the constant labels. (Not a field: the entry stays in a 288-byte size
// class with esc.)
func (e *entry) w() int { return 2 + len(e.c.constPairs) }

// labels returns the label set set (setState+State, setKind+kind index or
// setName). Its capacity ends with it, so an append copies.
func (e *entry) labels(set int) []*dto.LabelPair {
	w := e.w()
	i := set * w
	if set == setName {
		w--
	}
	return e.sets[i : i+w : i+w]
}

// transLabels returns the labels of the transition counter from → to
// (indexes into states), making every transition's set the first time.
// Safe for concurrent use.
func (e *entry) transLabels(from, to int) []*dto.LabelPair {
	t := e.trans.Load()
	if t == nil {
		ls := make([]*dto.LabelPair, 0, len(states)*len(states)*(e.w()+1))
		for f := range states {
			for to := range states {
				ls = e.c.merge(ls, fromPairs[f], &e.name, toPairs[to])
			}
		}
		if e.trans.CompareAndSwap(nil, &ls) {
			t = &ls
		} else {
			t = e.trans.Load()
		}
	}
	w := e.w() + 1
	i := (from*len(states) + to) * w
	return (*t)[i : i+w : i+w]
}
