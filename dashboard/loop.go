package dashboard

import (
	"encoding/json"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/breakerlabs/breaker/events"
)

// loop is the handler's one goroutine. It owns the sampler and the set of
// stream clients: it follows the supervisor's events (recording each
// transition and pushing it to every client at once), samples every
// interval while a client is connected, and answers snapshot requests. It
// never waits for a client (pushes are non-blocking), so a stalled client
// delays no one.
func (h *Handler) loop(sub *events.Subscription) {
	defer close(h.loopDone)
	defer sub.Close()
	s := newSampler(h.sup, h.o)
	clients := make(map[*client]struct{})
	var ticker *clock.Ticker
	var tick <-chan time.Time
	stopTicker := func() {
		if ticker != nil {
			ticker.Stop()
			ticker, tick = nil, nil
			h.sampling.Store(false)
		}
	}
	defer stopTicker()
	evc := sub.C()
	var dropped uint64
	snapshot := func() message {
		// The page shows no configuration: leave it to ./api/snapshot.
		data, _ := json.Marshal(s.snapshot(h.o.clock.Now(), h.o.allow != nil, false))
		return message{event: "snapshot", data: data}
	}
	for {
		select {
		case <-h.done:
			return
		case c := <-h.reg:
			clients[c] = struct{}{}
			if ticker == nil {
				ticker = h.o.clock.Ticker(h.o.interval)
				tick = ticker.C
				h.sampling.Store(true)
			}
			c.reset(snapshot())
		case c := <-h.unreg:
			delete(clients, c)
			if len(clients) == 0 {
				stopTicker()
			}
		case c := <-h.resync:
			if _, ok := clients[c]; ok {
				c.reset(snapshot())
			}
		case reply := <-h.snapReq:
			data, _ := json.Marshal(s.snapshot(h.o.clock.Now(), h.o.allow != nil, true))
			reply <- data // buffered
		case e, ok := <-evc:
			if !ok { // the supervisor was closed
				evc = nil
				continue
			}
			dropped = resyncOnDrop(sub, dropped, clients)
			if t := s.observe(e); t != nil && len(clients) > 0 {
				data, _ := json.Marshal(t)
				m := message{event: "transition", data: data}
				for c := range clients {
					c.push(m)
				}
			}
		case <-tick:
			dropped = resyncOnDrop(sub, dropped, clients)
			u := s.stats(h.o.clock.Now())
			for c := range clients {
				c.pushStats(u)
			}
		}
	}
}

// resyncOnDrop resynchronises every client if the loop's subscription
// dropped events since it last looked (transitions were lost, so the
// clients' views may be stale), and returns the new drop count.
func resyncOnDrop(sub *events.Subscription, seen uint64, clients map[*client]struct{}) uint64 {
	d := sub.Dropped()
	if d != seen {
		for c := range clients {
			c.dropAll()
		}
	}
	return d
}
