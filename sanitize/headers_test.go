package sanitize

import (
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/covetgo/covet/clientip"
	"github.com/covetgo/covet/errs"
)

func serveHeaders(t *testing.T, h *Headers, r *http.Request) (http.Header, string) {
	t.Helper()
	var nonce string
	rec := httptest.NewRecorder()
	h.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nonce = NonceFrom(r.Context())
	})).ServeHTTP(rec, r)
	return rec.Header(), nonce
}

func TestHeadersDefaults(t *testing.T) {
	t.Parallel()
	h, err := NewHeaders(HeadersOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "https://app.test/", nil) // sets r.TLS
	got, nonce := serveHeaders(t, h, r)
	want := map[string]string{
		"X-Content-Type-Options":     "nosniff",
		"X-Frame-Options":            "DENY",
		"Referrer-Policy":            "strict-origin-when-cross-origin",
		"Cross-Origin-Opener-Policy": "same-origin",
		"X-Xss-Protection":           "0",
		"Content-Security-Policy":    "frame-ancestors 'none'",
		"Strict-Transport-Security":  "max-age=31536000",
	}
	for k, v := range want {
		if g := got.Get(k); g != v {
			t.Errorf("%s = %q, want %q", k, g, v)
		}
	}
	if nonce != "" {
		t.Errorf("nonce %q without a nonce policy", nonce)
	}
}

func TestHSTSOnlyOverTLS(t *testing.T) {
	t.Parallel()
	proxies, err := clientip.New(clientip.Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := NewHeaders(HeadersOptions{Proxies: proxies, HSTSMaxAge: 730 * 24 * time.Hour, HSTSIncludeSubdomains: true, HSTSPreload: true})
	plain, _ := NewHeaders(HeadersOptions{})
	for _, tc := range []struct {
		name   string
		h      *Headers
		tls    bool
		remote string
		xfp    []string
		want   bool
	}{
		{"direct TLS", h, true, "203.0.113.5:4000", nil, true},
		{"plain HTTP", h, false, "203.0.113.5:4000", nil, false},
		{"trusted proxy says https", h, false, "10.1.2.3:4000", []string{"https"}, true},
		{"trusted proxy says HTTPS with padding", h, false, "10.1.2.3:4000", []string{" HTTPS "}, true},
		{"trusted proxy says http", h, false, "10.1.2.3:4000", []string{"http"}, false},
		{"trusted proxy, two values", h, false, "10.1.2.3:4000", []string{"https", "http"}, false},
		{"untrusted client claims https", h, false, "203.0.113.5:4000", []string{"https"}, false},
		{"no proxies configured", plain, false, "10.1.2.3:4000", []string{"https"}, false},
		{"unparsable RemoteAddr", h, false, "garbage", []string{"https"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "http://app.test/", nil)
			r.RemoteAddr = tc.remote
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if tc.xfp != nil {
				r.Header["X-Forwarded-Proto"] = tc.xfp
			}
			got, _ := serveHeaders(t, tc.h, r)
			v := got.Get("Strict-Transport-Security")
			if (v != "") != tc.want {
				t.Fatalf("HSTS = %q, want present=%v", v, tc.want)
			}
			if v != "" && tc.h == h && v != "max-age=63072000; includeSubDomains; preload" {
				t.Fatalf("HSTS = %q", v)
			}
			if got.Get("X-Frame-Options") != "DENY" {
				t.Fatal("other headers missing")
			}
		})
	}
}

