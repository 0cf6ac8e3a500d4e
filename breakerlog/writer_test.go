package breakerlog

import (
	"bytes"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/breakerlabs/breaker"
	"github.com/breakerlabs/breaker/events"
)

// TestErrorKinds: ActorRestarted and StoreFailed are logged at Error, with
// the event's attributes (a store failure of a load names no breaker). The
// events come from a hub of their own, since a healthy supervisor makes
// neither.
func TestErrorKinds(t *testing.T) {
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	hub := events.NewHub()
	var buf syncBuffer
	sub := hub.Subscribe(events.WithKinds(events.StateChanged, events.ActorRestarted, events.StoreFailed))
	stop := start(sub, slog.NewJSONHandler(&buf, nil), defaults())
	hub.Publish(events.Event{Breaker: "payments", Seq: 7, Time: at, Kind: events.ActorRestarted,
		From: breaker.Open, To: breaker.Open})
	hub.Publish(events.Event{Time: at, Kind: events.StoreFailed, Err: errors.New("open /var/lib/breaker.json: permission denied")})
	hub.Publish(events.Event{Breaker: "payments", Seq: 8, Time: at, Kind: events.StoreFailed, Err: errors.New("dial tcp: connection refused")})
	stop() // logs what was received, then ends
	hub.Close()
	want := `{"time":"2026-12-01T12:00:00Z","level":"ERROR","msg":"circuit breaker actor restarted","breaker":"payments","seq":7,"kind":"actor-restarted","to":"open"}
{"time":"2026-12-01T12:00:00Z","level":"ERROR","msg":"circuit breaker state store failed","kind":"store-failed","err":"open /var/lib/breaker.json: permission denied"}
{"time":"2026-12-01T12:00:00Z","level":"ERROR","msg":"circuit breaker state store failed","breaker":"payments","seq":8,"kind":"store-failed","err":"dial tcp: connection refused"}
`
	if got := buf.String(); got != want {
		t.Fatalf("log:\n%s\nwant:\n%s", got, want)
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
