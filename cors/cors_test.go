package cors

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/covetgo/covet/errs"
)

const varyPre = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"

func policies(t *testing.T) map[string]*Policy {
	t.Helper()
	full := Options{
		AllowedOrigins:   []string{"https://app.example.com", "https://*.example.org", "https://api.example.net:8443"},
		AllowedMethods:   []string{"GET", "POST", "PUT", "PATCH", "DELETE"},
		AllowedHeaders:   []string{"Content-Type", "Authorization", "X-Request-ID"},
		ExposedHeaders:   []string{"x-request-id"},
		AllowCredentials: true,
		MaxAge:           10 * time.Minute,
	}
	f403 := full
	f403.RefusePreflightWith403 = true
	opts := map[string]Options{
		"full": full,
		"403":  f403,
		"star": {AllowedOrigins: []string{"*"}, AllowedHeaders: []string{"*"}, AllowedMethods: []string{"GET", "PUT"}},
		"none": {},
		"dev":  {AllowedOrigins: []string{"http://localhost:*", "http://[::1]:*"}},
	}
	out := map[string]*Policy{}
	for k, o := range opts {
		c, err := New(o)
		if err != nil {
			t.Fatalf("policy %s: %v", k, err)
		}
		out[k] = c
	}
	return out
}

// hdr lists request headers as name, value pairs; a name may repeat.
type hdr []string

