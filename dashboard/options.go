package dashboard

import (
	"net/http"
	"time"

	"github.com/benbjohnson/clock"
)

// Option configures a Handler; pass them to New, which applies them once,
// in order (a later option overrides an earlier one). Options are plain
// values, safe to share between goroutines and handlers.
type Option func(*options)

type options struct {
	interval     time.Duration
	history      time.Duration
	writeTimeout time.Duration
	allow        func(*http.Request) bool
	clock        clock.Clock
}

const (
	defaultInterval     = time.Second
	defaultHistory      = 2 * time.Minute
	defaultWriteTimeout = 5 * time.Second
	// latencySpan is how far back the latency quantiles look.
	latencySpan = 10 * time.Second
	// pingEvery is how often an idle stream gets an SSE comment, so that
	// proxies and browsers keep it open.
	pingEvery = 15 * time.Second
	// retryMillis is the reconnection delay the stream asks the browser for.
	retryMillis = 1000
	// queueLimit bounds each stream client's queue of unsent messages.
	queueLimit = 256
	// eventBuffer is the buffer of the handler's own event subscription.
	eventBuffer = 1024
)

func defaultOptions() options {
	return options{
		interval:     defaultInterval,
		history:      defaultHistory,
		writeTimeout: defaultWriteTimeout,
		clock:        clock.New(),
	}
}

// WithInterval sets how often the stream sends rates (and the sampler reads
// the supervisor) while a client is connected. The default is 1 s; a value
// ≤ 0 keeps it, and values under 10 ms are raised to 10 ms.
func WithInterval(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.interval = max(d, 10*time.Millisecond)
		}
	}
}

// WithHistory sets how far back the sparklines reach. The default is
// 2 minutes; a value ≤ 0 keeps it.
func WithHistory(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.history = d
		}
	}
}

// WithWriteTimeout sets the deadline of each write to a stream client
// (default 5 s; a value ≤ 0 keeps it). A client that does not take a
// message within it is disconnected; its browser reconnects and gets a
// fresh snapshot.
func WithWriteTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.writeTimeout = d
		}
	}
}

// WithControl enables the admin endpoint, POST
// ./api/breakers/{name}/{reset|force-open|disable}, for the requests allow
// returns true for (check authentication there). allow is called on the
// request's goroutine, possibly concurrently. Without this option, or with
// a nil allow, every such request gets 403 and no breaker is touched. The
// page shows its buttons only when control is enabled.
func WithControl(allow func(*http.Request) bool) Option {
	return func(o *options) { o.allow = allow }
}

// WithClock sets the clock the sampler reads and ticks on (default: the
// real clock). Pass the clock the supervisor's breakers use, so the page's
// open-until countdowns agree with them.
func WithClock(c clock.Clock) Option {
	return func(o *options) {
		if c != nil {
			o.clock = c
		}
	}
}
