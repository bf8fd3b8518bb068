package bench

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/covetgo/covet/bodylimit"
	"github.com/covetgo/covet/timeout"
)

// okBody writes a small body, so a timeout stage has a response to pass on.
var okBody = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte("ok"))
})

func BenchmarkTimeout(b *testing.B) {
	covet, err := timeout.New(timeout.Options{Timeout: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	stages := []struct {
		name string
		h    http.Handler
	}{
		{"covet", covet.Handler(okBody)},
		{"chi", middleware.Timeout(time.Minute)(okBody)},
		{"stdlib-TimeoutHandler", http.TimeoutHandler(okBody, time.Minute, "timeout")},
	}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	for _, s := range stages {
		b.Run(s.name, func(b *testing.B) { serveLoop(b, s.h, req) })
	}
}

func BenchmarkBodyLimit(b *testing.B) {
	covet, err := bodylimit.New(bodylimit.Options{MaxBytes: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	drain := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	})
	stages := []struct {
		name string
		h    http.Handler
	}{
		{"covet", covet.Handler(drain)},
		{"chi-RequestSize", middleware.RequestSize(1 << 20)(drain)},
	}
	payload := strings.Repeat("x", 512)
	for _, s := range stages {
		for _, length := range []int64{512, -1} {
			name := s.name + "/declared"
			if length < 0 {
				name = s.name + "/chunked"
			}
			b.Run(name, func(b *testing.B) {
				w := newNopWriter()
				body := strings.NewReader(payload)
				req := httptest.NewRequest(http.MethodPost, "/", body)
				b.ReportAllocs()
				for b.Loop() {
					body.Reset(payload)
					r := *req
					r.Body = io.NopCloser(body)
					r.ContentLength = length
					s.h.ServeHTTP(w, &r)
				}
			})
		}
	}
}
