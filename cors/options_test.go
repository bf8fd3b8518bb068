package cors

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/covetgo/covet/errs"
)

// serve runs one request through c with a handler that records whether it
// ran and answers 200 (or code, when the handler is reached by a preflight).
func serve(t *testing.T, c *Policy, method string, h hdr) (*httptest.ResponseRecorder, bool) {
	t.Helper()
	called := false
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		called = true
		w.WriteHeader(http.StatusOK)
	})
	r := httptest.NewRequest(method, "https://api.test/x", nil)
	for i := 0; i+1 < len(h); i += 2 {
		r.Header.Add(h[i], h[i+1])
	}
	rec := httptest.NewRecorder()
	c.Handler(next).ServeHTTP(rec, r)
	return rec, called
}

func preflightHdr(origin, method string, more ...string) hdr {
	return append(hdr{"Origin", origin, "Access-Control-Request-Method", method}, more...)
}

func TestAllowOriginFunc(t *testing.T) {
	t.Parallel()
	var seen atomic.Value
	c := Must(Options{
		AllowedOrigins: []string{"https://app.example.com"},
		AllowOriginFunc: func(r *http.Request, origin string) bool {
			seen.Store(origin)
			return strings.HasPrefix(origin, "https://tenant-") && r.URL.Path == "/x"
		},
		AllowCredentials: true,
		AllowedMethods:   []string{"PUT"},
	})
	for _, tc := range []struct {
		name, origin string
		allowed      bool
		funcSees     string // "" when the function must not be called
	}{
		{"static list first", "https://app.example.com", true, ""},
		{"function allows", "https://tenant-a.example.net", true, "https://tenant-a.example.net"},
		{"function refuses", "https://other.example.net", false, "https://other.example.net"},
		{"uppercase never reaches it", "https://TENANT-A.example.net", false, ""},
		{"null never reaches it", "null", false, ""},
		{"path never reaches it", "https://tenant-a.example.net/x", false, ""},
		{"default port never reaches it", "https://tenant-a.example.net:443", false, ""},
		{"http with credentials never reaches it", "http://tenant-a.example.net", false, ""},
		{"userinfo never reaches it", "https://tenant-a@evil.example", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, pre := range []bool{false, true} {
				seen.Store("")
				var rec *httptest.ResponseRecorder
				if pre {
					rec, _ = serve(t, c, "OPTIONS", preflightHdr(tc.origin, "PUT"))
				} else {
					rec, _ = serve(t, c, "GET", hdr{"Origin", tc.origin})
				}
				got := rec.Header().Get("Access-Control-Allow-Origin")
				if (got != "") != tc.allowed || (tc.allowed && got != tc.origin) {
					t.Errorf("preflight=%v: Allow-Origin %q, want allowed=%v", pre, got, tc.allowed)
				}
				if tc.allowed && rec.Header().Get("Access-Control-Allow-Credentials") != "true" {
					t.Errorf("preflight=%v: no Allow-Credentials", pre)
				}
				if s := seen.Load().(string); s != tc.funcSees {
					t.Errorf("preflight=%v: function saw %q, want %q", pre, s, tc.funcSees)
				}
			}
		})
	}
}

func TestAllowOriginFuncHTTPWithoutCredentials(t *testing.T) {
	t.Parallel()
	c := Must(Options{AllowOriginFunc: func(_ *http.Request, o string) bool { return o == "http://localhost:5173" }})
	rec, _ := serve(t, c, "GET", hdr{"Origin", "http://localhost:5173"})
	if got := rec.Header().Get("Access-Control-Allow-Origin"); got != "http://localhost:5173" {
		t.Fatalf("Allow-Origin %q", got)
	}
}

