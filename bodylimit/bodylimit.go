package bodylimit

import (
	"errors"
	"io"
	"net/http"
	"sync/atomic"

	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/internal/httpx"
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
		lw := &limitWriter{req: r, err: s.err}
		if h := w.Header(); len(h) > 0 {
			lw.outer = h.Clone()
		}
		lw.out.Reset(w, lw)
		r.Body = &limitBody{ReadCloser: http.MaxBytesReader(w, r.Body, s.max), w: lw}
		next.ServeHTTP(&lw.out, r)
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
// the cap before the response started. The 413 goes out with the headers
// the response had when the request reached the stage (outer's copy:
// security headers, CORS, Vary of the stages outside) and the problem's
// own: whatever the handler or a stage inside set for the answer it meant
// to send (a session cookie, Location, Content-Disposition, ETag, a cache
// policy) is not part of the 413. The handler writes through out,
// the shared wrapper, which asks BeforeStart as the response starts. The
// body is read on the handler's goroutine, but a stage inside this one
// (timeout) may write from another, so the crossing is an atomic; out is
// touched by one writer at a time.
type limitWriter struct {
	out      httpx.Writer
	req      *http.Request
	err      error
	outer    http.Header // the headers as the stage received the response
	exceeded atomic.Bool
}

// BeforeStart lets the handler's response go out, or answers 413 instead
// when the body crossed the cap (a 413 of the handler's own goes out).
func (lw *limitWriter) BeforeStart(w http.ResponseWriter, code int) error {
	if lw.exceeded.Load() && code != http.StatusRequestEntityTooLarge {
		lw.answer(w)
		return lw.err
	}
	return nil
}

// answer writes the 413 to w, on the headers the stage received. It
// closes the connection, as the declared-length 413 does: the rest of the
// body is not wanted, and without it net/http would first try to read it,
// holding the answer back while the client keeps sending.
func (lw *limitWriter) answer(w http.ResponseWriter) {
	h := w.Header()
	clear(h)
	for k, v := range lw.outer {
		h[k] = v
	}
	h.Set("Connection", "close")
	errs.Write(w, lw.req, lw.err)
}

// finish answers 413 for a handler that crossed the cap and wrote nothing.
func (lw *limitWriter) finish() {
	if lw.exceeded.Load() && !lw.out.Started() {
		lw.answer(lw.out.Unwrap())
	}
}
