package dashboard

import (
	"net/http"
	"strconv"

	"github.com/breakerlabs/breaker"
)

// actions are the admin endpoint's actions, by their path segment.
var actions = map[string]func(breaker.Circuit){
	"reset":      breaker.Circuit.Reset,
	"force-open": breaker.Circuit.ForceOpen,
	"disable":    breaker.Circuit.Disable,
}

// controlResult is the answer to a successful action.
type controlResult struct {
	Name   string `json:"name"`
	Action string `json:"action"`
	State  string `json:"state"` // the breaker's state once the action is done
}

// serveControl carries out POST …/api/breakers/{name}/{action}. The checks
// come in this order, and a request that fails one changes nothing:
// method (405), control enabled (403), cross-origin protection (403),
// allow (403), action known (404), breaker known (404).
func (h *Handler) serveControl(w http.ResponseWriter, r *http.Request, name, action string) {
	switch {
	case r.Method != http.MethodPost:
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "use POST")
		return
	case h.o.allow == nil:
		writeError(w, http.StatusForbidden, "control is disabled (see dashboard.WithControl)")
		return
	}
	if err := h.cop.Check(r); err != nil {
		writeError(w, http.StatusForbidden, "cross-origin request refused")
		return
	}
	if !h.o.allow(r) {
		writeError(w, http.StatusForbidden, "not allowed")
		return
	}
	if h.closed() {
		writeError(w, http.StatusServiceUnavailable, "the dashboard is closed")
		return
	}
	do, ok := actions[action]
	if !ok {
		writeError(w, http.StatusNotFound, "unknown action "+quote(action)+": want reset, force-open or disable")
		return
	}
	b, ok := h.sup.Get(name)
	if !ok {
		writeError(w, http.StatusNotFound, "no breaker named "+quote(name))
		return
	}
	do(b)
	writeJSON(w, http.StatusOK, controlResult{Name: name, Action: action, State: b.State().String()})
}

// quote quotes s for an error message, cut to 100 bytes.
func quote(s string) string {
	if len(s) > 100 {
		s = s[:100] + "…"
	}
	return strconv.Quote(s)
}