func TestFetchTable(t *testing.T) {
	t.Parallel()
	ps := policies(t)
	const (
		app = "https://app.example.com"
	)
	pre := func(origin, method string, acrh ...string) hdr {
		h := hdr{"Origin", origin, "Access-Control-Request-Method", method}
		for _, v := range acrh {
			h = append(h, "Access-Control-Request-Headers", v)
		}
		return h
	}
	type want struct {
		status int
		next   bool
		// expected response headers; "" means absent. Lines joined by "|".
		acao, acac, acam, acah, aceh, maxAge, vary string
	}
	allowedActual := func(origin string) want {
		return want{status: 200, next: true, acao: origin, acac: "true", aceh: "X-Request-Id", vary: "Origin"}
	}
	refusedActual := want{status: 200, next: true, vary: "Origin"}
	refusedPre := want{status: 204, vary: varyPre}
	okPre := func(origin, method, acah string) want {
		return want{status: 204, acao: origin, acac: "true", acam: method, acah: acah, maxAge: "600", vary: varyPre}
	}
	cases := []struct {
		name   string
		policy string
		method string
		h      hdr
		want   want
	}{
		// Simple (actual) requests.
		{"simple GET from allowed origin", "full", "GET", hdr{"Origin", app}, allowedActual(app)},
		{"simple POST from allowed origin", "full", "POST", hdr{"Origin", app, "Content-Type", "text/plain"}, allowedActual(app)},
		{"HEAD from allowed origin", "full", "HEAD", hdr{"Origin", app}, allowedActual(app)},
		{"GET without Origin still varies on Origin", "full", "GET", nil, refusedActual},
		{"GET from unknown origin", "full", "GET", hdr{"Origin", "https://evil.com"}, refusedActual},
		{"origin case differs: browsers send lowercase", "full", "GET", hdr{"Origin", "https://APP.example.com"}, refusedActual},
		{"scheme case differs", "full", "GET", hdr{"Origin", "HTTPS://app.example.com"}, refusedActual},
		{"http origin where https allowed", "full", "GET", hdr{"Origin", "http://app.example.com"}, refusedActual},
		{"null origin refused", "full", "GET", hdr{"Origin", "null"}, refusedActual},
		{"origin with trailing slash", "full", "GET", hdr{"Origin", app + "/"}, refusedActual},
		{"origin with path", "full", "GET", hdr{"Origin", app + "/x"}, refusedActual},
		{"origin with default port spelled out", "full", "GET", hdr{"Origin", app + ":443"}, refusedActual},
		{"two Origin lines", "full", "GET", hdr{"Origin", app, "Origin", app}, refusedActual},
		{"userinfo in origin", "full", "GET", hdr{"Origin", "https://app.example.com@evil.com"}, refusedActual},

		// Wildcard subdomains.
		{"wildcard: one label", "full", "GET", hdr{"Origin", "https://a.example.org"}, allowedActual("https://a.example.org")},
		{"wildcard: two labels", "full", "GET", hdr{"Origin", "https://a.b.example.org"}, allowedActual("https://a.b.example.org")},
		{"wildcard: apex is not a subdomain", "full", "GET", hdr{"Origin", "https://example.org"}, refusedActual},
		{"wildcard: suffix without dot", "full", "GET", hdr{"Origin", "https://evilexample.org"}, refusedActual},
		{"wildcard: allowed domain as prefix", "full", "GET", hdr{"Origin", "https://a.example.org.evil.com"}, refusedActual},
		{"wildcard: empty label", "full", "GET", hdr{"Origin", "https://.example.org"}, refusedActual},
		{"wildcard: double dot", "full", "GET", hdr{"Origin", "https://a..example.org"}, refusedActual},
		{"wildcard: other scheme", "full", "GET", hdr{"Origin", "http://a.example.org"}, refusedActual},
		{"wildcard: with a port", "full", "GET", hdr{"Origin", "https://a.example.org:8443"}, refusedActual},
		{"exact port", "full", "GET", hdr{"Origin", "https://api.example.net:8443"}, allowedActual("https://api.example.net:8443")},
		{"exact port, other port", "full", "GET", hdr{"Origin", "https://api.example.net:9443"}, refusedActual},
		{"exact port, no port", "full", "GET", hdr{"Origin", "https://api.example.net"}, refusedActual},

		// Preflights.
		{"preflight PUT with content-type", "full", "OPTIONS", pre(app, "PUT", "content-type"), okPre(app, "PUT", "content-type")},
		{"preflight DELETE without headers", "full", "OPTIONS", pre(app, "DELETE"), okPre(app, "DELETE", "")},
		{"preflight PATCH", "full", "OPTIONS", pre(app, "PATCH", "authorization,content-type"), okPre(app, "PATCH", "authorization,content-type")},
		{"preflight lowercase patch is another method", "full", "OPTIONS", pre(app, "patch"), refusedPre},
		{"preflight lowercase put is not normalized here", "full", "OPTIONS", pre(app, "put"), refusedPre},
		{"preflight for a method not allowed", "full", "OPTIONS", pre(app, "PURGE"), refusedPre},
		{"preflight for safelisted POST with a custom header", "full", "OPTIONS", pre(app, "POST", "x-request-id"), okPre(app, "POST", "x-request-id")},
		{"preflight from unknown origin", "full", "OPTIONS", pre("https://evil.com", "PUT"), refusedPre},
		{"preflight from null origin", "full", "OPTIONS", pre("null", "PUT"), refusedPre},
		{"preflight from wildcard subdomain", "full", "OPTIONS", pre("https://x.example.org", "PUT", "content-type"), okPre("https://x.example.org", "PUT", "content-type")},
		{"preflight: ACRH over two lines", "full", "OPTIONS", pre(app, "PUT", "content-type", "x-request-id"), okPre(app, "PUT", "content-type,x-request-id")},
		{"preflight: ACRH padded with spaces", "full", "OPTIONS", pre(app, "PUT", "  content-type ,\tauthorization  "), okPre(app, "PUT", "  content-type ,\tauthorization  ")},
		{"preflight: ACRH in mixed case", "full", "OPTIONS", pre(app, "PUT", "Content-Type,X-Request-ID"), okPre(app, "PUT", "Content-Type,X-Request-ID")},
		{"preflight: ACRH unsorted", "full", "OPTIONS", pre(app, "PUT", "x-request-id,authorization"), okPre(app, "PUT", "x-request-id,authorization")},
		{"preflight: ACRH with empty elements", "full", "OPTIONS", pre(app, "PUT", ",,content-type,,"), okPre(app, "PUT", ",,content-type,,")},
		{"preflight: empty ACRH", "full", "OPTIONS", pre(app, "PUT", ""), okPre(app, "PUT", "")},
		{"preflight: header not allowed", "full", "OPTIONS", pre(app, "PUT", "content-type,x-evil"), refusedPre},
		{"preflight: ACRH not a token list", "full", "OPTIONS", pre(app, "PUT", "content-type;x=1"), refusedPre},
		{"preflight: ACRH with a space inside a name", "full", "OPTIONS", pre(app, "PUT", "content type"), refusedPre},
		{"preflight: oversized ACRH", "full", "OPTIONS", pre(app, "PUT", strings.Repeat("content-type,", 300)), refusedPre},
		{"preflight: two Origin lines", "full", "OPTIONS", append(pre(app, "PUT"), "Origin", app), refusedPre},
		{"preflight: two Origin lines, the first allowed", "full", "OPTIONS", append(pre(app, "PUT"), "Origin", "https://evil.com"), refusedPre},
		{"preflight: two ACRM lines", "full", "OPTIONS", append(pre(app, "PUT"), "Access-Control-Request-Method", "GET"), refusedPre},
		{"OPTIONS with Origin but no ACRM is an actual request", "full", "OPTIONS", hdr{"Origin", app}, allowedActual(app)},
		{"OPTIONS without Origin passes through", "full", "OPTIONS", nil, refusedActual},
		{"OPTIONS with ACRM but no Origin passes through", "full", "OPTIONS", hdr{"Access-Control-Request-Method", "PUT"}, refusedActual},
		{"ACRM on a GET is not a preflight", "full", "GET", pre(app, "PUT"), allowedActual(app)},

		// 403 option.
		{"403: refused preflight", "403", "OPTIONS", pre("https://evil.com", "PUT"), want{status: 403, vary: varyPre}},
		{"403: allowed preflight still 204", "403", "OPTIONS", pre(app, "PUT"), okPre(app, "PUT", "")},

		// Any origin, no credentials.
		{"star: GET from any origin", "star", "GET", hdr{"Origin", "https://anything.test"}, want{status: 200, next: true, acao: "*"}},
		{"star: GET without Origin gets the same answer", "star", "GET", nil, want{status: 200, next: true, acao: "*"}},
		{"star: null origin", "star", "GET", hdr{"Origin", "null"}, want{status: 200, next: true, acao: "*"}},
		{"star: preflight with any header", "star", "OPTIONS", pre("https://x.test", "PUT", "x-anything,x-other"), want{status: 204, acao: "*", acam: "PUT", acah: "x-anything,x-other", vary: varyPre}},
		{"star: preflight for a method not allowed", "star", "OPTIONS", pre("https://x.test", "DELETE"), refusedPre},

		// Empty allowlist: same-origin only.
		{"none: GET with Origin gets no CORS headers", "none", "GET", hdr{"Origin", app}, want{status: 200, next: true}},
		{"none: preflight refused without CORS headers", "none", "OPTIONS", pre(app, "GET"), want{status: 204}},

		// Any port.
		{"dev: localhost with a port", "dev", "GET", hdr{"Origin", "http://localhost:5173"}, want{status: 200, next: true, acao: "http://localhost:5173", vary: "Origin"}},
		{"dev: localhost without a port", "dev", "GET", hdr{"Origin", "http://localhost"}, want{status: 200, next: true, acao: "http://localhost", vary: "Origin"}},
		{"dev: IPv6 loopback with a port", "dev", "GET", hdr{"Origin", "http://[::1]:3000"}, want{status: 200, next: true, acao: "http://[::1]:3000", vary: "Origin"}},
		{"dev: non-numeric port", "dev", "GET", hdr{"Origin", "http://localhost:3000x"}, refusedActual},
		{"dev: empty port", "dev", "GET", hdr{"Origin", "http://localhost:"}, refusedActual},
		{"dev: https is another origin", "dev", "GET", hdr{"Origin", "https://localhost:3000"}, refusedActual},
		{"dev: localhost as a prefix", "dev", "GET", hdr{"Origin", "http://localhost.evil.com"}, refusedActual},
	}
	if len(cases) < 40 {
		t.Fatalf("table has %d cases", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			nextCalled := false
			h := ps[tc.policy].Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				nextCalled = true
				w.WriteHeader(200)
			}))
			r := httptest.NewRequest(tc.method, "https://api.test/things", nil)
			for i := 0; i+1 < len(tc.h); i += 2 {
				r.Header.Add(tc.h[i], tc.h[i+1])
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tc.want.status {
				t.Errorf("status = %d, want %d", rec.Code, tc.want.status)
			}
			if nextCalled != tc.want.next {
				t.Errorf("next called = %v, want %v", nextCalled, tc.want.next)
			}
			for _, c := range []struct{ name, want string }{
				{"Access-Control-Allow-Origin", tc.want.acao},
				{"Access-Control-Allow-Credentials", tc.want.acac},
				{"Access-Control-Allow-Methods", tc.want.acam},
				{"Access-Control-Allow-Headers", tc.want.acah},
				{"Access-Control-Expose-Headers", tc.want.aceh},
				{"Access-Control-Max-Age", tc.want.maxAge},
				{"Vary", tc.want.vary},
			} {
				if got := strings.Join(rec.Header()[c.name], "|"); got != c.want {
					t.Errorf("%s = %q, want %q", c.name, got, c.want)
				}
			}
		})
	}
}

