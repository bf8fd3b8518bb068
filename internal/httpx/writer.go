package httpx

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync"
)

// Hook lets the owner of a Writer act at the one moment a response starts:
// after the handler has set its headers and before any of them reach the
// client. A session stage saves the session and sets its cookie there; a
// transaction stage commits or rolls back.
type Hook interface {
	// BeforeStart runs once, just before the response starts, that is
	// before the first final WriteHeader, Write, ReadFrom, Flush or
	// Hijack reaches w (the writer the Writer wraps). code is the status
	// about to be sent: the handler's, 200 when it writes without one, 101
	// for Hijack (not for a Hijack the connection underneath cannot grant,
	// which is refused without starting the response). BeforeStart may
	// change w.Header().
	//
	// A nil result lets the handler's response go out. A non-nil result
	// means the hook wrote a response of its own to w instead: from then
	// on the handler's status, body and flushes are dropped, and its
	// writes, flushes and hijacks return that error.
	BeforeStart(w http.ResponseWriter, code int) error
}

// Writer is the one ResponseWriter wrapper of the module. It records the
// response's status, how many body bytes went out, whether the response
// started and whether the connection was hijacked, and runs a Hook just
// before the response starts. It keeps http.Flusher, http.Hijacker and
// io.ReaderFrom working, and Unwrap lets http.ResponseController reach the
// wrapped writer for the rest (deadlines, full duplex).
//
// Informational responses (1xx but 101) pass straight through: they
// neither start the response nor set its status. The status is the first
// final code written, or 200 when the body starts without one; a second
// WriteHeader is passed on (net/http reports it) and does not change it.
//
// A Writer is used by one goroutine at a time, as net/http's own is.
type Writer struct {
	rw       http.ResponseWriter
	hook     Hook
	replaced error // the hook's answer when it wrote its own response
	bytes    int64
	status   int
	started  bool
	hijacked bool
}

var writers = sync.Pool{New: func() any { return new(Writer) }}

// Acquire returns a pooled Writer around rw with hook (nil for none). Call
// Release once the handler has returned and the numbers are read.
func Acquire(rw http.ResponseWriter, hook Hook) *Writer {
	w := writers.Get().(*Writer)
	w.Reset(rw, hook)
	return w
}

// Release returns w to the pool; it must not be used afterwards.
func (w *Writer) Release() {
	w.Reset(nil, nil)
	writers.Put(w)
}

// Reset makes w a fresh Writer around rw with hook. Stages that keep a
// Writer inside a larger per-request value call it instead of Acquire.
func (w *Writer) Reset(rw http.ResponseWriter, hook Hook) {
	*w = Writer{rw: rw, hook: hook}
}

// Status returns the response's final status (or 101), or 0 when nothing
// was written or the hook replaced the response.
func (w *Writer) Status() int { return w.status }

// Bytes returns how many body bytes the handler wrote through w.
func (w *Writer) Bytes() int64 { return w.bytes }

// Started reports whether the response started: a final status, body
// bytes or a flush went out, or the connection was hijacked, or the hook
// answered instead.
func (w *Writer) Started() bool { return w.started }

// Hijacked reports whether the handler took the connection over.
func (w *Writer) Hijacked() bool { return w.hijacked }

// Replaced returns the hook's error when it replaced the response, or nil.
func (w *Writer) Replaced() error { return w.replaced }

// Unwrap returns the wrapped ResponseWriter.
func (w *Writer) Unwrap() http.ResponseWriter { return w.rw }

// Header returns the wrapped writer's header map.
func (w *Writer) Header() http.Header { return w.rw.Header() }

// start runs the hook once, as the response starts with code, and
// reports whether the handler's response may go out. status is the
// response's status to record (0 for a hijack, which has none).
func (w *Writer) start(code, status int) bool {
	if w.started {
		return w.replaced == nil
	}
	w.started = true
	if w.hook != nil {
		if err := w.hook.BeforeStart(w.rw, code); err != nil {
			w.replaced = err
			return false
		}
	}
	w.status = status
	return true
}

// informational reports whether code is a 1xx that does not start the
// response.
func informational(code int) bool {
	return code >= 100 && code < 200 && code != http.StatusSwitchingProtocols
}

// WriteHeader sends code, running the hook first when it starts the
// response.
func (w *Writer) WriteHeader(code int) {
	if w.replaced != nil {
		return
	}
	if code < 100 || code > 999 {
		// net/http panics on such a code: it goes straight there, so no
		// hook commits, saves or decides anything on a response that
		// never starts.
		w.rw.WriteHeader(code)
		return
	}
	if !informational(code) && !w.started && !w.start(code, code) {
		return
	}
	w.rw.WriteHeader(code)
}

// Write sends body bytes, starting the response with 200 when needed.
func (w *Writer) Write(p []byte) (int, error) {
	if !w.start(http.StatusOK, http.StatusOK) {
		return 0, w.replaced
	}
	n, err := w.rw.Write(p)
	w.bytes += int64(n)
	return n, err
}

// WriteString is Write for a string, so io.WriteString does not convert.
func (w *Writer) WriteString(s string) (int, error) {
	if !w.start(http.StatusOK, http.StatusOK) {
		return 0, w.replaced
	}
	n, err := io.WriteString(w.rw, s)
	w.bytes += int64(n)
	return n, err
}

// ReadFrom copies src into the response, through the wrapped writer's
// ReadFrom (the connection's sendfile path) when it has one.
func (w *Writer) ReadFrom(src io.Reader) (int64, error) {
	if !w.start(http.StatusOK, http.StatusOK) {
		return 0, w.replaced
	}
	var n int64
	var err error
	if rf, ok := w.rw.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(writerOnly{w.rw}, src)
	}
	w.bytes += n
	return n, err
}

// FlushError starts the response (with 200 when no status was written)
// and flushes it. http.ResponseController calls it.
func (w *Writer) FlushError() error {
	if !w.start(http.StatusOK, http.StatusOK) {
		return w.replaced
	}
	return http.NewResponseController(w.rw).Flush()
}

// Flush is FlushError for handlers that use http.Flusher.
func (w *Writer) Flush() { _ = w.FlushError() }

// Hijack hands the connection over. The hook runs first, with 101, unless
// the writer underneath cannot be hijacked (an HTTP/2 request): then
// Hijack returns http.ErrNotSupported and the response has not started.
func (w *Writer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.replaced != nil {
		return nil, nil, w.replaced
	}
	if !w.started && !canHijack(w.rw) {
		// Refused before the hook runs: the response has not started,
		// and the handler's answer to the refusal (an HTTP/2 request, a
		// writer without a connection) gets the hook with its own status.
		return nil, nil, http.ErrNotSupported
	}
	// The status stays unset: a hijacked connection has none.
	if !w.started && !w.start(http.StatusSwitchingProtocols, 0) {
		return nil, nil, w.replaced
	}
	c, brw, err := http.NewResponseController(w.rw).Hijack()
	if err == nil {
		w.hijacked = true
	}
	return c, brw, err
}

// canHijack reports whether rw can hand its connection over, looking
// through wrappers that Unwrap to the writer underneath, as
// http.ResponseController does: wrappers such as Writer offer Hijack
// whether or not the connection below them can be taken.
func canHijack(rw http.ResponseWriter) bool {
	for {
		u, ok := rw.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			_, ok = rw.(http.Hijacker)
			return ok
		}
		rw = u.Unwrap()
	}
}

// writerOnly hides every method but Write, so io.Copy does not call back
// into ReadFrom.
type writerOnly struct{ io.Writer }
