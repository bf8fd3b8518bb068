package metrics

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync"
)

// statusWriter records the response status. It keeps http.Flusher,
// http.Hijacker and io.ReaderFrom working and exposes the original writer
// through Unwrap, so http.ResponseController sees through it. Writers are
// pooled: one is only valid while its handler runs.
type statusWriter struct {
	http.ResponseWriter
	status   int
	hijacked bool
}

var statusWriters = sync.Pool{New: func() any { return new(statusWriter) }}

func getStatusWriter(w http.ResponseWriter) *statusWriter {
	sw := statusWriters.Get().(*statusWriter)
	*sw = statusWriter{ResponseWriter: w}
	return sw
}

func putStatusWriter(sw *statusWriter) {
	sw.ResponseWriter = nil
	statusWriters.Put(sw)
}

// WriteHeader records the first final status (or 101) and passes code on.
func (sw *statusWriter) WriteHeader(code int) {
	if sw.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		sw.status = code
	}
	sw.ResponseWriter.WriteHeader(code)
}

func (sw *statusWriter) Write(p []byte) (int, error) {
	if sw.status == 0 {
		sw.status = http.StatusOK
	}
	return sw.ResponseWriter.Write(p)
}

// Unwrap returns the wrapped ResponseWriter.
func (sw *statusWriter) Unwrap() http.ResponseWriter { return sw.ResponseWriter }

// Flush sends buffered data, committing status 200 when none was written.
func (sw *statusWriter) Flush() {
	if sw.status == 0 {
		sw.status = http.StatusOK
	}
	_ = http.NewResponseController(sw.ResponseWriter).Flush()
}

// Hijack hands the connection over.
func (sw *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(sw.ResponseWriter).Hijack()
	if err == nil {
		sw.hijacked = true
	}
	return c, rw, err
}

// ReadFrom lets io.Copy use the connection's sendfile path.
func (sw *statusWriter) ReadFrom(src io.Reader) (int64, error) {
	if sw.status == 0 {
		sw.status = http.StatusOK
	}
	if rf, ok := sw.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(writerOnly{sw.ResponseWriter}, src)
}

type writerOnly struct{ io.Writer }