func TestRefused403IsProblemJSON(t *testing.T) {
	t.Parallel()
	c := Must(Options{AllowedOrigins: []string{"https://app.example.com"}, RefusePreflightWith403: true})
	rec := httptest.NewRecorder()
	r := httptest.NewRequest("OPTIONS", "/x", nil)
	r.Header.Set("Origin", "https://evil.com")
	r.Header.Set("Access-Control-Request-Method", "PUT")
	c.Handler(http.NotFoundHandler()).ServeHTTP(rec, r)
	if rec.Code != 403 || rec.Header().Get("Content-Type") != errs.ContentType {
		t.Fatalf("got %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	var body struct{ Code string }
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Code != "cors_preflight_refused" {
		t.Fatalf("body %s: %v", rec.Body, err)
	}
	if rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("refused preflight carries Access-Control-Allow-Origin")
	}
}

func TestRefusedConfigurations(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		o    Options
		want string // part of the error message: the offending entry
	}{
		{"star with credentials", Options{AllowedOrigins: []string{"*"}, AllowCredentials: true}, `"*"`},
		{"star among others", Options{AllowedOrigins: []string{"https://a.com", "*"}}, `"*"`},
		{"wildcard without dot", Options{AllowedOrigins: []string{"https://*example.com"}}, `https://*example.com`},
		{"wildcard in the middle", Options{AllowedOrigins: []string{"https://api.*.example.com"}}, `api.*.example.com`},
		{"wildcard at the end", Options{AllowedOrigins: []string{"https://example.*"}}, `example.*`},
		{"wildcard scheme", Options{AllowedOrigins: []string{"*://example.com"}}, `*://example.com`},
		{"wildcard on a TLD", Options{AllowedOrigins: []string{"https://*.com"}}, `*.com`},
		{"two wildcard labels", Options{AllowedOrigins: []string{"https://*.*.example.com"}}, `*.*.example.com`},
		{"partial port wildcard", Options{AllowedOrigins: []string{"http://localhost:80*"}}, `localhost:80*`},
		{"null", Options{AllowedOrigins: []string{"null"}}, `"null"`},
		{"NULL", Options{AllowedOrigins: []string{"NULL"}}, `"NULL"`},
		{"file origin", Options{AllowedOrigins: []string{"file://"}}, `file://`},
		{"file origin with path", Options{AllowedOrigins: []string{"file:///etc"}}, `file:///etc`},
		{"path", Options{AllowedOrigins: []string{"https://a.com/api"}}, `https://a.com/api`},
		{"trailing slash", Options{AllowedOrigins: []string{"https://a.com/"}}, `https://a.com/`},
		{"query", Options{AllowedOrigins: []string{"https://a.com?x=1"}}, `x=1`},
		{"fragment", Options{AllowedOrigins: []string{"https://a.com#x"}}, `a.com#x`},
		{"userinfo", Options{AllowedOrigins: []string{"https://user@a.com"}}, `user@a.com`},
		{"default https port", Options{AllowedOrigins: []string{"https://a.com:443"}}, `a.com:443`},
		{"default http port", Options{AllowedOrigins: []string{"http://a.com:80"}}, `a.com:80`},
		{"bad port", Options{AllowedOrigins: []string{"https://a.com:99999"}}, `99999`},
		{"no scheme", Options{AllowedOrigins: []string{"a.com"}}, `"a.com"`},
		{"empty entry", Options{AllowedOrigins: []string{""}}, `""`},
		{"space", Options{AllowedOrigins: []string{"https://a.com "}}, `a.com `},
		{"http with credentials", Options{AllowedOrigins: []string{"http://a.com"}, AllowCredentials: true}, `http://a.com`},
		{"any-port http with credentials", Options{AllowedOrigins: []string{"http://localhost:*"}, AllowCredentials: true}, `localhost:*`},
		{"max age over a day", Options{AllowedOrigins: []string{"https://a.com"}, MaxAge: 86401 * time.Second}, `MaxAge`},
		{"negative max age", Options{AllowedOrigins: []string{"https://a.com"}, MaxAge: -time.Second}, `MaxAge`},
		{"header star with credentials", Options{AllowedOrigins: []string{"https://a.com"}, AllowCredentials: true, AllowedHeaders: []string{"*"}}, `"*"`},
		{"bad method", Options{AllowedOrigins: []string{"https://a.com"}, AllowedMethods: []string{"GET POST"}}, `GET POST`},
		{"bad header", Options{AllowedOrigins: []string{"https://a.com"}, AllowedHeaders: []string{"X-A:b"}}, `X-A:b`},
		{"bad exposed header", Options{AllowedOrigins: []string{"https://a.com"}, ExposedHeaders: []string{"a\r\nb"}}, `a\r\nb`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(tc.o)
			if err == nil {
				t.Fatalf("New accepted it: %+v", c)
			}
			if !errors.Is(err, errs.KindConfiguration) {
				t.Errorf("error kind = %v, want configuration", errs.KindOf(err))
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %q", err, tc.want)
			}
		})
	}
}

