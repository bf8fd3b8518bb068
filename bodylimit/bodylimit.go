package bodylimit

import (
	"errors"
	"io"
	"net/http"
	"sync/atomic"

	"github.com/covetgo/covet/errs"
)

// DefaultMaxBytes is the cap of a stage built with a zero MaxBytes: 1 MiB.
const DefaultMaxBytes = 1 << 20

// ErrTooLarge is the problem sent for a body over the cap: 413, code
// "payload_too_large".
var ErrTooLarge = errs.New(errs.KindPayloadTooLarge, "payload_too_large", "The request body is too large.")

// Options configure a Stage.
type Options struct {
	// MaxBytes is the largest body accepted, in bytes. Zero means
	// DefaultMaxBytes; a negative value is refused.
	MaxBytes int64
}

// Stage is the body-size middleware. Build it with New.
type Stage struct {
	max int64
	err error // ErrTooLarge with max_bytes, made once
}

// New validates opts and returns the stage.
func New(opts Options) (*Stage, error) {
	if opts.MaxBytes < 0 {
		return nil, errs.Configf("bodylimit: MaxBytes %d is negative", opts.MaxBytes)
	}
	if opts.MaxBytes == 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	return &Stage{max: opts.MaxBytes, err: ErrTooLarge.WithPublic("max_bytes", opts.MaxBytes)}, nil
}

// MaxBytes returns the cap in bytes.
func (s *Stage) MaxBytes() int64 { return s.max }

// Handler returns next behind the cap (the stage, as chi's Use expects it).
func (s *Stage) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > s.max {
			w.Header().Set("Connection", "close")
			errs.Write(w, r, s.err)
			return
		}
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		if r.ContentLength >= 0 {
			// net/http never reads past a declared length, so the cap
			// cannot be crossed; the reader only guards handlers that are
			// called with a hand-made request.
			r.Body = http.MaxBytesReader(w, r.Body, s.max)
			next.ServeHTTP(w, r)
			return
		}
		lw := &limitWriter{ResponseWriter: w, req: r, err: s.err}
		r.Body = &limitBody{ReadCloser: http.MaxBytesReader(w, r.Body, s.max), w: lw}
		next.ServeHTTP(lw, r)
		lw.finish()
	})
}

// limitBody notes when a read crossed the cap.
type limitBody struct {
	io.ReadCloser
	w *limitWriter
}

func (b *limitBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	var mbe *http.MaxBytesError
	if err != nil && errors.As(err, &mbe) {
		b.w.exceeded.Store(true)
	}
	return n, err
}

// limitWriter replaces the handler's answer with 413 when the body crossed
// the cap before the response started. The body is read on the handler's
// goroutine, but a stage inside this one (timeout) may write from another,
// so the crossing is an atomic; the rest is touched by one writer at a time.
type limitWriter struct {
	http.ResponseWriter
	req      *http.Request
	err      error
	exceeded atomic.Bool
	started  bool
	replaced bool
}

// intercept decides, as the response starts, whether the handler's answer
// goes out. It reports false when the stage answered 413 instead.
func (lw *limitWriter) intercept(code int) bool {
	if lw.replaced {
		return false
	}
	if lw.started {
		return true
	}
	lw.started = true
	if lw.exceeded.Load() && code != http.StatusRequestEntityTooLarge {
		lw.replaced = true
		errs.Write(lw.ResponseWriter, lw.req, lw.err)
		return false
	}
	return true
}

// finish answers 413 for a handler that crossed the cap and wrote nothing.
func (lw *limitWriter) finish() {
	if lw.exceeded.Load() && !lw.started {
		lw.intercept(0)
	}
}

// WriteHeader passes code on, or answers 413 when the body crossed the cap.
// Informational codes do not start the response.
func (lw *limitWriter) WriteHeader(code int) {
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		if !lw.replaced {
			lw.ResponseWriter.WriteHeader(code)
		}
		return
	}
	if lw.intercept(code) {
		lw.ResponseWriter.WriteHeader(code)
	}
}

func (lw *limitWriter) Write(p []byte) (int, error) {
	if !lw.intercept(http.StatusOK) {
		return 0, lw.err
	}
	return lw.ResponseWriter.Write(p)
}

// ReadFrom keeps the connection's sendfile path for io.Copy.
func (lw *limitWriter) ReadFrom(src io.Reader) (int64, error) {
	if !lw.intercept(http.StatusOK) {
		return 0, lw.err
	}
	if rf, ok := lw.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(struct{ io.Writer }{lw.ResponseWriter}, src)
}

// FlushError commits the response and flushes it.
func (lw *limitWriter) FlushError() error {
	lw.intercept(http.StatusOK)
	return http.NewResponseController(lw.ResponseWriter).Flush()
}

// Flush is FlushError for handlers that use http.Flusher.
func (lw *limitWriter) Flush() { _ = lw.FlushError() }

// Unwrap returns the real writer, for http.ResponseController (Hijack,
// deadlines).
func (lw *limitWriter) Unwrap() http.ResponseWriter { return lw.ResponseWriter }
