package session

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestCSRF(t *testing.T) {
	t.Parallel()
	m := newTestManager(t, Options{CSRF: CSRFOptions{Token: true, TrustedOrigins: []string{"https://partner.example"}}})
	var token string
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/form" {
			tok, err := CSRFToken(r)
			if err != nil {
				t.Errorf("CSRFToken: %v", err)
			}
			token = tok
			return
		}
		_, _ = w.Write([]byte("done"))
	}))
	c := &client{t: t, h: h, name: m.CookieName()}
	c.get("/form")
	if c.cookie == "" || token == "" {
		t.Fatal("CSRFToken did not start a session")
	}
	first := token
	c.get("/form")
	if token == first {
		t.Fatal("tokens are not masked per call")
	}
	otherUser := &client{t: t, h: h, name: m.CookieName()}
	otherUser.get("/form")
	otherToken := token
	token = first

	flipped := []byte(first)
	flipped[10] ^= 1

	type hdrs = map[string]string
	cases := []struct {
		name   string
		method string
		h      hdrs
		form   string
		want   int
		code   string
	}{
		{"safe method cross-site", "GET", hdrs{"Sec-Fetch-Site": "cross-site"}, "", 200, ""},
		{"cross-site post", "POST", hdrs{"Sec-Fetch-Site": "cross-site"}, "", 403, "csrf_cross_origin"},
		{"same-site post", "POST", hdrs{"Sec-Fetch-Site": "same-site"}, "", 403, "csrf_cross_origin"},
		{"same-origin post", "POST", hdrs{"Sec-Fetch-Site": "same-origin"}, "", 200, ""},
		{"user-initiated navigation", "POST", hdrs{"Sec-Fetch-Site": "none"}, "", 200, ""},
		{"origin mismatch without fetch metadata", "DELETE", hdrs{"Origin": "https://evil.example"}, "", 403, "csrf_cross_origin"},
		{"origin matches host", "PUT", hdrs{"Origin": "http://example.com"}, "", 200, ""},
		{"trusted origin", "POST", hdrs{"Sec-Fetch-Site": "cross-site", "Origin": "https://partner.example"}, "", 200, ""},
		{"header-less without token", "POST", nil, "", 403, "csrf_token_invalid"},
		{"header-less with header token", "POST", hdrs{"X-CSRF-Token": first}, "", 200, ""},
		{"header-less with form token", "POST", hdrs{"Content-Type": "application/x-www-form-urlencoded"}, "csrf_token=" + url.QueryEscape(first), 200, ""},
		{"header-less with tampered token", "POST", hdrs{"X-CSRF-Token": string(flipped)}, "", 403, "csrf_token_invalid"},
		{"header-less with another session's token", "POST", hdrs{"X-CSRF-Token": otherToken}, "", 403, "csrf_token_invalid"},
		{"header-less with garbage token", "PATCH", hdrs{"X-CSRF-Token": strings.Repeat("é", 100)}, "", 403, "csrf_token_invalid"},
		{"header-less with bad form", "POST", hdrs{"Content-Type": "application/x-www-form-urlencoded"}, "csrf_token=%zz", 400, "form_unparsable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "http://example.com/act", strings.NewReader(tc.form))
			for k, v := range tc.h {
				req.Header.Set(k, v)
			}
			req.Header.Set("Cookie", m.CookieName()+"="+c.cookie)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.want, rec.Body.String())
			}
			if tc.code != "" {
				if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
					t.Errorf("Content-Type %q", ct)
				}
				if !strings.Contains(rec.Body.String(), `"code":"`+tc.code+`"`) {
					t.Errorf("body %s lacks code %s", rec.Body.String(), tc.code)
				}
			}
		})
	}

	t.Run("token dies with renewal", func(t *testing.T) {
		renew := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _ = Renew(r) }))
		rc := &client{t: t, h: renew, name: m.CookieName(), cookie: c.cookie}
		rc.do("POST", "/login", "Sec-Fetch-Site", "same-origin")
		req := httptest.NewRequest("POST", "/act", nil)
		req.Header.Set("X-CSRF-Token", first)
		req.Header.Set("Cookie", m.CookieName()+"="+rc.cookie)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusForbidden {
			t.Fatalf("a pre-renewal token still works: %d", rec.Code)
		}
	})
}

func TestCSRFDefaultsAndDisable(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		o    CSRFOptions
		hdr  map[string]string
		want int
	}{
		{"default refuses cross-site", CSRFOptions{}, map[string]string{"Sec-Fetch-Site": "cross-site", "Cookie": "x"}, 403},
		{"default lets a cookie-less cross-site request through", CSRFOptions{}, map[string]string{"Sec-Fetch-Site": "cross-site"}, 200},
		{"default lets header-less through", CSRFOptions{}, nil, 200},
		{"disabled", CSRFOptions{Disable: true}, map[string]string{"Sec-Fetch-Site": "cross-site"}, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := newTestManager(t, Options{CSRF: tc.o})
			h := m.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			req := httptest.NewRequest("POST", "/", nil)
			for k, v := range tc.hdr {
				if k == "Cookie" {
					v = m.CookieName() + "=" + v
				}
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d", rec.Code, tc.want)
			}
		})
	}
}