func TestAcceptedConfigurations(t *testing.T) {
	t.Parallel()
	for _, o := range []Options{
		{},
		{AllowedOrigins: []string{"*"}},
		{AllowedOrigins: []string{"HTTPS://App.Example.COM"}, AllowCredentials: true},
		{AllowedOrigins: []string{"http://localhost:*"}, AllowCredentials: true, DangerouslyAllowHTTPOriginsWithCredentials: true},
		{AllowedOrigins: []string{"https://[2001:db8::1]:8443", "chrome-extension://abcdef"}},
		{AllowedOrigins: []string{"https://a.com"}, MaxAge: 24 * time.Hour},
	} {
		if _, err := New(o); err != nil {
			t.Errorf("New(%+v): %v", o, err)
		}
	}
	c := Must(Options{AllowedOrigins: []string{"HTTPS://App.Example.COM"}})
	if !c.match.allowed("https://app.example.com") {
		t.Error("configured origins are not lowercased")
	}
}

func TestVaryAppended(t *testing.T) {
	t.Parallel()
	c := Must(Options{AllowedOrigins: []string{"https://app.example.com"}})
	for _, tc := range []struct {
		name     string
		existing []string
		method   string
		want     string
	}{
		{"kept and appended", []string{"Accept-Encoding"}, "GET", "Accept-Encoding|Origin"},
		{"origin not repeated", []string{"Accept-Encoding, origin"}, "GET", "Accept-Encoding, origin"},
		{"star left alone", []string{"*"}, "GET", "*"},
		{"preflight appends its fields", []string{"Accept-Encoding"}, "OPTIONS", "Accept-Encoding|" + varyPre},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outer := func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header()["Vary"] = append([]string(nil), tc.existing...)
					next.ServeHTTP(w, r)
				})
			}
			var handlerVary string
			h := outer(c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				handlerVary = strings.Join(w.Header()["Vary"], "|")
			})))
			r := httptest.NewRequest(tc.method, "/", nil)
			r.Header.Set("Origin", "https://app.example.com")
			if tc.method == "OPTIONS" {
				r.Header.Set("Access-Control-Request-Method", "GET")
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if got := strings.Join(rec.Header()["Vary"], "|"); got != tc.want {
				t.Errorf("Vary = %q, want %q", got, tc.want)
			}
			if tc.method == "GET" && handlerVary != tc.want {
				t.Errorf("handler saw Vary %q, want %q", handlerVary, tc.want)
			}
		})
	}
}

