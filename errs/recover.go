package errs

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/covetgo/covet/internal/httpx"
	"github.com/covetgo/covet/observe"
)

// Recover is the panic-recovery stage. It recovers a panic in next, logs it
// once (sanitized, with the stack and the request ID) and answers 500
// problem+json. A panic with http.ErrAbortHandler is passed on untouched. If
// the response had already started, a second response would corrupt it, so
// Recover aborts the connection instead (by panicking with
// http.ErrAbortHandler after logging), which the client sees as a truncated
// response. The 500 carries neither the handler's representation headers
// nor the ones that belong to the answer it meant to send (Set-Cookie,
// Location, Content-Location, Refresh, Link); the other headers, such as
// the security headers and Vary of the stages outside, stay.
func Recover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tw := httpx.Acquire(w, nil)
		defer func() {
			if v := recover(); v != nil {
				started := tw.Started()
				tw.Release()
				handlePanic(w, r, v, started)
				return
			}
			tw.Release()
		}()
		next.ServeHTTP(tw, r)
	})
}

// PanicError is the cause of the error Recover writes: the recovered value.
type PanicError struct {
	Value any
}

func (p *PanicError) Error() string { return fmt.Sprintf("panic: %v", p.Value) }

// Unwrap returns the value when it is an error.
func (p *PanicError) Unwrap() error {
	err, _ := p.Value.(error)
	return err
}

func handlePanic(w http.ResponseWriter, r *http.Request, v any, started bool) {
	if v == http.ErrAbortHandler { //nolint:errorlint // the sentinel is compared by identity, as net/http does
		panic(v)
	}
	if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
		panic(v)
	}
	rd := rendererFor(r)
	e := &Error{kind: KindInternal, code: "panic", cause: &PanicError{Value: v}, stack: callers(4)}
	attrs := rd.requestAttrs(r, observe.RequestIDFrom(r.Context()))
	attrs = append(attrs,
		slog.String("panic", rd.san.String(safeText(func() string { return fmt.Sprint(v) }))),
		slog.Bool("response_started", started),
		slog.Any("stack", Frames(e.stack, 0)))
	rd.Logger().LogAttrs(r.Context(), slog.LevelError, "panic recovered", attrs...)
	if started {
		panic(http.ErrAbortHandler)
	}
	// The 500 replaces the handler's answer: what the handler set for it
	// does not go out with the problem (send drops the representation
	// headers), as with Replace.
	dropAnswerHeaders(w.Header())
	// Write logs 5xx errors itself; this one is logged above, with the stack.
	rd.send(w, r, e, http.StatusInternalServerError, observe.RequestIDFrom(r.Context()))
}

var representationHeaders = []string{
	"Content-Type", "Content-Length", "Content-Encoding", "Content-Disposition",
	"Content-Language", "Content-Range", "Etag", "Last-Modified", "Trailer",
}

// Handle adapts a handler that returns an error: a non-nil error is written
// with Write, unless the handler already started the response, in which case
// it is logged instead (a second response cannot be sent).
//
// The result is an http.HandlerFunc, so it goes straight into a router that
// takes handler functions (chi's r.Get, r.Post) as well as into one that
// takes handlers (http.ServeMux.Handle, a middleware chain).
func Handle(fn func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tw := httpx.Acquire(w, nil)
		err := fn(tw, r)
		started := tw.Started()
		tw.Release()
		if err == nil {
			return
		}
		if started {
			logLate(r, err)
			return
		}
		Write(w, r, err)
	})
}

// logLate logs an error returned after the response started.
func logLate(r *http.Request, err error) {
	rd := rendererFor(r)
	attrs := rd.requestAttrs(r, observe.RequestIDFrom(r.Context()))
	attrs = append(attrs, slog.String("error", rd.san.String(err.Error())))
	rd.Logger().LogAttrs(r.Context(), slog.LevelError, "handler error after the response started", attrs...)
}
