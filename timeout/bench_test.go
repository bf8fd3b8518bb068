package timeout_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/covetgo/covet/timeout"
)

func BenchmarkStage(b *testing.B) {
	s, _ := newStageB(time.Minute)
	h := s.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok"))
	}))
	req := httptest.NewRequest("GET", "/", nil)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
	}
}

func newStageB(d time.Duration) (*timeout.Stage, error) {
	return timeout.New(timeout.Options{Timeout: d})
}