// TestHandlerMutatesHeadersRace runs handlers that edit the CORS header
// slices in place, concurrently. With shared slices (rs/cors#198) the race
// detector reports it and later responses carry the edits.
func TestHandlerMutatesHeadersRace(t *testing.T) {
	t.Parallel()
	c := Must(Options{
		AllowedOrigins: []string{"https://app.example.com"}, AllowCredentials: true,
		ExposedHeaders: []string{"X-Total"}, MaxAge: time.Hour, AllowedMethods: []string{"PUT"},
		AllowPrivateNetwork: true,
	})
	mutate := func(h http.Header) {
		for _, k := range []string{"Vary", "Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Expose-Headers",
			"Access-Control-Max-Age", "Access-Control-Allow-Private-Network", "Access-Control-Allow-Methods"} {
			if v := h[k]; len(v) > 0 {
				v[0] = "mutated"
			}
		}
		h.Add("Vary", "Accept-Encoding")
	}
	h := c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { mutate(w.Header()) }))
	check := func(t *testing.T, preflight bool) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Origin", "https://app.example.com")
		if preflight {
			r.Method = "OPTIONS"
			r.Header.Set("Access-Control-Request-Method", "PUT")
			r.Header.Set("Access-Control-Request-Private-Network", "true")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		got := rec.Header()
		if preflight {
			mutate(got) // a later stage editing the preflight's headers
		}
		_ = got
	}
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				check(t, i%2 == 0)
			}
		}()
	}
	wg.Wait()

	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Origin", "https://app.example.com")
	rec := httptest.NewRecorder()
	c.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(rec, r)
	want := map[string]string{
		"Vary": "Origin", "Access-Control-Allow-Origin": "https://app.example.com",
		"Access-Control-Allow-Credentials": "true", "Access-Control-Expose-Headers": "X-Total",
	}
	for k, v := range want {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("after mutating handlers, %s = %q, want %q", k, got, v)
		}
	}
	r.Method = "OPTIONS"
	r.Header.Set("Access-Control-Request-Method", "PUT")
	r.Header.Set("Access-Control-Request-Private-Network", "true")
	rec = httptest.NewRecorder()
	c.Handler(http.NotFoundHandler()).ServeHTTP(rec, r)
	want = map[string]string{
		"Vary":                        varyPre + ", Access-Control-Request-Private-Network",
		"Access-Control-Allow-Origin": "https://app.example.com", "Access-Control-Allow-Credentials": "true",
		"Access-Control-Max-Age": "3600", "Access-Control-Allow-Private-Network": "true", "Access-Control-Allow-Methods": "PUT",
	}
	for k, v := range want {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("after mutating stages, preflight %s = %q, want %q", k, got, v)
		}
	}
}

