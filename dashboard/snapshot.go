package dashboard

import "net/http"

// serveSnapshot answers GET …/api/snapshot with a Snapshot. The loop
// samples the supervisor for it (a read: no breaker changes).
func (h *Handler) serveSnapshot(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "use GET")
		return
	}
	reply := make(chan []byte, 1)
	select {
	case h.snapReq <- reply:
	case <-h.done:
		writeError(w, http.StatusServiceUnavailable, "the dashboard is closed")
		return
	case <-r.Context().Done():
		return
	}
	select {
	case b := <-reply:
		writeJSONBytes(w, http.StatusOK, b)
	case <-h.done:
		writeError(w, http.StatusServiceUnavailable, "the dashboard is closed")
	case <-r.Context().Done():
	}
}