func TestOptionRefusals(t *testing.T) {
	t.Parallel()
	reflectAll := func(*http.Request, string) bool { return true }
	one := []string{"https://app.example.com"}
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"origin function that allows everything, with credentials", Options{AllowedOrigins: one, AllowOriginFunc: reflectAll, AllowCredentials: true}, "origin-probe.invalid"},
		{"origin function alone that allows everything, with credentials", Options{AllowOriginFunc: reflectAll, AllowCredentials: true, DangerouslyAllowHTTPOriginsWithCredentials: true}, "every origin"},
		{"origin function with star", Options{AllowedOrigins: []string{"*"}, AllowOriginFunc: func(*http.Request, string) bool { return false }}, `"*"`},
		{"private network with star", Options{AllowedOrigins: []string{"*"}, AllowPrivateNetwork: true}, "AllowPrivateNetwork"},
		{"private network without origins", Options{AllowPrivateNetwork: true}, "AllowPrivateNetwork"},
		{"status 302", Options{AllowedOrigins: one, PreflightStatus: 302}, "302"},
		{"status 404", Options{AllowedOrigins: one, PreflightStatus: 404}, "404"},
		{"status 100", Options{AllowedOrigins: one, PreflightStatus: 100}, "100"},
		{"status with passthrough", Options{AllowedOrigins: one, PreflightStatus: 200, PreflightPassthrough: true}, "PreflightPassthrough"},
		{"max age zero together with a max age", Options{AllowedOrigins: one, DisablePreflightCache: true, MaxAge: time.Minute}, "DisablePreflightCache"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(tc.o)
			if err == nil {
				t.Fatalf("New accepted it: %+v", c)
			}
			if !errors.Is(err, errs.KindConfiguration) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q (kind %v), want a configuration error naming %q", err, errs.KindOf(err), tc.want)
			}
		})
	}
	// Without credentials, reflecting any origin is what "*" does already.
	if _, err := New(Options{AllowOriginFunc: reflectAll}); err != nil {
		t.Errorf("origin function without credentials: %v", err)
	}
}

func TestAllowPrivateNetwork(t *testing.T) {
	t.Parallel()
	c := Must(Options{AllowedOrigins: []string{"https://app.example.com"}, AllowPrivateNetwork: true, AllowCredentials: true})
	const vary = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers, Access-Control-Request-Private-Network"
	for _, tc := range []struct {
		name   string
		h      hdr
		acapn  string
		vary   string
		status int
	}{
		{"asked and allowed", preflightHdr("https://app.example.com", "GET", "Access-Control-Request-Private-Network", "true"), "true", vary, 204},
		{"not asked", preflightHdr("https://app.example.com", "GET"), "", vary, 204},
		{"asked from another origin", preflightHdr("https://evil.example", "GET", "Access-Control-Request-Private-Network", "true"), "", vary, 204},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, called := serve(t, c, "OPTIONS", tc.h)
			if called || rec.Code != tc.status {
				t.Fatalf("status %d, next called %v", rec.Code, called)
			}
			if got := rec.Header().Get("Access-Control-Allow-Private-Network"); got != tc.acapn {
				t.Errorf("Allow-Private-Network %q, want %q", got, tc.acapn)
			}
			if got := strings.Join(rec.Header()["Vary"], "|"); got != tc.vary {
				t.Errorf("Vary %q, want %q", got, tc.vary)
			}
		})
	}
	// Off by default.
	rec, _ := serve(t, Must(Options{AllowedOrigins: []string{"https://app.example.com"}}), "OPTIONS",
		preflightHdr("https://app.example.com", "GET", "Access-Control-Request-Private-Network", "true"))
	if got := rec.Header().Get("Access-Control-Allow-Private-Network"); got != "" {
		t.Errorf("default policy sends Allow-Private-Network %q", got)
	}
}

