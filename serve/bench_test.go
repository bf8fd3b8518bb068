package serve_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/covetgo/covet/serve"
)

// benchServer returns the server's root handler (probes in front of the
// application) without listening.
func benchServer(b *testing.B) (*serve.Server, http.Handler) {
	s, err := serve.New(serve.Options{Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	return s, s.HTTPServer().Handler
}

// BenchmarkAppRequest is the cost the probe routing adds to every
// application request.
func BenchmarkAppRequest(b *testing.B) {
	_, h := benchServer(b)
	req := httptest.NewRequest(http.MethodGet, "/api/notes/1", nil)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}

func BenchmarkHealthz(b *testing.B) {
	s, _ := benchServer(b)
	h := s.Healthz()
	req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
}

// BenchmarkReadyzChecks runs two passing checks per probe; the server is
// not running, so Readyz is measured through a started one.
func BenchmarkReadyzChecks(b *testing.B) {
	s, err := serve.New(serve.Options{Handler: http.NotFoundHandler(), Addr: "127.0.0.1:0", Logger: quiet, Signals: noSignals})
	if err != nil {
		b.Fatal(err)
	}
	s.Check("a", func(context.Context) error { return nil })
	s.Check("b", func(context.Context) error { return nil })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-s.Started()
	h := s.Readyz()
	req := httptest.NewRequest(http.MethodGet, "/readyz", nil)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body.String())
		}
	}
}
