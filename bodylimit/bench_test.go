package bodylimit_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/covetgo/covet/bodylimit"
)

func BenchmarkStage(b *testing.B) {
	s, _ := bodylimit.New(bodylimit.Options{})
	h := s.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	for _, c := range []struct {
		name   string
		length int64
	}{{"declared", 64}, {"chunked", -1}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			body := strings.NewReader("")
			for b.Loop() {
				body.Reset(strings.Repeat("x", 64)[:64])
				req := httptest.NewRequest("POST", "/", body)
				req.ContentLength = c.length
				h.ServeHTTP(httptest.NewRecorder(), req)
			}
		})
	}
}
