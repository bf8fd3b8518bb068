package session

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"

	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/internal/httpx"
)

// holdLimit is how much of a response Development mode holds back before
// sending it on anyway.
const holdLimit = 1 << 20

// errResponseReplaced is what writes return after a failed save replaced
// the handler's response with an error.
var errResponseReplaced = errors.New("session: the response was replaced by an error because the session could not be saved")

// responseWriter saves the session just before the response starts (the
// first WriteHeader, Write, Flush, ReadFrom or Hijack), before anything
// reaches the client. The handler writes through out, the shared wrapper,
// which runs BeforeStart at that moment and keeps Flusher, Hijacker,
// ReaderFrom and Unwrap working. In Development mode a holdWriter sits
// between out and the real writer.
type responseWriter struct {
	out  httpx.Writer
	real http.ResponseWriter
	hold *holdWriter // Development mode only
	s    *Session
	r    *http.Request
}

// newResponseWriter returns the writer for one request to s; hold keeps
// the response back until the handler returns.
func newResponseWriter(w http.ResponseWriter, s *Session, r *http.Request, hold bool) *responseWriter {
	rw := &responseWriter{real: w, s: s, r: r}
	next := w
	if hold {
		rw.hold = &holdWriter{ResponseWriter: w}
		next = rw.hold
	}
	rw.out.Reset(next, rw)
	return rw
}

// BeforeStart saves the session and sets its cookie as the response
// starts; when that fails the error response replaces the handler's.
func (w *responseWriter) BeforeStart(http.ResponseWriter, int) error {
	if w.commit() != nil {
		return errResponseReplaced
	}
	return nil
}

// commit saves the session; on failure it writes the error response
// straight to the client (never into a held response).
func (w *responseWriter) commit() error {
	err := w.s.m.commit(w.s, w.real.Header())
	if err != nil {
		// The problem replaces the handler's answer: without its cookies
		// and redirect, with the headers of the stages outside.
		errs.Replace(w.real, w.r, err)
	}
	return err
}

// finish runs after the handler: it saves a session the handler never
// wrote a response for, and in Development turns a held response into a
// 500 when the session was changed after its headers.
func (w *responseWriter) finish() {
	if !w.out.Started() {
		if w.commit() != nil {
			return
		}
	} else if w.out.Replaced() != nil {
		return
	}
	if w.hold == nil || w.hold.passthrough {
		return
	}
	w.s.mu.Lock()
	violations := w.s.violations
	w.s.mu.Unlock()
	if violations > 0 {
		h := w.real.Header()
		cookies, vary := h["Set-Cookie"], h["Vary"]
		clear(h)
		if cookies != nil {
			h["Set-Cookie"] = cookies
		}
		if vary != nil {
			h["Vary"] = vary
		}
		w.hold.passthrough = true
		errs.Write(w.real, w.r, errChangedAfterHeaders)
		return
	}
	_ = w.hold.release()
}

// holdWriter keeps a Development-mode response back (up to holdLimit)
// until the handler returns, so that a session change after the headers
// can still turn it into an error. It is not a status tracker: it defers
// the response, as timeout's writer does. Header changes made after the
// status are dropped on release, as net/http drops them.
type holdWriter struct {
	http.ResponseWriter
	passthrough bool
	wroteHeader bool
	status      int
	header      http.Header
	buf         []byte
}

// WriteHeader holds the status and a copy of the headers. 1xx
// informational responses pass straight through.
func (h *holdWriter) WriteHeader(code int) {
	switch {
	case code >= 100 && code < 200 && code != http.StatusSwitchingProtocols, h.passthrough:
		h.ResponseWriter.WriteHeader(code)
	case !h.wroteHeader:
		h.wroteHeader = true
		h.status = code
		h.header = h.ResponseWriter.Header().Clone()
	}
}

// Write holds p, or sends the held response on once it outgrows holdLimit.
func (h *holdWriter) Write(p []byte) (int, error) {
	if h.passthrough {
		return h.ResponseWriter.Write(p)
	}
	if !h.wroteHeader {
		h.WriteHeader(http.StatusOK)
	}
	if len(h.buf)+len(p) <= holdLimit {
		h.buf = append(h.buf, p...)
		return len(p), nil
	}
	if err := h.release(); err != nil {
		return 0, err
	}
	return h.ResponseWriter.Write(p)
}

// release sends a held response on and stops holding.
func (h *holdWriter) release() error {
	if h.passthrough {
		return nil
	}
	h.passthrough = true
	if !h.wroteHeader {
		return nil
	}
	hd := h.ResponseWriter.Header()
	clear(hd)
	for k, v := range h.header {
		hd[k] = v
	}
	h.ResponseWriter.WriteHeader(h.status)
	var err error
	if len(h.buf) > 0 {
		_, err = h.ResponseWriter.Write(h.buf)
	}
	h.buf = nil
	return err
}

// ReadFrom holds what it reads, or uses the real writer's ReadFrom once
// the response is no longer held.
func (h *holdWriter) ReadFrom(src io.Reader) (int64, error) {
	if rf, ok := h.ResponseWriter.(io.ReaderFrom); ok && h.passthrough {
		return rf.ReadFrom(src)
	}
	return io.Copy(struct{ io.Writer }{h}, src)
}

// FlushError sends the held response on and flushes it: a handler that
// flushes wants its client to see the response now.
func (h *holdWriter) FlushError() error {
	if !h.wroteHeader && !h.passthrough {
		h.WriteHeader(http.StatusOK)
	}
	if err := h.release(); err != nil {
		return err
	}
	return http.NewResponseController(h.ResponseWriter).Flush()
}

// Hijack sends the held response on and hands the connection over.
func (h *holdWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if err := h.release(); err != nil {
		return nil, nil, err
	}
	return http.NewResponseController(h.ResponseWriter).Hijack()
}

// Unwrap returns the real writer, for http.ResponseController.
func (h *holdWriter) Unwrap() http.ResponseWriter { return h.ResponseWriter }
