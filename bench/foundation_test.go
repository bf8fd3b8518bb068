package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/observe"
)

// nopWriter is a ResponseWriter that costs nothing, so a benchmark measures
// the stage and not the recorder.
type nopWriter struct{ h http.Header }

func newNopWriter() *nopWriter { return &nopWriter{h: make(http.Header, 4)} }

func (n *nopWriter) Header() http.Header         { return n.h }
func (n *nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (n *nopWriter) WriteHeader(int)             {}

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })

func serveLoop(b *testing.B, h http.Handler, r *http.Request) {
	w := newNopWriter()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}

func BenchmarkRecover_Covet(b *testing.B) {
	serveLoop(b, errs.Recover(okHandler), httptest.NewRequest(http.MethodGet, "/", nil))
}

func BenchmarkRecover_ChiRecoverer(b *testing.B) {
	serveLoop(b, middleware.Recoverer(okHandler), httptest.NewRequest(http.MethodGet, "/", nil))
}

func BenchmarkRequestID_Covet(b *testing.B) {
	serveLoop(b, observe.RequestID(okHandler), httptest.NewRequest(http.MethodGet, "/", nil))
}

func BenchmarkRequestID_Chi(b *testing.B) {
	serveLoop(b, middleware.RequestID(okHandler), httptest.NewRequest(http.MethodGet, "/", nil))
}

type contextFloorKey struct{}

// BenchmarkRequestID_ContextFloor is the least any middleware pays to put a
// value in the request's context: one context node and the request copy
// that http.Request.WithContext makes. Both RequestID stages above pay it.
func BenchmarkRequestID_ContextFloor(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		okHandler.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), contextFloorKey{}, "id")))
	})
	serveLoop(b, h, httptest.NewRequest(http.MethodGet, "/", nil))
}
