package bench

import (
	"crypto/tls"
	"net/http"
	"testing"

	"github.com/unrolled/secure"

	"github.com/covetgo/covet/sanitize"
)

// The same headers from both stages: nosniff, frame DENY, Referrer-Policy,
// COOP, X-XSS-Protection: 0, a CSP with frame-ancestors 'none', and HSTS on
// a TLS request.
func headerStages(nonce bool) (covet, unrolled http.Handler) {
	noop := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	csp := sanitize.NewCSP().Add("default-src", "'self'").Add("frame-ancestors", "'none'")
	cspUnrolled := "default-src 'self'; frame-ancestors 'none'"
	if nonce {
		csp = sanitize.NewCSP().Add("default-src", "'self'").Add("script-src", "'self'", sanitize.Nonce).Add("frame-ancestors", "'none'")
		cspUnrolled = "default-src 'self'; script-src 'self' $NONCE; frame-ancestors 'none'"
	}
	h, err := sanitize.NewHeaders(sanitize.HeadersOptions{CSP: csp})
	if err != nil {
		panic(err)
	}
	s := secure.New(secure.Options{
		ContentTypeNosniff:      true,
		FrameDeny:               true,
		ReferrerPolicy:          "strict-origin-when-cross-origin",
		CrossOriginOpenerPolicy: "same-origin",
		BrowserXssFilter:        true,
		CustomBrowserXssValue:   "0",
		ContentSecurityPolicy:   cspUnrolled,
		STSSeconds:              31536000,
	})
	return h.Handler(noop), s.Handler(noop)
}

func BenchmarkSanitize_Headers(b *testing.B) {
	r, _ := http.NewRequest("GET", "https://app.test/", nil)
	r.TLS = &tls.ConnectionState{}
	for _, nonce := range []bool{false, true} {
		covet, unrolled := headerStages(nonce)
		name := "Static"
		if nonce {
			name = "Nonce"
		}
		for _, s := range []struct {
			name string
			h    http.Handler
		}{{"covet", covet}, {"unrolled", unrolled}} {
			b.Run(name+"/"+s.name, func(b *testing.B) {
				w := &discardWriter{h: http.Header{}}
				b.ReportAllocs()
				for b.Loop() {
					clear(w.h)
					s.h.ServeHTTP(w, r)
				}
			})
		}
	}
}

// TestSanitizeHeadersPeersAgree checks that both stages set the same
// headers on the benchmark request.
func TestSanitizeHeadersPeersAgree(t *testing.T) {
	r, _ := http.NewRequest("GET", "https://app.test/", nil)
	r.TLS = &tls.ConnectionState{}
	covet, unrolled := headerStages(false)
	w1, w2 := &discardWriter{h: http.Header{}}, &discardWriter{h: http.Header{}}
	covet.ServeHTTP(w1, r)
	unrolled.ServeHTTP(w2, r)
	if len(w1.h) != len(w2.h) {
		t.Errorf("covet sets %d headers %v, unrolled/secure %d %v", len(w1.h), w1.h, len(w2.h), w2.h)
	}
	for k := range w2.h {
		if w1.h.Get(k) != w2.h.Get(k) {
			t.Errorf("%s: covet %q, unrolled/secure %q", k, w1.h.Get(k), w2.h.Get(k))
		}
	}
}
