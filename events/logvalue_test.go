package events_test

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/breakerlabs/breaker/engine"
	"github.com/breakerlabs/breaker/events"
)

// logJSON logs e as the attribute "event" through a JSON handler without
// time or level, and returns the line.
func logJSON(e events.Event) string {
	var buf bytes.Buffer
	h := slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey) {
			return slog.Attr{}
		}
		return a
	}})
	slog.New(h).Info("m", "event", e)
	return strings.TrimSuffix(buf.String(), "\n")
}

func TestEventLogValue(t *testing.T) {
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		e    events.Event
		want string
	}{
		{"trip by rate", events.Event{Breaker: "payments", Seq: 3, Time: at, Kind: events.StateChanged,
			From: engine.Closed, To: engine.Open, Reason: events.ReasonFailureRate, Rate: 0.625,
			Until: at.Add(30 * time.Second)},
			`"event":{"breaker":"payments","seq":3,"kind":"state-changed","from":"closed","to":"open","reason":"failure-rate","rate":0.625,"until":"2026-12-01T12:00:30Z"}`},
		{"trip by count", events.Event{Breaker: "p", Seq: 1, Kind: events.StateChanged,
			From: engine.Closed, To: engine.Open, Reason: events.ReasonConsecutiveFailures, Count: 5},
			`"event":{"breaker":"p","seq":1,"kind":"state-changed","from":"closed","to":"open","reason":"consecutive-failures","count":5}`},
		{"reopen with backoff", events.Event{Breaker: "p", Seq: 7, Kind: events.StateChanged,
			From: engine.HalfOpen, To: engine.Open, Reason: events.ReasonProbeFailed, Attempt: 2,
			Until: at.Add(2 * time.Minute)},
			`"event":{"breaker":"p","seq":7,"kind":"state-changed","from":"half-open","to":"open","reason":"probe-failed","until":"2026-12-01T12:02:00Z","attempt":2}`},
		{"manual reset: no rate, no count, no time", events.Event{Breaker: "p", Seq: 9, Time: at, Kind: events.StateChanged,
			From: engine.ForcedOpen, To: engine.Closed, Reason: events.ReasonManual},
			`"event":{"breaker":"p","seq":9,"kind":"state-changed","from":"forced-open","to":"closed","reason":"manual"}`},
		{"a rate trip at rate 0 still says so", events.Event{Breaker: "p", Seq: 2, Kind: events.StateChanged,
			From: engine.Closed, To: engine.Open, Reason: events.ReasonSlowCallRate},
			`"event":{"breaker":"p","seq":2,"kind":"state-changed","from":"closed","to":"open","reason":"slow-call-rate","rate":0}`},
		{"remote", events.Event{Breaker: "p", Seq: 4, Kind: events.StateChanged,
			From: engine.Closed, To: engine.Open, Reason: events.ReasonRemote, Origin: "host-a-12"},
			`"event":{"breaker":"p","seq":4,"kind":"state-changed","from":"closed","to":"open","reason":"remote","origin":"host-a-12"}`},
		{"store failure of a load", events.Event{Seq: 0, Kind: events.StoreFailed, Err: errors.New("disk full")},
			`"event":{"kind":"store-failed","err":"disk full"}`},
		{"actor restarted", events.Event{Breaker: "p", Seq: 5, Kind: events.ActorRestarted, From: engine.Open, To: engine.Open},
			`"event":{"breaker":"p","seq":5,"kind":"actor-restarted","to":"open"}`},
		{"call with duration", events.Event{Breaker: "p", Seq: 6, Kind: events.CallFailed, Duration: 12 * time.Millisecond},
			`"event":{"breaker":"p","seq":6,"kind":"call-failed","duration":12000000}`},
		{"rejection", events.Event{Breaker: "p", Seq: 8, Kind: events.CallRejected},
			`"event":{"breaker":"p","seq":8,"kind":"call-rejected"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := `{"msg":"m",` + tc.want + `}`
			if got := logJSON(tc.e); got != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}

// The text handler spells the group as dotted keys.
func ExampleEvent_LogValue() {
	h := slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}})
	logger := slog.New(h)
	e := events.Event{Breaker: "payments", Seq: 3, Kind: events.StateChanged,
		From: engine.Closed, To: engine.Open, Reason: events.ReasonFailureRate, Rate: 0.62,
		Until: time.Date(2026, 12, 1, 12, 0, 30, 0, time.UTC)}
	logger.Warn("breaker opened", "event", e)
	// Output:
	// level=WARN msg="breaker opened" event.breaker=payments event.seq=3 event.kind=state-changed event.from=closed event.to=open event.reason=failure-rate event.rate=0.62 event.until=2026-12-01T12:00:30.000Z
}
