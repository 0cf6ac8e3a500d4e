package dashboard

import (
	"encoding/json"
	"testing"
)

// A client that is behind gets one stats message that merges every
// update it missed: the latest row of each breaker, the breakers gone.
func TestClientCoalescesStats(t *testing.T) {
	c := newClient()
	row := func(name, state string) namedRow {
		return namedRow{name: name, json: []byte(`{"name":"` + name + `","state":"` + state + `"}`)}
	}
	c.pushStats(&statsUpdate{now: 1, rows: []namedRow{row("a", "closed"), row("b", "closed")}})
	c.pushStats(&statsUpdate{now: 2, rows: []namedRow{row("a", "open")}, removed: []string{"c"}})
	c.pushStats(&statsUpdate{now: 3, removed: []string{"b"}})
	msgs, ask := c.take()
	if ask || len(msgs) != 1 || msgs[0].event != "stats" {
		t.Fatalf("took %d messages (ask %v), want one stats", len(msgs), ask)
	}
	var st Stats
	if err := json.Unmarshal(msgs[0].data, &st); err != nil {
		t.Fatalf("%s: %v", msgs[0].data, err)
	}
	if st.Now != 3 || len(st.Rows) != 1 || st.Rows[0].Name != "a" || st.Rows[0].State != "open" {
		t.Errorf("merged stats = %s", msgs[0].data)
	}
	if len(st.Removed) != 2 || st.Removed[0] != "b" || st.Removed[1] != "c" {
		t.Errorf("removed = %v", st.Removed)
	}
}

// A transition after a pending stats update goes after it; an overflow
// drops everything and asks once for a resync.
func TestClientOrderAndOverflow(t *testing.T) {
	c := newClient()
	c.pushStats(&statsUpdate{now: 1})
	c.push(message{event: "transition", data: []byte(`{}`)})
	msgs, _ := c.take()
	if len(msgs) != 2 || msgs[0].event != "stats" || msgs[1].event != "transition" {
		t.Fatalf("order: %v", msgs)
	}
	for range queueLimit + 1 {
		c.push(message{event: "transition"})
	}
	msgs, ask := c.take()
	if len(msgs) != 0 || !ask {
		t.Fatalf("after an overflow: %d messages, ask %v", len(msgs), ask)
	}
	if _, ask := c.take(); ask {
		t.Error("resync asked twice")
	}
	c.reset(message{event: "snapshot"})
	if msgs, _ := c.take(); len(msgs) != 1 || msgs[0].event != "snapshot" {
		t.Errorf("after reset: %v", msgs)
	}
}
