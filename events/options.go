package events

// Option configures a subscription made by Hub.Subscribe. Options are
// immutable values and may be built once and shared between goroutines.
type Option interface {
	apply(*subConfig)
}

type subConfig struct {
	buffer   int
	kinds    kindSet
	breakers map[string]struct{} // nil: every breaker
}

type optionFunc func(*subConfig)

func (f optionFunc) apply(c *subConfig) { f(c) }

// defaultBuffer is the capacity of a subscription's channel when WithBuffer
// is not given.
const defaultBuffer = 64

// WithBuffer sets the capacity of the subscription's channel (default 64).
// When the buffer is full, further events are dropped for that subscriber
// and counted in Dropped. A value below 1 is treated as 1: an unbuffered
// channel would drop nearly everything, because the hub never waits.
// The last WithBuffer given wins.
func WithBuffer(n int) Option {
	if n < 1 {
		n = 1
	}
	return optionFunc(func(c *subConfig) { c.buffer = n })
}

// WithKinds restricts the subscription to the given kinds. Several WithKinds
// options add up (the union is used). Without any kind given — no WithKinds
// at all, or only WithKinds() with no arguments — a subscription receives
// StateChanged, ActorRestarted and StoreFailed. Use WithKinds(AllKinds()...) for all.
func WithKinds(k ...Kind) Option {
	var set kindSet
	for _, kind := range k {
		set |= kind.bit()
	}
	return optionFunc(func(c *subConfig) { c.kinds |= set })
}

// WithBreakers restricts the subscription to events whose Event.Breaker is
// one of names. Several WithBreakers options add up (the union is used).
// Without any name given — no WithBreakers at all, or only WithBreakers()
// with no arguments — the subscription receives events of every breaker.
func WithBreakers(names ...string) Option {
	names = append([]string(nil), names...) // the caller may reuse its slice
	return optionFunc(func(c *subConfig) {
		if len(names) == 0 {
			return
		}
		if c.breakers == nil {
			c.breakers = make(map[string]struct{}, len(names))
		}
		for _, n := range names {
			c.breakers[n] = struct{}{}
		}
	})
}

func buildConfig(opts []Option) subConfig {
	c := subConfig{buffer: defaultBuffer}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	if c.kinds == 0 {
		c.kinds = defaultKinds
	}
	return c
}
