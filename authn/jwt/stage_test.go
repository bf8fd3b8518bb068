package jwt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/covetgo/covet/authn"
	"github.com/covetgo/covet/errs"
	gojwt "github.com/golang-jwt/jwt/v5"
)

// whoami echoes the principal's subject, or "anonymous".
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if p, ok := authn.PrincipalFrom(r.Context()); ok {
		_, _ = w.Write([]byte(string(p.Method) + ":" + p.Subject))
		return
	}
	_, _ = w.Write([]byte("anonymous"))
})

type problem struct {
	Status int    `json:"status"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

// TestHandler runs its table with the verified-token cache off and on;
// with it on, every request is sent twice, so the second one of a valid
// token is answered from the cache.
func TestHandler(t *testing.T) {
	t.Parallel()
	t.Run("uncached", func(t *testing.T) { testHandler(t, 0) })
	t.Run("cached", func(t *testing.T) { testHandler(t, 64) })
}

func testHandler(t *testing.T, cacheSize int) {
	k := keys(t)
	v := newTestVerifier(t, func(o *VerifierOptions) { o.CacheSize = cacheSize })
	valid := sign(t, gojwt.SigningMethodEdDSA, k.ed, hdr("kid", "ed1"), goodClaims())
	expired := sign(t, gojwt.SigningMethodEdDSA, k.ed, hdr("kid", "ed1"), withClaims(func(c map[string]any) { c["exp"] = testNow.Unix() - 1 }))
	session := authn.Session(func(r *http.Request) (*authn.Principal, error) {
		c, err := r.Cookie("sid")
		if err != nil {
			return nil, nil
		}
		switch c.Value {
		case "good":
			return &authn.Principal{Subject: "session-user"}, nil
		case "down":
			return nil, errors.New("store unreachable")
		}
		return nil, authn.ErrInvalidCredentials
	})
	required, err := authn.New(authn.Options{Authenticators: []authn.Authenticator{authn.Bearer(v), session}, Realm: "api"})
	if err != nil {
		t.Fatal(err)
	}
	optional, err := authn.New(authn.Options{Authenticators: []authn.Authenticator{authn.Bearer(v), session}, Realm: "api", Optional: true})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		stage     *authn.Stage
		headers   []string // "Key: value" pairs, repeated keys allowed
		status    int
		body      string
		code      string
		challenge string
	}{
		{"valid bearer", required, []string{"Authorization: Bearer " + valid}, 200, "jwt:user-1", "", ""},
		{"scheme in other case", required, []string{"Authorization: bEaReR " + valid}, 200, "jwt:user-1", "", ""},
		{"no credentials", required, nil, 401, "", "unauthenticated", `Bearer realm="api"`},
		{"expired token", required, []string{"Authorization: Bearer " + expired}, 401, "", "invalid_token", `Bearer realm="api", error="invalid_token", error_description="The access token is invalid or expired."`},
		{"garbage token", required, []string{"Authorization: Bearer abc"}, 401, "", "invalid_token", `error="invalid_token"`},
		{"token with forbidden characters", required, []string{"Authorization: Bearer a\"b"}, 400, "", "invalid_request", `error="invalid_request"`},
		{"valid token with a forbidden character after it", required, []string{"Authorization: Bearer " + valid + "!"}, 400, "", "invalid_request", `error="invalid_request"`},
		{"valid token with padding after it", required, []string{"Authorization: Bearer " + valid + "=="}, 401, "", "invalid_token", `error="invalid_token"`},
		{"oversized token", required, []string{"Authorization: Bearer " + strings.Repeat("a", MaxTokenSize+1)}, 401, "", "invalid_token", `error="invalid_token"`},
		{"empty bearer", required, []string{"Authorization: Bearer "}, 400, "", "invalid_request", `error="invalid_request"`},
		{"bare scheme", required, []string{"Authorization: Bearer"}, 400, "", "invalid_request", `error="invalid_request"`},
		{"two Authorization headers", required, []string{"Authorization: Bearer " + valid, "Authorization: Bearer " + valid}, 400, "", "invalid_request", ""},
		{"basic scheme is not ours", required, []string{"Authorization: Basic dXNlcjpwYXNz"}, 401, "", "unauthenticated", `Bearer realm="api"`},
		{"session cookie", required, []string{"Cookie: sid=good"}, 200, "session:session-user", "", ""},
		{"bad session", required, []string{"Cookie: sid=forged"}, 401, "", "invalid_credentials", ""},
		{"session store down", required, []string{"Cookie: sid=down"}, 503, "", "authentication_unavailable", ""},
		{"bad bearer does not fall back to the session", required, []string{"Authorization: Bearer " + expired, "Cookie: sid=good"}, 401, "", "invalid_token", ""},
		{"optional: anonymous", optional, nil, 200, "anonymous", "", ""},
		{"optional: valid", optional, []string{"Authorization: Bearer " + valid}, 200, "jwt:user-1", "", ""},
		{"optional: invalid still refused", optional, []string{"Authorization: Bearer " + expired}, 401, "", "invalid_token", ""},
	}
	sends := 1
	if cacheSize > 0 {
		sends = 2
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var w *httptest.ResponseRecorder
			for range sends {
				r := httptest.NewRequest("GET", "/notes", nil)
				for _, h := range tc.headers {
					k, v, _ := strings.Cut(h, ": ")
					r.Header.Add(k, v)
				}
				w = httptest.NewRecorder()
				tc.stage.Handler(whoami).ServeHTTP(w, r)
			}
			if w.Code != tc.status {
				t.Fatalf("status = %d, want %d; body %s", w.Code, tc.status, w.Body)
			}
			if tc.body != "" && w.Body.String() != tc.body {
				t.Fatalf("body = %q, want %q", w.Body, tc.body)
			}
			if tc.code != "" {
				var p problem
				if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
					t.Fatalf("body is not problem+json: %v", err)
				}
				if p.Code != tc.code {
					t.Fatalf("code = %q, want %q", p.Code, tc.code)
				}
				if ct := w.Header().Get("Content-Type"); ct != errs.ContentType {
					t.Fatalf("Content-Type = %q", ct)
				}
				if strings.Contains(w.Body.String(), "expired") {
					t.Fatalf("the refusal reason leaked to the client: %s", w.Body)
				}
			}
			if tc.challenge != "" && !strings.Contains(w.Header().Get("WWW-Authenticate"), tc.challenge) {
				t.Fatalf("WWW-Authenticate = %q, want it to contain %q", w.Header().Get("WWW-Authenticate"), tc.challenge)
			}
		})
	}
	if cacheSize > 0 {
		if _, _, ok := v.cache.Get(valid, fixedNow()); !ok {
			t.Fatal("the valid token was never cached, so no request was answered from the cache")
		}
	}
}

// captureAudit returns a renderer whose audit log goes into a buffer.
func captureAudit(t *testing.T) (*bytes.Buffer, *errs.Renderer) {
	t.Helper()
	var buf bytes.Buffer
	rd, err := errs.NewRenderer(errs.Options{AuditLogger: slog.New(slog.NewJSONHandler(&buf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return &buf, rd
}

func TestAudit(t *testing.T) {
	t.Parallel()
	buf, rd := captureAudit(t)
	k := keys(t)
	v := newTestVerifier(t, nil)
	a, err := authn.New(authn.Options{Authenticators: []authn.Authenticator{authn.Bearer(v)}})
	if err != nil {
		t.Fatal(err)
	}
	valid := sign(t, gojwt.SigningMethodEdDSA, k.ed, hdr("kid", "ed1"), goodClaims())
	expired := sign(t, gojwt.SigningMethodEdDSA, k.ed, hdr("kid", "ed1"), withClaims(func(c map[string]any) { c["exp"] = testNow.Unix() - 1 }))
	for _, tok := range []string{valid, expired} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "203.0.113.9:4242"
		r.Header.Set("Authorization", "Bearer "+tok)
		rd.Handler(a.Handler(whoami)).ServeHTTP(httptest.NewRecorder(), r)
	}
	var events []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		events = append(events, m)
	}
	find := func(msg string) map[string]any {
		for _, e := range events {
			if e["msg"] == msg {
				return e
			}
		}
		t.Fatalf("no %q event in %v", msg, events)
		return nil
	}
	ok := find("authn.success")
	if ok["subject"] != "user-1" || ok["method"] != "jwt" || ok["client_ip"] != "203.0.113.9" {
		t.Fatalf("success event = %v", ok)
	}
	bad := find("authn.failure")
	if bad["reason"] != "expired" || bad["client_ip"] != "203.0.113.9" {
		t.Fatalf("failure event = %v", bad)
	}
	if strings.Contains(buf.String(), valid) || strings.Contains(buf.String(), expired) {
		t.Fatal("a token reached the audit log")
	}
	// One record per request: errs.Write does not add its own line for the
	// refusal the stage recorded.
	if len(events) != 2 {
		t.Fatalf("%d audit records for two requests: %v", len(events), events)
	}
}

func TestOnOutcome(t *testing.T) {
	t.Parallel()
	k := keys(t)
	v := newTestVerifier(t, nil)
	var got []string
	stage, err := authn.New(authn.Options{
		Authenticators: []authn.Authenticator{authn.Bearer(v)},
		OnOutcome: func(_ context.Context, m authn.Method, reason string) {
			got = append(got, string(m)+"/"+reason)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	valid := sign(t, gojwt.SigningMethodEdDSA, k.ed, hdr("kid", "ed1"), goodClaims())
	for _, h := range []string{"Bearer " + valid, "Bearer " + valid + "x", "", "Bearer a\"b"} {
		r := httptest.NewRequest("GET", "/", nil)
		if h != "" {
			r.Header.Set("Authorization", h)
		}
		stage.Handler(whoami).ServeHTTP(httptest.NewRecorder(), r)
	}
	want := "jwt/ jwt/malformed /no_credentials jwt/malformed_token"
	if strings.Join(got, " ") != want {
		t.Fatalf("outcomes %q, want %q", strings.Join(got, " "), want)
	}
}
