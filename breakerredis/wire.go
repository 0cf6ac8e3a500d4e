package breakerredis

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/breakerlabs/breaker"
)

// maxGen keeps every gen exact in Lua's doubles (2^53).
const maxGen = 1<<53 - 1

// stored is one record in the wire form the scripts produce: a Record plus
// the store's own bookkeeping.
type stored struct {
	breaker.Record
	votes   int           // distinct instances whose automatic open is still running
	probe   bool          // a lease holder's record: the fleet stays open while it probes
	period  time.Duration // Open: the length of the open period
	verdict string        // Save: "stored", "kept", "held" or "early"
}

// wireJSON is the JSON half of a wire record (see common.lua).
type wireJSON struct {
	S   uint8  `json:"s"`
	Rem int64  `json:"rem"`
	A   int    `json:"a"`
	R   uint8  `json:"r"`
	M   int    `json:"m"`
	G   uint64 `json:"g"`
	P   int64  `json:"p"`
	B   uint64 `json:"b"`
	O   string `json:"o"`
	T   int64  `json:"t"`
	Q   int    `json:"q"`
	K   int    `json:"k"`
}

var errWire = errors.New("breakerredis: malformed record from redis")

// decodeWire parses "<len(name)>:<name><json>". The name is framed by its
// length, so any byte string survives as a breaker name.
func decodeWire(s string) (stored, error) {
	i := strings.IndexByte(s, ':')
	if i <= 0 {
		return stored{}, errWire
	}
	n, err := strconv.Atoi(s[:i])
	if err != nil || n < 0 || i+1+n > len(s) {
		return stored{}, errWire
	}
	name, rest := s[i+1:i+1+n], s[i+1+n:]
	var w wireJSON
	if err := json.Unmarshal([]byte(rest), &w); err != nil {
		return stored{}, fmt.Errorf("%w: %v", errWire, err)
	}
	origin, err := url.QueryUnescape(w.O)
	if err != nil {
		origin = w.O
	}
	r := breaker.Record{
		Name:      name,
		State:     breaker.State(w.S),
		Remaining: time.Duration(w.Rem) * time.Microsecond,
		Attempt:   w.A,
		Reason:    breaker.Reason(w.R),
		Manual:    w.M == 1,
		Gen:       w.G,
		BaseGen:   w.B,
		Origin:    origin,
	}
	if w.T != 0 {
		r.Since = time.UnixMicro(w.T)
	}
	if r.State != breaker.Open {
		r.Remaining = 0
	}
	return stored{Record: r, votes: w.K, probe: w.Q == 1,
		period: time.Duration(w.P) * time.Microsecond}, nil
}

// saveArgs are the script's ARGV[3:12] for r.
func saveArgs(op, channel string, r breaker.Record, margin time.Duration) []any {
	var since int64
	if !r.Since.IsZero() {
		since = r.Since.UnixMicro()
	}
	manual := 0
	if r.Manual {
		manual = 1
	}
	return []any{op, channel, r.Name, int(r.State), manual,
		r.Remaining.Microseconds(), r.Attempt, int(r.Reason),
		min(r.BaseGen, maxGen), escapeOrigin(r.Origin), since, margin.Microseconds()}
}

// escapeOrigin keeps an instance id readable in redis-cli and safe in
// JSON whatever its bytes (QueryUnescape reverses it exactly).
func escapeOrigin(o string) string { return url.QueryEscape(o) }
