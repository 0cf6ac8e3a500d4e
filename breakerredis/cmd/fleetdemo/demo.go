package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/breakerlabs/breaker"
	"github.com/breakerlabs/breaker/breakerhttp"
	"github.com/breakerlabs/breaker/breakerredis"
	"github.com/breakerlabs/breaker/events"
	"github.com/redis/go-redis/v9"
)

// The script, in units of scale: the backend fails from failAt to healAt;
// the demo ends at endAt.
const (
	failAt = 1500 * time.Millisecond
	healAt = 4500 * time.Millisecond
	endAt  = 9500 * time.Millisecond
)

// instance is one member of the demo fleet.
type instance struct {
	id     string
	every  time.Duration // one call per period
	sup    *breaker.Supervisor
	st     *breakerredis.Store
	rdb    *redis.Client
	client *http.Client
	sent   atomic.Int64 // calls that reached the backend while it failed
	kept   atomic.Int64 // calls the breaker kept off it
}

// run plays the script; scale < 1 speeds it up (tests).
func run(ctx context.Context, out io.Writer, addr string, scale float64) error {
	at := func(d time.Duration) time.Duration { return time.Duration(float64(d) * scale) }
	if addr == "" {
		a, stop, err := startRedis(ctx)
		if err != nil {
			return err
		}
		defer stop()
		addr = a
		fmt.Fprintf(out, "private redis-server on %s (no persistence; stopped at the end)\n", addr)
	} else {
		fmt.Fprintf(out, "using the Redis at %s\n", addr)
	}
	ns := "fleetdemo-" + strconv.FormatInt(time.Now().UnixNano(), 36)

	// The backend: fails with 503 between failAt and healAt.
	start := time.Now()
	var failing atomic.Bool
	hits := map[string]*atomic.Int64{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			if n := hits[r.Header.Get("X-Instance")]; n != nil {
				n.Add(1)
			}
			http.Error(w, "backend down", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok")
	})}
	go srv.Serve(l)
	defer srv.Close()
	url := "http://" + l.Addr().String() + "/pay"

	cfg := breaker.DefaultConfig()
	cfg.ConsecutiveFailures = 5
	cfg.OpenTimeout = at(2 * time.Second)
	cfg.MaxOpenTimeout = at(10 * time.Second)
	cfg.HalfOpen = breaker.HalfOpenPolicy{MaxProbes: 1, Mode: breaker.Strict, SuccessThreshold: 2, MaxWait: at(5 * time.Second)}

	fleet := []*instance{{id: "a", every: at(5 * time.Millisecond)},
		{id: "b", every: at(50 * time.Millisecond)}, {id: "c", every: at(50 * time.Millisecond)}}
	var tl timeline
	tl.start, tl.out = start, out
	for _, in := range fleet {
		hits[in.id] = &in.sent
		in.rdb = redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
		in.st = breakerredis.New(in.rdb, ns, breakerredis.WithSingleProber(), breakerredis.WithInstance(in.id))
		in.sup = breaker.NewSupervisor(breaker.WithStateStore(in.st), breaker.WithInstance(in.id))
		tr, err := breakerhttp.NewTransport(in.sup, cfg)
		if err != nil {
			return err
		}
		in.client = &http.Client{Transport: tr, Timeout: time.Second}
		sub := in.sup.Subscribe()
		tl.follow(in.id, sub)
	}
	defer func() {
		for _, in := range fleet {
			in.sup.Close()
			in.st.Close()
			cleanup(in.rdb, ns)
			in.rdb.Close()
		}
		tl.wait()
	}()
	tl.mu.Lock() // the followers print already
	fmt.Fprintf(out, "three instances (a calls every %v, b and c every %v) share namespace %q\n",
		fleet[0].every, fleet[1].every, ns)
	fmt.Fprintf(out, "backend fails at %v, recovers at %v; open period %v, one prober at a time\n\n",
		at(failAt), at(healAt), cfg.OpenTimeout)
	tl.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, at(endAt))
	defer cancel()
	var wg sync.WaitGroup
	for _, in := range fleet {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in.drive(ctx, url, &failing)
		}()
	}
	script := []struct {
		d    time.Duration
		fail bool
		say  string
	}{{at(failAt), true, "backend starts failing"}, {at(healAt), false, "backend recovers"}}
	for _, s := range script {
		select {
		case <-ctx.Done():
		case <-time.After(time.Until(start.Add(s.d))):
			failing.Store(s.fail)
			tl.say("--", s.say)
		}
	}
	<-ctx.Done()
	wg.Wait()
	// The followers go on printing transitions until the deferred Closes
	// end their subscriptions (a timer can still fire): write under their lock.
	tl.mu.Lock()
	fmt.Fprintf(out, "\ncalls sent to the failing backend / kept off it by the breaker:\n")
	for _, in := range fleet {
		fmt.Fprintf(out, "  %s  %4d sent  %4d kept off\n", in.id, in.sent.Load(), in.kept.Load())
	}
	tl.mu.Unlock()
	return nil
}

// drive calls the backend every in.every until ctx is done.
func (in *instance) drive(ctx context.Context, url string, failing *atomic.Bool) {
	t := time.NewTicker(in.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		req.Header.Set("X-Instance", in.id)
		resp, err := in.client.Do(req)
		if err != nil {
			if failing.Load() && ctx.Err() == nil {
				in.kept.Add(1)
			}
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// cleanup deletes the demo's own keys (never anything else).
func cleanup(rdb *redis.Client, ns string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	prefix := "breaker:{" + ns + "}"
	keys := []string{prefix}
	iter := rdb.Scan(ctx, 0, prefix+":lease:*", 100).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	rdb.Del(ctx, keys...)
}

// timeline prints every instance's transitions as they happen, and for an
// adopted one how long after its origin's own decision it came.
type timeline struct {
	start time.Time
	out   io.Writer
	mu    sync.Mutex
	last  map[string]time.Time // origin → its latest own decision
	wg    sync.WaitGroup
}

func (tl *timeline) follow(id string, sub *events.Subscription) {
	tl.wg.Add(1)
	go func() {
		defer tl.wg.Done()
		for e := range sub.C() {
			if e.Kind == events.StateChanged {
				tl.change(id, e)
			}
		}
	}()
}

func (tl *timeline) wait() { tl.wg.Wait() }

func (tl *timeline) say(who, what string) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	fmt.Fprintf(tl.out, "%8.3fs  %-2s %s\n", time.Since(tl.start).Seconds(), who, what)
}

func (tl *timeline) change(id string, e events.Event) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if tl.last == nil {
		tl.last = map[string]time.Time{}
	}
	why := e.Reason.String()
	if e.Reason == breaker.ReasonRemote {
		why = "remote, from " + e.Origin
		switch t, ok := tl.last[e.Origin]; {
		case e.From == breaker.Open && e.To == breaker.Open:
			why += fmt.Sprintf(": open %.2fs more", e.Until.Sub(e.Time).Seconds())
		case ok:
			why += fmt.Sprintf(", %.1f ms after it", float64(e.Time.Sub(t).Microseconds())/1000)
		}
	} else if e.To != breaker.HalfOpen {
		tl.last[id] = e.Time
	}
	if e.To == breaker.HalfOpen {
		why += " (holds the probe lease: the others stay open)"
	}
	fmt.Fprintf(tl.out, "%8.3fs  %-2s %-11s → %-11s %s\n", e.Time.Sub(tl.start).Seconds(), id, e.From, e.To, why)
}
