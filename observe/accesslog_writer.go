package observe

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync"
)

// StatusWriter records the status and the body size of a response, for
// stages that report on it after the handler returns (AccessLog, metrics).
// It keeps http.Flusher, http.Hijacker and io.ReaderFrom working and
// exposes the original writer through Unwrap, so http.ResponseController
// sees through it. Writers are pooled: get one with NewStatusWriter and
// Release it once the handler has returned and its numbers are read.
type StatusWriter struct {
	http.ResponseWriter
	status   int
	bytes    int64
	hijacked bool
}

var statusWriters = sync.Pool{New: func() any { return new(StatusWriter) }}

// NewStatusWriter returns a pooled StatusWriter around w.
func NewStatusWriter(w http.ResponseWriter) *StatusWriter {
	sw := statusWriters.Get().(*StatusWriter)
	*sw = StatusWriter{ResponseWriter: w}
	return sw
}

// Release returns sw to the pool; it must not be used afterwards.
func (sw *StatusWriter) Release() {
	sw.ResponseWriter = nil
	statusWriters.Put(sw)
}

// Status returns the final status written (or 101), or 0 when the handler
// wrote nothing.
func (sw *StatusWriter) Status() int { return sw.status }

// Bytes returns how many body bytes were written.
func (sw *StatusWriter) Bytes() int64 { return sw.bytes }

// Hijacked reports whether the handler took the connection over.
func (sw *StatusWriter) Hijacked() bool { return sw.hijacked }

// WriteHeader records the first final status (or 101) and passes code on.
// Informational codes such as 103 Early Hints are not the response's status.
func (sw *StatusWriter) WriteHeader(code int) {
	if sw.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		sw.status = code
	}
	sw.ResponseWriter.WriteHeader(code)
}

func (sw *StatusWriter) Write(p []byte) (int, error) {
	if sw.status == 0 {
		sw.status = http.StatusOK
	}
	n, err := sw.ResponseWriter.Write(p)
	sw.bytes += int64(n)
	return n, err
}

// Unwrap returns the wrapped ResponseWriter.
func (sw *StatusWriter) Unwrap() http.ResponseWriter { return sw.ResponseWriter }

// Flush sends buffered data; flushing commits the headers with status 200
// when none was written.
func (sw *StatusWriter) Flush() {
	if sw.status == 0 {
		sw.status = http.StatusOK
	}
	_ = http.NewResponseController(sw.ResponseWriter).Flush()
}

// Hijack hands the connection over; the writer then records nothing more.
func (sw *StatusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(sw.ResponseWriter).Hijack()
	if err == nil {
		sw.hijacked = true
	}
	return c, rw, err
}

// ReadFrom lets io.Copy use the connection's sendfile path.
func (sw *StatusWriter) ReadFrom(src io.Reader) (int64, error) {
	if sw.status == 0 {
		sw.status = http.StatusOK
	}
	var n int64
	var err error
	if rf, ok := sw.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(writerOnly{sw.ResponseWriter}, src)
	}
	sw.bytes += n
	return n, err
}

// writerOnly hides every method but Write, so io.Copy does not call back
// into ReadFrom.
type writerOnly struct{ io.Writer }
