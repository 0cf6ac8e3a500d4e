package breakerredis

import (
	"time"

	"github.com/benbjohnson/clock"
)

// An Option configures a Store at New.
type Option interface{ apply(*options) }

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

type options struct {
	quorum       int
	singleProber bool
	antiEntropy  time.Duration
	timeout      time.Duration
	health       time.Duration
	clock        clock.Clock
	instance     string
}

func defaultOptions() options {
	return options{
		quorum:      1,
		antiEntropy: 30 * time.Second,
		timeout:     time.Second,
		health:      time.Second,
		clock:       clock.New(),
	}
}

// WithQuorum makes Watch (and Load) pass on another instance's automatic
// Open only once k distinct instances have opened the breaker within one
// open period each, so that one bad instance cannot open the whole fleet.
// Operator actions and closings are passed on as usual. k ≤ 1 (the
// default) passes on every Open.
func WithQuorum(k int) Option {
	return optionFunc(func(o *options) { o.quorum = max(k, 1) })
}

// WithSingleProber makes one instance probe after a fleet-wide open
// period while the others stay Open until it decides: near the end of the
// period every instance with this option asks for a lease (SET … PX, one
// open period long); the winner's breaker goes half-open on its own, the
// others are handed an Open lasting until the lease ends. If the winner's
// probes close the breaker, everyone closes; if they fail, everyone
// reopens; if it never decides (no traffic, crashed), the lease runs out
// and another instance takes it. Give it to every instance of the fleet.
func WithSingleProber() Option {
	return optionFunc(func(o *options) { o.singleProber = true })
}

// WithAntiEntropy sets how often Watch reloads the whole namespace to
// repair anything pub/sub lost (default 30 s); d ≤ 0 turns it off (reloads
// still follow every reconnection).
func WithAntiEntropy(d time.Duration) Option {
	return optionFunc(func(o *options) { o.antiEntropy = d })
}

// WithTimeout bounds every Redis call the store makes (default 1 s; d ≤ 0
// keeps the default). The bound reaches the socket only if the client was
// made with ContextTimeoutEnabled; otherwise the client's own read and
// write timeouts apply as well.
func WithTimeout(d time.Duration) Option {
	return optionFunc(func(o *options) {
		if d > 0 {
			o.timeout = d
		}
	})
}

// WithHealthCheck sets how often an idle subscription is pinged (default
// 1 s; d ≤ 0 keeps the default). A subscription that has heard nothing for
// three intervals is dropped and made again, which reloads the namespace.
func WithHealthCheck(d time.Duration) Option {
	return optionFunc(func(o *options) {
		if d > 0 {
			o.health = d
		}
	})
}

// WithClock makes the store read this instance's time (when a remaining
// open time runs out, when to ask for the probe lease) from c; give it the
// supervisor's clock. Redis's own TIME stays the store's reference for
// everything shared, so clocks of different instances never meet.
func WithClock(c clock.Clock) Option {
	return optionFunc(func(o *options) {
		if c != nil {
			o.clock = c
		}
	})
}

// WithInstance tells the store the Origin its supervisor saves with (the
// id given to breaker.WithInstance). Without it the store learns the
// Origin from the first record it saves, and until then holds a probe
// lease (WithSingleProber) under a random token. Either way Watch leaves
// out the records this instance wrote.
func WithInstance(id string) Option {
	return optionFunc(func(o *options) { o.instance = id })
}
