package cors

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	rscors "github.com/rs/cors"
)

type benchWriter struct{ h http.Header }

func (w benchWriter) Header() http.Header         { return w.h }
func (w benchWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w benchWriter) WriteHeader(int)             {}

func benchServe(b *testing.B, c *Policy, r *http.Request) {
	h := c.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	w := benchWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
}

func BenchmarkActualAllowed(b *testing.B) {
	c := Must(Options{AllowedOrigins: []string{"https://app.example.com"}, AllowCredentials: true})
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Origin", "https://app.example.com")
	benchServe(b, c, r)
}

func BenchmarkPreflightAllowed(b *testing.B) {
	c := Must(Options{AllowedOrigins: []string{"https://*.example.com"}, AllowedMethods: []string{"PUT"}, AllowedHeaders: []string{"Content-Type", "Authorization"}})
	r := httptest.NewRequest("OPTIONS", "/", nil)
	r.Header.Set("Origin", "https://a.example.com")
	r.Header.Set("Access-Control-Request-Method", "PUT")
	r.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
	benchServe(b, c, r)
}

func BenchmarkPreflightHostileHeaders(b *testing.B) {
	c := Must(Options{AllowedOrigins: []string{"https://app.example.com"}, AllowedMethods: []string{"PUT"}})
	r := httptest.NewRequest("OPTIONS", "/", nil)
	r.Header.Set("Origin", "https://app.example.com")
	r.Header.Set("Access-Control-Request-Method", "PUT")
	r.Header.Set("Access-Control-Request-Headers", strings.Repeat("a", 4096))
	benchServe(b, c, r)
}

// BenchmarkWrapperCost measures what this package adds to plain rs/cors
// configured alike: the pre-checks and the fresh header slices.
func BenchmarkWrapperCost(b *testing.B) {
	noop := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	origins := []string{"https://app.example.com"}
	methods := []string{"GET", "POST", "PUT"}
	headers := []string{"Authorization", "Content-Type"}
	stages := []struct {
		name string
		h    http.Handler
	}{
		{"rscors", rscors.New(rscors.Options{AllowedOrigins: origins, AllowedMethods: methods, AllowedHeaders: headers, AllowCredentials: true, MaxAge: 600}).Handler(noop)},
		{"covet", Must(Options{AllowedOrigins: origins, AllowedMethods: methods, AllowedHeaders: headers, AllowCredentials: true, MaxAge: 600 * time.Second}).Handler(noop)},
	}
	actual := httptest.NewRequest("GET", "/", nil)
	actual.Header.Set("Origin", "https://app.example.com")
	pre := httptest.NewRequest("OPTIONS", "/", nil)
	pre.Header.Set("Origin", "https://app.example.com")
	pre.Header.Set("Access-Control-Request-Method", "PUT")
	pre.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
	for _, req := range []struct {
		name string
		r    *http.Request
	}{{"actual", actual}, {"preflight", pre}} {
		for _, s := range stages {
			b.Run(req.name+"/"+s.name, func(b *testing.B) {
				w := benchWriter{h: http.Header{}}
				b.ReportAllocs()
				for b.Loop() {
					clear(w.h)
					s.h.ServeHTTP(w, req.r)
				}
			})
		}
	}
}

func BenchmarkAcceptsRequestHeaders(b *testing.B) {
	c := Must(Options{AllowedOrigins: []string{"https://app.example.com"}, AllowedHeaders: []string{"Authorization", "Content-Type"}})
	lines := []string{"authorization,content-type"}
	b.ReportAllocs()
	for b.Loop() {
		if !c.headers.acceptsRequestHeaders(lines) {
			b.Fatal("refused")
		}
	}
}
