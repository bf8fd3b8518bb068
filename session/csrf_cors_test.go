package session

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/covetgo/covet/cors"
)

// TestCSRFCookielessCallFromCORSOrigin mounts the session stage behind a
// CORS stage that allows https://spa.example and checks what a browser on
// that origin gets: a bearer-token call without a session cookie passes,
// a call that carries the session cookie is refused unless the origin is
// trusted, and a cookie-less call may not start a session.
func TestCSRFCookielessCallFromCORSOrigin(t *testing.T) {
	t.Parallel()
	c, err := cors.New(cors.Options{AllowedOrigins: []string{"https://spa.example"}, AllowCredentials: true})
	if err != nil {
		t.Fatal(err)
	}
	const origin = "https://spa.example"
	for _, tc := range []struct {
		name    string
		trusted []string
		cookie  bool   // send the session cookie
		path    string // "/login" stores a value in the session
		want    int
		code    string
	}{
		{"bearer call without cookie", nil, false, "/api", 200, ""},
		{"non-browser bearer call without cookie, token mode", nil, false, "/api", 200, ""},
		{"cookie call", nil, true, "/api", 403, "csrf_cross_origin"},
		{"cookie call from a trusted origin", []string{origin}, true, "/api", 200, ""},
		{"cookie-less call that starts a session", nil, false, "/login", 403, "csrf_cross_origin"},
		{"cookie-less session start from a trusted origin", []string{origin}, false, "/login", 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newTestManager(t, Options{CSRF: CSRFOptions{TrustedOrigins: tc.trusted, Token: strings.HasSuffix(tc.name, "token mode")}})
			h := c.Handler(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/login" {
					From(r).Set("user", "42")
				}
				_, _ = w.Write([]byte("ok"))
			})))
			var cookie string
			if tc.cookie {
				cl := &client{t: t, h: m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					From(r).Set("user", "42")
				})), name: m.CookieName()}
				cl.do(http.MethodPost, "/login", "Sec-Fetch-Site", "same-origin")
				if cl.cookie == "" {
					t.Fatal("no session cookie to send")
				}
				cookie = cl.cookie
			}
			req := httptest.NewRequest(http.MethodPost, "https://api.example"+tc.path, strings.NewReader(`{}`))
			browser := !strings.HasPrefix(tc.name, "non-browser")
			if browser {
				req.Header.Set("Origin", origin)
				req.Header.Set("Sec-Fetch-Site", "cross-site")
			}
			req.Header.Set("Content-Type", "application/json")
			if tc.cookie {
				req.Header.Set("Cookie", m.CookieName()+"="+cookie)
			} else {
				req.Header.Set("Authorization", "Bearer some-token")
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.want, rec.Body.String())
			}
			if got := rec.Header().Get("Access-Control-Allow-Origin"); browser && tc.want == http.StatusOK && got != origin {
				t.Errorf("Access-Control-Allow-Origin %q, want %q", got, origin)
			}
			if tc.code != "" {
				if !strings.Contains(rec.Body.String(), `"code":"`+tc.code+`"`) {
					t.Errorf("body %s lacks code %s", rec.Body.String(), tc.code)
				}
				if sc := setCookieHeader(rec, m.CookieName()); sc != "" {
					t.Errorf("refused request still set the session cookie: %s", sc)
				}
			}
		})
	}
}