func TestACRHBounds(t *testing.T) {
	s := headerSet{names: map[string]struct{}{"content-type": {}, "x-a": {}}, maxLen: 12}
	for _, tc := range []struct {
		name  string
		lines []string
		want  bool
	}{
		{"too many lines", make([]string, maxACRHLines+1), false},
		{"many empty lines within the limit", make([]string, maxACRHLines), true},
		{"too many names", []string{strings.TrimSuffix(strings.Repeat("x-a,", maxACRHNames+1), ",")}, false},
		{"repeated names within the limit", []string{strings.TrimSuffix(strings.Repeat("x-a,", maxACRHNames), ",")}, true},
		{"one 4 KiB name", []string{strings.Repeat("a", 4096)}, false},
		{"long name under the byte limit", []string{strings.Repeat("a", 1000)}, false},
		{"only commas and spaces", []string{" , ,\t, "}, true},
		{"non-ASCII", []string{"x-a,cöntent"}, false},
		{"NUL", []string{"x-a\x00"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := s.acceptsRequestHeaders(tc.lines); got != tc.want {
				t.Errorf("accepts = %v, want %v", got, tc.want)
			}
		})
	}
	if n := testing.AllocsPerRun(100, func() {
		s.acceptsRequestHeaders([]string{"Content-Type, X-A"})
	}); n != 0 {
		t.Errorf("parsing allocates %v times", n)
	}
}

