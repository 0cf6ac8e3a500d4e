package prom

import (
	"io"
	"sync"
)

// flushAt is how full a textWriter's buffer gets before it is written
// out; bufCap its capacity, with room for the line that crosses flushAt.
const (
	flushAt = 32 << 10
	bufCap  = flushAt + 4<<10
)

// A textWriter collects a Handler's output in a buffer and writes it to w
// in pieces of about flushAt bytes. After the first write error it keeps
// the error and writes nothing more: the writers check err and stop.
// Not safe for concurrent use; textWriters are pooled.
type textWriter struct {
	buf []byte
	w   io.Writer
	err error
}

var textWriters = sync.Pool{New: func() any { return &textWriter{buf: make([]byte, 0, bufCap)} }}

// getTextWriter returns a pooled textWriter writing to w.
func getTextWriter(w io.Writer) *textWriter {
	tw := textWriters.Get().(*textWriter)
	tw.w, tw.err = w, nil
	return tw
}

// put returns tw to the pool. A buffer that grew (a name label longer
// than the slack of bufCap) is dropped rather than kept.
func (tw *textWriter) put() {
	tw.w, tw.err = nil, nil
	if cap(tw.buf) > 4*bufCap {
		return
	}
	tw.buf = tw.buf[:0]
	textWriters.Put(tw)
}

// full writes the buffer out if it holds flushAt bytes or more, and
// reports whether writing has failed (now or before).
func (tw *textWriter) full() bool {
	if len(tw.buf) >= flushAt {
		tw.flush()
	}
	return tw.err != nil
}

// flush writes out what the buffer holds, unless an earlier write failed.
func (tw *textWriter) flush() {
	if tw.err == nil && len(tw.buf) > 0 {
		_, tw.err = tw.w.Write(tw.buf)
	}
	tw.buf = tw.buf[:0]
}

// series appends one sample line: name, the labels around the name
// label's value esc, closed by tail, then the value.
func (tw *textWriter) series(name string, a *affix, esc, tail string, v float64) {
	b := append(tw.buf, name...)
	b = append(b, a.pre...)
	b = append(b, esc...)
	b = append(b, a.post...)
	b = append(b, tail...)
	b = appendFloat(b, v)
	tw.buf = append(b, '\n')
}
