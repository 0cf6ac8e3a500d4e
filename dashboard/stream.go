package dashboard

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// serveStream answers GET …/api/stream with Server-Sent Events:
//
//	retry: 1000                      sent with the headers, at once
//	event: snapshot   data: Snapshot first, and again after a gap
//	event: transition data: Transition each state change, as it happens
//	event: stats      data: Stats      every interval
//	: ping                             every 15 s of silence
//
// It returns when the client goes away, a write misses its deadline, or
// the handler is closed.
func (h *Handler) serveStream(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeError(w, http.StatusMethodNotAllowed, "use GET")
		return
	}
	if !h.enterStream() {
		writeError(w, http.StatusServiceUnavailable, "the dashboard is closed")
		return
	}
	defer h.streams.Done()
	rc := http.NewResponseController(w)
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	sw := &sseWriter{w: w, rc: rc, timeout: h.o.writeTimeout}
	if err := sw.deadline(); err != nil {
		return
	}
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		// Nothing reaches the client until the handler returns: no stream.
		if errors.Is(err, http.ErrNotSupported) {
			w.Write([]byte("retry: 1000\nevent: error\ndata: {\"error\":\"this server cannot stream\"}\n\n"))
		}
		return
	}
	if sw.comment("retry: "+strconv.Itoa(retryMillis)) != nil {
		return
	}

	c := newClient()
	if h.testBeforeRegister != nil {
		h.testBeforeRegister(c)
	}
	select {
	case h.reg <- c:
	case <-h.done:
		return
	case <-r.Context().Done():
		return
	}
	defer func() {
		select {
		case h.unreg <- c:
		case <-h.done:
		}
	}()
	ping := h.o.clock.Ticker(pingEvery)
	defer ping.Stop()
	for {
		select {
		case <-c.wake:
			msgs, ask := c.take()
			if len(msgs) > 0 {
				if sw.send(msgs) != nil {
					return
				}
			}
			if ask {
				select {
				case h.resync <- c:
				case <-h.done:
					return
				case <-r.Context().Done():
					return
				}
			}
		case <-ping.C:
			if sw.comment(": ping") != nil {
				return
			}
		case <-r.Context().Done():
			return
		case <-h.done:
			return
		}
	}
}

// sseWriter writes events to one stream, each batch under its own write
// deadline.
type sseWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	buf     bytes.Buffer
}

// deadline sets the connection's write deadline timeout from now. This is
// network time, so it reads the wall clock, not the handler's clock. A
// ResponseWriter that cannot take deadlines (a test recorder, some
// wrappers) is written without.
func (s *sseWriter) deadline() error {
	err := s.rc.SetWriteDeadline(time.Now().Add(s.timeout))
	if errors.Is(err, http.ErrNotSupported) {
		return nil
	}
	return err
}

// send writes msgs and flushes them.
func (s *sseWriter) send(msgs []message) error {
	s.buf.Reset()
	for _, m := range msgs {
		s.buf.WriteString("event: ")
		s.buf.WriteString(m.event)
		s.buf.WriteString("\ndata: ")
		s.buf.Write(m.data) // JSON: one line
		s.buf.WriteString("\n\n")
	}
	return s.flush()
}

// comment writes one field line (a "retry:" or a ": ping") and flushes it.
func (s *sseWriter) comment(line string) error {
	s.buf.Reset()
	s.buf.WriteString(line)
	s.buf.WriteString("\n\n")
	return s.flush()
}

func (s *sseWriter) flush() error {
	if err := s.deadline(); err != nil {
		return err
	}
	if _, err := s.w.Write(s.buf.Bytes()); err != nil {
		return err
	}
	return s.rc.Flush()
}