// TestVaryEditedInPlaceParallel has handlers edit the Vary elements this
// stage added, in place, while requests run in parallel, with and without
// a Vary from an earlier stage; that earlier stage hands every response
// the same read-only slice. Under -race this fails if
// the stage hands out, or appends into, memory another response can see;
// without -race, a later response sees an earlier one's edits.
func TestVaryEditedInPlaceParallel(t *testing.T) {
	t.Parallel()
	upstream := []string{"Accept-Language"}
	policies := map[string]*Policy{
		"list": Must(Options{AllowedOrigins: []string{"https://app.example.com"}, AllowedMethods: []string{"PUT"}, AllowCredentials: true, MaxAge: time.Minute}),
		"star": Must(Options{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"PUT"}}),
	}
	for name, c := range policies {
		for _, withUpstream := range []bool{false, true} {
			for _, preflight := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/upstream=%v/preflight=%v", name, withUpstream, preflight), func(t *testing.T) {
					t.Parallel()
					var want []string
					if withUpstream {
						want = append(want, "Accept-Language")
					}
					ours := len(want)
					switch {
					case preflight:
						want = append(want, varyPre)
					case name == "list":
						want = append(want, "Origin")
					}
					edit := func(h http.Header) {
						v := h["Vary"]
						if got := strings.Join(v, "|"); got != strings.Join(want, "|") {
							t.Errorf("Vary before the edit = %q, want %q", got, strings.Join(want, "|"))
						}
						for i := ours; i < len(v); i++ {
							v[i] = "edited"
						}
						h.Add("Vary", "Accept-Encoding")
					}
					inner := c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { edit(w.Header()) }))
					h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						if withUpstream {
							w.Header()["Vary"] = upstream
						}
						inner.ServeHTTP(w, r)
					})
					var wg sync.WaitGroup
					for range 8 {
						wg.Go(func() {
							for range 50 {
								r := httptest.NewRequest("GET", "/", nil)
								r.Header.Set("Origin", "https://app.example.com")
								if preflight {
									r.Method = "OPTIONS"
									r.Header.Set("Access-Control-Request-Method", "PUT")
								}
								rec := httptest.NewRecorder()
								h.ServeHTTP(rec, r)
								if preflight {
									edit(rec.Header()) // a later stage editing the answer
								}
							}
						})
					}
					wg.Wait()
				})
			}
		}
	}
	if upstream[0] != "Accept-Language" {
		t.Errorf("the earlier stage's slice was written to: %q", upstream)
	}
}

// TestOneAllocationPerActualRequest holds the stage to its design: every
// header value an allowed actual request gets, beyond the request's own
// Origin slice, comes from one array.
func TestOneAllocationPerActualRequest(t *testing.T) {
	c := Must(Options{AllowedOrigins: []string{"https://app.example.com"}, AllowCredentials: true, ExposedHeaders: []string{"X-Total"}})
	h := c.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Origin", "https://app.example.com")
	w := httptest.NewRecorder()
	serve := func() {
		clear(w.Header())
		h.ServeHTTP(w, r)
	}
	serve()
	if got := w.Header().Get("Access-Control-Expose-Headers"); got != "X-Total" {
		t.Fatalf("Expose-Headers = %q", got)
	}
	if n := testing.AllocsPerRun(100, serve); n != 1 {
		t.Errorf("an allowed actual request allocates %v times, want 1", n)
	}
}
