package compress_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/klauspost/compress/gzhttp"

	"github.com/covetgo/covet/compress"
)

func BenchmarkStage(b *testing.B) {
	page := []byte(big)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write(page)
	})
	covet, err := compress.New(compress.Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range []struct {
		name string
		h    http.Handler
	}{{"covet", covet.Handler(handler)}, {"gzhttp", gzhttp.GzipHandler(handler)}} {
		b.Run(s.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("Accept-Encoding", "gzip")
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				s.h.ServeHTTP(rec, req)
				_, _ = io.Copy(io.Discard, rec.Body)
			}
		})
	}
}