func TestCSPNonce(t *testing.T) {
	t.Parallel()
	csp := NewCSP().Add("default-src", "'self'").Add("script-src", "'self'", Nonce).Add("style-src", Nonce)
	h, err := NewHeaders(HeadersOptions{CSP: csp, AllowSameOriginFraming: true})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for range 50 {
		got, nonce := serveHeaders(t, h, httptest.NewRequest("GET", "/", nil))
		if len(nonce) != 22 || seen[nonce] {
			t.Fatalf("nonce %q (length %d, repeated %v)", nonce, len(nonce), seen[nonce])
		}
		seen[nonce] = true
		want := "default-src 'self'; script-src 'self' 'nonce-" + nonce + "'; style-src 'nonce-" + nonce + "'; frame-ancestors 'self'"
		if g := got.Get("Content-Security-Policy"); g != want {
			t.Fatalf("CSP = %q, want %q", g, want)
		}
		if got.Get("X-Frame-Options") != "SAMEORIGIN" {
			t.Fatal("X-Frame-Options not SAMEORIGIN")
		}
	}
	ro, _ := NewHeaders(HeadersOptions{CSP: NewCSP().Add("frame-ancestors", "https://partner.test").Add("default-src", "'self'"), CSPReportOnly: true})
	got, _ := serveHeaders(t, ro, httptest.NewRequest("GET", "/", nil))
	if got.Get("Content-Security-Policy") != "" || got.Get("Content-Security-Policy-Report-Only") != "frame-ancestors https://partner.test; default-src 'self'" {
		t.Fatalf("report-only: %v", got)
	}
}

func TestHeadersConfig(t *testing.T) {
	t.Parallel()
	for name, o := range map[string]HeadersOptions{
		"unsafe-url referrer":        {ReferrerPolicy: "unsafe-url"},
		"unknown referrer":           {ReferrerPolicy: "whatever"},
		"unknown COOP":               {CrossOriginOpenerPolicy: "open"},
		"short HSTS":                 {HSTSMaxAge: time.Hour},
		"preload without subdomains": {HSTSPreload: true},
		"preload under a year":       {HSTSPreload: true, HSTSIncludeSubdomains: true, HSTSMaxAge: 30 * 24 * time.Hour},
		"disabled HSTS with options": {DisableHSTS: true, HSTSIncludeSubdomains: true},
		"CSP source with semicolon":  {CSP: NewCSP().Add("script-src", "'self'; object-src *")},
		"CSP source with newline":    {CSP: NewCSP().Add("script-src", "a\nb")},
		"CSP bad directive":          {CSP: NewCSP().Add("script src", "'self'")},
		"CSP empty source":           {CSP: NewCSP().Add("script-src", "")},
	} {
		if _, err := NewHeaders(o); !errors.Is(err, errs.KindConfiguration) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	h, err := NewHeaders(HeadersOptions{DisableHSTS: true})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := serveHeaders(t, h, httptest.NewRequest("GET", "https://a.test/", nil))
	if got.Get("Strict-Transport-Security") != "" {
		t.Error("DisableHSTS still sends HSTS")
	}
}

// TestHeadersHandlerMutation checks that a handler editing the header slices
// in place does not change what other requests get.
func TestHeadersHandlerMutation(t *testing.T) {
	t.Parallel()
	h, _ := NewHeaders(HeadersOptions{})
	stage := h.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, v := range w.Header() {
			v[0] = "mutated"
		}
	}))
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				stage.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "https://a.test/", nil))
			}
		}()
	}
	wg.Wait()
	got, _ := serveHeaders(t, h, httptest.NewRequest("GET", "https://a.test/", nil))
	for k, v := range got {
		if strings.Contains(v[0], "mutated") {
			t.Errorf("%s = %q after mutating handlers", k, v[0])
		}
	}
}

func BenchmarkHeaders(b *testing.B) {
	for name, o := range map[string]HeadersOptions{
		"static": {},
		"nonce":  {CSP: NewCSP().Add("default-src", "'self'").Add("script-src", "'self'", Nonce)},
	} {
		h, _ := NewHeaders(o)
		stage := h.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		r := httptest.NewRequest("GET", "https://a.test/", nil)
		w := httptest.NewRecorder()
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				clear(w.Header())
				stage.ServeHTTP(w, r)
			}
		})
	}
}

func BenchmarkScreen(b *testing.B) {
	s, _ := NewScreen(ScreenOptions{})
	r := rawRequest("/api/v1/notes/%E6%97%A5%E6%9C%AC/comments?sort=-created&limit=20&q=caf%C3%A9")
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Check(r)
	}
}