func TestPreflightPassthrough(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name          string
		refuse403     bool
		origin        string
		status        int
		called        bool
		acao, methods string
	}{
		{"allowed goes to next with headers", false, "https://app.example.com", 200, true, "https://app.example.com", "PUT"},
		{"refused goes to next without headers", false, "https://evil.example", 200, true, "", ""},
		{"refused with 403 stops here", true, "https://evil.example", 403, false, "", ""},
		{"allowed with 403 option still goes to next", true, "https://app.example.com", 200, true, "https://app.example.com", "PUT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Must(Options{AllowedOrigins: []string{"https://app.example.com"}, AllowedMethods: []string{"PUT"},
				PreflightPassthrough: true, RefusePreflightWith403: tc.refuse403})
			rec, called := serve(t, c, "OPTIONS", preflightHdr(tc.origin, "PUT"))
			if rec.Code != tc.status || called != tc.called {
				t.Errorf("status %d, next called %v; want %d, %v", rec.Code, called, tc.status, tc.called)
			}
			if got := rec.Header().Get("Access-Control-Allow-Origin"); got != tc.acao {
				t.Errorf("Allow-Origin %q, want %q", got, tc.acao)
			}
			if got := rec.Header().Get("Access-Control-Allow-Methods"); got != tc.methods {
				t.Errorf("Allow-Methods %q, want %q", got, tc.methods)
			}
		})
	}
	// The empty allowlist passes preflights through as well.
	rec, called := serve(t, Must(Options{PreflightPassthrough: true}), "OPTIONS", preflightHdr("https://app.example.com", "PUT"))
	if !called || rec.Code != 200 || rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("same-origin policy: status %d, next called %v, Allow-Origin %q", rec.Code, called, rec.Header().Get("Access-Control-Allow-Origin"))
	}
}

func TestPreflightStatus(t *testing.T) {
	t.Parallel()
	c := Must(Options{AllowedOrigins: []string{"https://app.example.com"}, AllowedMethods: []string{"PUT"}, PreflightStatus: http.StatusOK})
	for origin, acao := range map[string]string{"https://app.example.com": "https://app.example.com", "https://evil.example": ""} {
		rec, called := serve(t, c, "OPTIONS", preflightHdr(origin, "PUT"))
		if called || rec.Code != http.StatusOK || rec.Header().Get("Access-Control-Allow-Origin") != acao {
			t.Errorf("%s: status %d, next called %v, Allow-Origin %q", origin, rec.Code, called, rec.Header().Get("Access-Control-Allow-Origin"))
		}
	}
}

func TestDisablePreflightCache(t *testing.T) {
	t.Parallel()
	c := Must(Options{AllowedOrigins: []string{"https://app.example.com"}, DisablePreflightCache: true})
	rec, _ := serve(t, c, "OPTIONS", preflightHdr("https://app.example.com", "GET"))
	if got, ok := rec.Header()["Access-Control-Max-Age"]; !ok || len(got) != 1 || got[0] != "0" {
		t.Errorf("Access-Control-Max-Age %q, want \"0\"", got)
	}
	rec, _ = serve(t, c, "OPTIONS", preflightHdr("https://evil.example", "GET"))
	if got, ok := rec.Header()["Access-Control-Max-Age"]; ok {
		t.Errorf("refused preflight carries Access-Control-Max-Age %q", got)
	}
	rec, _ = serve(t, Must(Options{AllowedOrigins: []string{"https://app.example.com"}}), "OPTIONS", preflightHdr("https://app.example.com", "GET"))
	if got, ok := rec.Header()["Access-Control-Max-Age"]; ok {
		t.Errorf("default policy sends Access-Control-Max-Age %q", got)
	}
}

// TestActualMethodNotAllowed: rs/cors adds no CORS headers to an actual
// request whose method a preflight would have refused.
func TestActualMethodNotAllowed(t *testing.T) {
	t.Parallel()
	c := Must(Options{AllowedOrigins: []string{"https://app.example.com"}, AllowedMethods: []string{"PUT"}})
	rec, called := serve(t, c, "DELETE", hdr{"Origin", "https://app.example.com"})
	if !called || rec.Header().Get("Access-Control-Allow-Origin") != "" || rec.Header().Get("Vary") != "Origin" {
		t.Errorf("next called %v, Allow-Origin %q, Vary %q", called, rec.Header().Get("Access-Control-Allow-Origin"), rec.Header().Get("Vary"))
	}
}
