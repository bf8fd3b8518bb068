package session

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"

	"github.com/covetgo/covet/errs"
)

// holdLimit is how much of a response Development mode holds back before
// sending it on anyway.
const holdLimit = 1 << 20

// errResponseReplaced is what writes return after a failed save replaced
// the handler's response with an error.
var errResponseReplaced = errors.New("session: the response was replaced by an error because the session could not be saved")

// responseWriter saves the session on the first WriteHeader, Write, Flush,
// ReadFrom or Hijack, before anything reaches the client. It keeps
// Flusher, Hijacker and ReaderFrom working, and Unwrap lets
// http.ResponseController see through it.
type responseWriter struct {
	http.ResponseWriter
	s *Session
	r *http.Request

	committed   bool
	failed      bool
	wroteHeader bool

	// Development mode: the response is held until the handler returns.
	hold        bool
	passthrough bool
	status      int
	header      http.Header
	buf         []byte
}

// commit saves the session once; on failure it writes the error response
// and reports false.
func (w *responseWriter) commit() bool {
	if w.committed {
		return !w.failed
	}
	w.committed = true
	if err := w.s.m.commit(w.s, w.ResponseWriter.Header()); err != nil {
		w.failed = true
		clear(w.ResponseWriter.Header())
		errs.Write(w.ResponseWriter, w.r, err)
		return false
	}
	return true
}

// WriteHeader saves the session, then sends (or, in Development, holds)
// the status. 1xx informational responses pass straight through.
func (w *responseWriter) WriteHeader(code int) {
	if w.failed {
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	if w.wroteHeader {
		if !w.holding() {
			w.ResponseWriter.WriteHeader(code) // net/http reports the superfluous call
		}
		return
	}
	if !w.commit() {
		return
	}
	w.wroteHeader = true
	if w.holding() {
		w.status = code
		w.header = w.ResponseWriter.Header().Clone()
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) holding() bool { return w.hold && !w.passthrough }

// Write saves the session on the first call, like WriteHeader.
func (w *responseWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.failed {
		return 0, errResponseReplaced
	}
	if w.holding() {
		if len(w.buf)+len(p) <= holdLimit {
			w.buf = append(w.buf, p...)
			return len(p), nil
		}
		if err := w.release(); err != nil {
			return 0, err
		}
	}
	return w.ResponseWriter.Write(p)
}

// release sends a held response on and stops holding.
func (w *responseWriter) release() error {
	w.passthrough = true
	if !w.wroteHeader {
		return nil
	}
	h := w.ResponseWriter.Header()
	clear(h)
	for k, v := range w.header {
		h[k] = v
	}
	w.ResponseWriter.WriteHeader(w.status)
	var err error
	if len(w.buf) > 0 {
		_, err = w.ResponseWriter.Write(w.buf)
	}
	w.buf = nil
	return err
}

// Flush implements http.Flusher.
func (w *responseWriter) Flush() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.failed {
		return
	}
	if w.holding() && w.release() != nil {
		return
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack implements http.Hijacker.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !w.commit() {
		return nil, nil, errResponseReplaced
	}
	if w.holding() {
		if err := w.release(); err != nil {
			return nil, nil, err
		}
	}
	w.passthrough = true
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// ReadFrom implements io.ReaderFrom.
func (w *responseWriter) ReadFrom(src io.Reader) (int64, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.failed {
		return 0, errResponseReplaced
	}
	if !w.holding() {
		if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
			return rf.ReadFrom(src)
		}
	}
	return io.Copy(writerOnly{w}, src)
}

type writerOnly struct{ io.Writer }

// Unwrap returns the wrapped ResponseWriter.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finish runs after the handler: it saves a session the handler never
// wrote a response for, and in Development turns a held response into a
// 500 when the session was changed after its headers.
func (w *responseWriter) finish() {
	if !w.commit() {
		return
	}
	if !w.holding() {
		return
	}
	w.s.mu.Lock()
	violations := w.s.violations
	w.s.mu.Unlock()
	if violations > 0 {
		h := w.ResponseWriter.Header()
		cookies, vary := h["Set-Cookie"], h["Vary"]
		clear(h)
		if cookies != nil {
			h["Set-Cookie"] = cookies
		}
		if vary != nil {
			h["Vary"] = vary
		}
		w.passthrough = true
		errs.Write(w.ResponseWriter, w.r, errChangedAfterHeaders)
		return
	}
	_ = w.release()
}
