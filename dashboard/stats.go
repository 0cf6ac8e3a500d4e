package dashboard

import (
	"encoding/json"
	"slices"
	"strconv"
)

// statsUpdate is one sample's rate update, shared (read-only) by every
// client it is pushed to.
type statsUpdate struct {
	now     int64
	rows    []namedRow
	removed []string
}

// namedRow is one breaker's view, encoded.
type namedRow struct {
	name string
	json []byte
}

// merge folds u into r: u's rows replace r's, a breaker gone in u is gone,
// and a row in u revives a breaker r had as gone.
func (r *statsRows) merge(u *statsUpdate) {
	r.now = u.now
	for _, name := range u.removed {
		if _, ok := r.rows[name]; ok {
			delete(r.rows, name)
			r.order = slices.DeleteFunc(r.order, func(n string) bool { return n == name })
		}
		r.removed[name] = true
	}
	for _, row := range u.rows {
		if _, ok := r.rows[row.name]; !ok {
			r.order = append(r.order, row.name)
		}
		r.rows[row.name] = row.json
		delete(r.removed, row.name)
	}
}

// message encodes r as a "stats" event (a Stats document).
func (r *statsRows) message() message {
	b := make([]byte, 0, 64+256*len(r.rows))
	b = append(b, `{"now":`...)
	b = strconv.AppendInt(b, r.now, 10)
	b = append(b, `,"rows":[`...)
	for i, name := range r.order {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, r.rows[name]...)
	}
	b = append(b, ']')
	if len(r.removed) > 0 {
		names := make([]string, 0, len(r.removed))
		for n := range r.removed {
			names = append(names, n)
		}
		slices.Sort(names)
		j, _ := json.Marshal(names)
		b = append(b, `,"removed":`...)
		b = append(b, j...)
	}
	return message{event: "stats", data: append(b, '}')}
}
