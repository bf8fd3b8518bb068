package bench

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	chicors "github.com/go-chi/cors"
	rscors "github.com/rs/cors"

	"github.com/covetgo/covet/cors"
)

// discardWriter is the cheapest ResponseWriter, so the middleware's own cost
// is what the benchmark measures. Its header map is cleared and reused.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(s int)           { w.status = s }

type corsCase struct {
	name    string
	origins []string
	req     *http.Request
}

func corsCases() []corsCase {
	get := func(origin string) *http.Request {
		r, _ := http.NewRequest("GET", "https://api.test/things", nil)
		r.Header.Set("Origin", origin)
		return r
	}
	pre := func(origin, acrh string) *http.Request {
		r, _ := http.NewRequest("OPTIONS", "https://api.test/things", nil)
		r.Header.Set("Origin", origin)
		r.Header.Set("Access-Control-Request-Method", "PUT")
		r.Header.Set("Access-Control-Request-Headers", acrh)
		return r
	}
	hundred := make([]string, 100)
	for i := range hundred {
		hundred[i] = fmt.Sprintf("https://app%d.example.com", i)
	}
	one := []string{"https://app.example.com"}
	return []corsCase{
		{"ActualAllowed", one, get("https://app.example.com")},
		{"PreflightAllowed", one, pre("https://app.example.com", "authorization,content-type")},
		{"PreflightRefused", one, pre("https://evil.example.net", "authorization,content-type")},
		{"Origins100", hundred, get("https://app99.example.com")},
		{"HostileACRH4K", one, pre("https://app.example.com", strings.Repeat("x-a,", 1024))},
	}
}

func BenchmarkCORS(b *testing.B) {
	noop := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	methods := []string{"GET", "POST", "PUT"}
	headers := []string{"Authorization", "Content-Type"}
	for _, tc := range corsCases() {
		stages := []struct {
			name string
			h    http.Handler
		}{
			{"covet", cors.Must(cors.Options{AllowedOrigins: tc.origins, AllowedMethods: methods, AllowedHeaders: headers, AllowCredentials: true}).Handler(noop)},
			{"rscors", rscors.New(rscors.Options{AllowedOrigins: tc.origins, AllowedMethods: methods, AllowedHeaders: headers, AllowCredentials: true}).Handler(noop)},
			{"chicors", chicors.Handler(chicors.Options{AllowedOrigins: tc.origins, AllowedMethods: methods, AllowedHeaders: headers, AllowCredentials: true})(noop)},
		}
		for _, s := range stages {
			b.Run(tc.name+"/"+s.name, func(b *testing.B) {
				w := &discardWriter{h: http.Header{}}
				b.ReportAllocs()
				for b.Loop() {
					clear(w.h)
					s.h.ServeHTTP(w, tc.req)
				}
			})
		}
	}
}

// BenchmarkCORSFloor measures the least any stage that has rs/cors write
// its headers, and keeps rs/cors's shared slices out of the response, must
// add to plain rs/cors: one fresh array per response, a Vary slice in it
// that rs/cors appends to (a map write), and Access-Control-Allow-Credentials
// written from it (the map write plain rs/cors makes too). It checks
// nothing else: no dispatch, no refusal handling, no Vary from earlier
// stages. The stage (covet) is measured beside it, on the same requests.
func BenchmarkCORSFloor(b *testing.B) {
	noop := func(http.ResponseWriter, *http.Request) {}
	o := rscors.Options{
		AllowedOrigins: []string{"https://app.example.com"}, AllowedMethods: []string{"GET", "POST", "PUT"},
		AllowedHeaders: []string{"Authorization", "Content-Type"}, OptionsPassthrough: true,
	}
	inner := rscors.New(o)
	o.AllowCredentials, o.OptionsPassthrough = true, false
	plain := rscors.New(o).Handler(http.HandlerFunc(noop))
	floor := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		v := make([]string, 2)
		h["Vary"] = v[0:0:1]
		inner.ServeHTTP(w, r, noop)
		v[1] = "true"
		h["Access-Control-Allow-Credentials"] = v[1:2:2]
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
		}
	})
	covet := cors.Must(cors.Options{
		AllowedOrigins: o.AllowedOrigins, AllowedMethods: o.AllowedMethods,
		AllowedHeaders: o.AllowedHeaders, AllowCredentials: true,
	}).Handler(http.HandlerFunc(noop))
	for _, tc := range corsCases()[:2] {
		for _, s := range []struct {
			name string
			h    http.Handler
		}{{"covet", covet}, {"floor", floor}, {"rscors", plain}} {
			b.Run(tc.name+"/"+s.name, func(b *testing.B) {
				w := &discardWriter{h: http.Header{}}
				b.ReportAllocs()
				for b.Loop() {
					clear(w.h)
					s.h.ServeHTTP(w, tc.req)
				}
			})
		}
	}
}

// TestCORSPeersAgree checks that the three stages answer the benchmark
// requests alike, so the comparison is between equal work.
func TestCORSPeersAgree(t *testing.T) {
	noop := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	for _, tc := range corsCases() {
		o := cors.Options{AllowedOrigins: tc.origins, AllowedMethods: []string{"PUT"}, AllowedHeaders: []string{"Authorization", "Content-Type"}, AllowCredentials: true}
		covet := cors.Must(o).Handler(noop)
		rs := rscors.New(rscors.Options{AllowedOrigins: tc.origins, AllowedMethods: []string{"GET", "PUT"}, AllowedHeaders: o.AllowedHeaders, AllowCredentials: true}).Handler(noop)
		w1, w2 := &discardWriter{h: http.Header{}}, &discardWriter{h: http.Header{}}
		covet.ServeHTTP(w1, tc.req)
		rs.ServeHTTP(w2, tc.req)
		if a, b := w1.h.Get("Access-Control-Allow-Origin"), w2.h.Get("Access-Control-Allow-Origin"); a != b {
			t.Errorf("%s: covet ACAO %q, rs/cors %q", tc.name, a, b)
		}
	}
}
