package oidc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/covetgo/covet/authn"
	authnjwt "github.com/covetgo/covet/authn/jwt"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"
)

// testProvider is a minimal OpenID provider on httptest: discovery, token,
// JWKS and introspection endpoints. Authorization is simulated by
// authorize, which returns the code a user's consent would produce.
type testProvider struct {
	srv      *httptest.Server
	key      *ecdsa.PrivateKey
	mu       sync.Mutex
	codes    map[string]pendingCode
	active   map[string]IntrospectionResponse
	nonceFor func(string) string // rewrites the nonce put in ID tokens
	signWith *ecdsa.PrivateKey   // overrides the signing key
	status   int                 // introspection status override
	hits     atomic.Int32        // introspection calls
	moved    map[string]string   // path -> 307 Location
	gate     chan struct{}       // when set, introspection waits for it
	claims   map[string]any      // added to (or replacing) ID token claims
	rsaKey   *rsa.PrivateKey     // when set, ID tokens are RS256 with it
	jwksPad  int                 // bytes of padding added to the key set
	jwksURI  string              // overrides the discovered jwks_uri
}

type pendingCode struct{ challenge, nonce, sub string }

const (
	testClientID     = "covet-client"
	testClientSecret = "covet-secret"
)

func newTestProvider(t *testing.T) *testProvider {
	p := &testProvider{codes: map[string]pendingCode{}, active: map[string]IntrospectionResponse{}, moved: map[string]string{}}
	p.key, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		u := p.srv.URL
		p.mu.Lock()
		jwksURI := p.jwksURI
		p.mu.Unlock()
		if jwksURI == "" {
			jwksURI = u + "/jwks"
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": u, "authorization_endpoint": u + "/authorize", "token_endpoint": u + "/token",
			"jwks_uri": jwksURI, "introspection_endpoint": u + "/introspect",
			"id_token_signing_alg_values_supported": []string{"ES256", "RS256"},
			"response_types_supported":              []string{"code"},
			"code_challenge_methods_supported":      []string{"S256"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		j, _ := authnjwt.PublicJWK(authnjwt.Key{ID: "p1", Algorithm: "ES256", Key: &p.key.PublicKey})
		keys := []authnjwt.JWK{j}
		p.mu.Lock()
		rsaKey, pad := p.rsaKey, p.jwksPad
		p.mu.Unlock()
		if rsaKey != nil {
			r, _ := authnjwt.PublicJWK(authnjwt.Key{ID: "r1", Algorithm: "RS256", Key: &rsaKey.PublicKey})
			keys = append(keys, r)
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": keys, "padding": strings.Repeat("x", pad)})
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if !ok {
			id, secret = r.PostFormValue("client_id"), r.PostFormValue("client_secret")
		}
		if id != testClientID || secret != testClientSecret {
			w.WriteHeader(401)
			_, _ = w.Write([]byte(`{"error":"invalid_client"}`))
			return
		}
		p.mu.Lock()
		pc, found := p.codes[r.PostFormValue("code")]
		delete(p.codes, r.PostFormValue("code")) // codes are single-use
		nonceFor, signWith, extra, rsaKey := p.nonceFor, p.signWith, p.claims, p.rsaKey
		p.mu.Unlock()
		if !found || oauth2.S256ChallengeFromVerifier(r.PostFormValue("code_verifier")) != pc.challenge {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			_, _ = w.Write([]byte(`{"error":"invalid_grant"}`))
			return
		}
		nonce := pc.nonce
		if nonceFor != nil {
			nonce = nonceFor(nonce)
		}
		key := p.key
		if signWith != nil {
			key = signWith
		}
		now := time.Now()
		claims := jwt.MapClaims{
			"iss": p.srv.URL, "sub": pc.sub, "aud": testClientID, "nonce": nonce,
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "roles": []string{"reader"},
		}
		for k, v := range extra {
			claims[k] = v
		}
		idt := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
		idt.Header["kid"] = "p1"
		signed, _ := idt.SignedString(key)
		if rsaKey != nil {
			idt = jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
			idt.Header["kid"] = "r1"
			signed, _ = idt.SignedString(rsaKey)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"access_token": "at-" + pc.sub, "token_type": "Bearer", "expires_in": 3600,
			"id_token": signed, "scope": "openid profile",
		})
	})
	mux.HandleFunc("POST /introspect", func(w http.ResponseWriter, r *http.Request) {
		p.hits.Add(1)
		id, secret, ok := r.BasicAuth()
		p.mu.Lock()
		gate := p.gate
		p.mu.Unlock()
		if gate != nil {
			<-gate
		}
		p.mu.Lock()
		status := p.status
		res, found := p.active[r.PostFormValue("token")]
		p.mu.Unlock()
		if !ok || id != testClientID || secret != testClientSecret {
			w.WriteHeader(401)
			return
		}
		if status != 0 {
			w.WriteHeader(status)
			return
		}
		if !found {
			res = IntrospectionResponse{Active: false}
		}
		_ = json.NewEncoder(w).Encode(res)
	})
	p.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		loc, moved := p.moved[r.URL.Path]
		p.mu.Unlock()
		if moved {
			http.Redirect(w, r, loc, http.StatusTemporaryRedirect)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// authorize plays the user consenting at the provider: it returns the
// code the provider would redirect back with.
func (p *testProvider) authorize(t *testing.T, authURL, sub string) (code, state string) {
	t.Helper()
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
		t.Fatalf("authorization request without PKCE S256: %s", authURL)
	}
	if q.Get("nonce") == "" || q.Get("state") == "" || q.Get("client_id") != testClientID || !strings.Contains(q.Get("scope"), "openid") {
		t.Fatalf("authorization request incomplete: %s", authURL)
	}
	code = randomToken()
	p.mu.Lock()
	p.codes[code] = pendingCode{challenge: q.Get("code_challenge"), nonce: q.Get("nonce"), sub: sub}
	p.mu.Unlock()
	return code, q.Get("state")
}

func newTestOIDC(t *testing.T, p *testProvider) *Client {
	t.Helper()
	states, err := NewCookieStateStore([]byte("0123456789abcdef0123456789abcdef"), false)
	if err != nil {
		t.Fatal(err)
	}
	o, err := New(context.Background(), Options{
		Issuer: p.srv.URL, ClientID: testClientID, ClientSecret: testClientSecret,
		RedirectURL: "https://app.test/callback", Scopes: []string{"profile"}, States: states, Client: p.srv.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// startLogin runs Login and returns the provider URL and the state cookie.
func startLogin(t *testing.T, o *Client, returnTo string) (string, *http.Cookie) {
	t.Helper()
	w := httptest.NewRecorder()
	o.Login(w, httptest.NewRequest("GET", "https://app.test/login", nil), returnTo)
	if w.Code != http.StatusFound {
		t.Fatalf("Login: %d", w.Code)
	}
	cookies := w.Result().Cookies()
	if len(cookies) != 1 || !cookies[0].HttpOnly || !cookies[0].Secure || cookies[0].Name != "__Host-covet_login" {
		t.Fatalf("state cookie %+v", cookies)
	}
	return w.Header().Get("Location"), cookies[0]
}

func callback(o *Client, query string, c *http.Cookie) (*authn.Principal, string, error) {
	r := httptest.NewRequest("GET", "https://app.test/callback?"+query, nil)
	if c != nil {
		r.AddCookie(c)
	}
	p, _, ret, err := o.Callback(httptest.NewRecorder(), r)
	return p, ret, err
}

func TestOIDCLogin(t *testing.T) {
	t.Parallel()
	p := newTestProvider(t)
	o := newTestOIDC(t, p)
	authURL, cookie := startLogin(t, o, "/dashboard")
	code, state := p.authorize(t, authURL, "alice")
	principal, ret, err := callback(o, "code="+code+"&state="+state, cookie)
	if err != nil {
		t.Fatalf("Callback: %v (%s)", err, authn.Reason(err))
	}
	if principal.Subject != "alice" || principal.Method != authn.MethodOIDC || !principal.HasRole("reader") || !principal.HasScope("profile") || ret != "/dashboard" {
		t.Fatalf("principal %+v, return %q", principal, ret)
	}
	// The state is single-use here (and the code at the provider).
	if _, _, err := callback(o, "code="+code+"&state="+state, cookie); authn.Reason(err) != "no_state" {
		t.Fatalf("code replay: %v (%s)", err, authn.Reason(err))
	}
}

func TestOIDCCallbackRefusals(t *testing.T) {
	t.Parallel()
	p := newTestProvider(t)
	o := newTestOIDC(t, p)
	evil, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cases := []struct {
		name   string
		setup  func()
		query  func(code, state string) string
		cookie func(c *http.Cookie) *http.Cookie
		reason string
	}{
		{"state mismatch (CSRF)", nil, func(c, s string) string { return "code=" + c + "&state=forged" }, nil, "state_mismatch"},
		{"missing state", nil, func(c, s string) string { return "code=" + c }, nil, "state_mismatch"},
		{"no login cookie (another browser)", nil, nil, func(*http.Cookie) *http.Cookie { return nil }, "no_state"},
		{"tampered login cookie", nil, nil, func(c *http.Cookie) *http.Cookie {
			d := *c
			d.Value = "x" + d.Value[1:]
			return &d
		}, "no_state"},
		{"provider error", nil, func(c, s string) string { return "error=access_denied&state=" + s }, nil, "provider_error"},
		{"no code", nil, func(c, s string) string { return "state=" + s }, nil, "no_code"},
		{"unknown code", nil, func(c, s string) string { return "code=made-up&state=" + s }, nil, "exchange"},
		{"nonce mismatch (ID token replay)", func() { p.nonceFor = func(string) string { return "other" } }, nil, nil, "nonce_mismatch"},
		{"ID token signed by another key", func() { p.signWith = evil }, nil, nil, "id_token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p.mu.Lock()
			p.nonceFor, p.signWith = nil, nil
			p.mu.Unlock()
			if tc.setup != nil {
				p.mu.Lock()
				tc.setup()
				p.mu.Unlock()
			}
			authURL, cookie := startLogin(t, o, "")
			code, state := p.authorize(t, authURL, "mallory")
			q := "code=" + code + "&state=" + state
			if tc.query != nil {
				q = tc.query(code, state)
			}
			if tc.cookie != nil {
				cookie = tc.cookie(cookie)
			}
			pr, _, err := callback(o, q, cookie)
			if !errors.Is(err, ErrLoginFailed) || authn.Reason(err) != tc.reason {
				t.Fatalf("Callback = %+v, %v (reason %q), want %s", pr, err, authn.Reason(err), tc.reason)
			}
		})
	}
	p.mu.Lock()
	p.nonceFor, p.signWith = nil, nil
	p.mu.Unlock()
	// A PKCE verifier from another login does not redeem the code.
	authA, _ := startLogin(t, o, "")
	_, cookieB := startLogin(t, o, "")
	code, _ := p.authorize(t, authA, "mallory")
	peek, _ := NewCookieStateStore([]byte("0123456789abcdef0123456789abcdef"), false)
	stB, _ := peek.TakeLoginState(httptest.NewRecorder(), func() *http.Request {
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(cookieB)
		return r
	}())
	if _, _, err := callback(o, "code="+code+"&state="+stB.State, cookieB); authn.Reason(err) != "exchange" {
		t.Fatalf("code with another login's verifier: %v (%s)", err, authn.Reason(err))
	}
	// Open redirects are dropped from the return path.
	for _, bad := range []string{"//evil.test", "https://evil.test", "/\\evil.test", "/ok\r\nSet-Cookie: x", "/\t/evil.test", "/\t\\evil.test", "/\x00x"} {
		authURL, cookie := startLogin(t, o, bad)
		code, state := p.authorize(t, authURL, "alice")
		if _, ret, err := callback(o, "code="+code+"&state="+state, cookie); err != nil || ret != "" {
			t.Fatalf("return path %q kept as %q (%v)", bad, ret, err)
		}
	}
}

func TestOIDCOptionsRefused(t *testing.T) {
	t.Parallel()
	p := newTestProvider(t)
	states, _ := NewCookieStateStore(make([]byte, 32), false)
	for name, o := range map[string]Options{
		"http issuer":  {Issuer: "http://idp.test", ClientID: "c", RedirectURL: "https://a/cb", States: states},
		"no client":    {Issuer: p.srv.URL, RedirectURL: "https://a/cb", States: states, Client: p.srv.Client()},
		"no states":    {Issuer: p.srv.URL, ClientID: "c", RedirectURL: "https://a/cb", Client: p.srv.Client()},
		"wrong issuer": {Issuer: p.srv.URL + "/other", ClientID: "c", RedirectURL: "https://a/cb", States: states, Client: p.srv.Client()},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := New(context.Background(), o); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	if _, err := NewCookieStateStore([]byte("short"), false); err == nil {
		t.Fatal("short cookie key accepted")
	}
}

func TestIntrospector(t *testing.T) {
	t.Parallel()
	p := newTestProvider(t)
	now := time.Now()
	p.active["good"] = IntrospectionResponse{Active: true, Sub: "alice", Scope: "notes:read", Exp: now.Add(time.Hour).Unix(), Iss: p.srv.URL, Aud: authn.Scopes{"api"}}
	p.active["client"] = IntrospectionResponse{Active: true, ClientID: "svc", Exp: now.Add(time.Hour).Unix(), Iss: p.srv.URL, Aud: authn.Scopes{"api"}}
	p.active["expired"] = IntrospectionResponse{Active: true, Sub: "alice", Exp: now.Add(-time.Second).Unix(), Iss: p.srv.URL, Aud: authn.Scopes{"api"}}
	p.active["foreign"] = IntrospectionResponse{Active: true, Sub: "alice", Exp: now.Add(time.Hour).Unix(), Iss: p.srv.URL, Aud: authn.Scopes{"other"}}
	p.active["soon"] = IntrospectionResponse{Active: true, Sub: "bob", Exp: now.Add(2 * time.Second).Unix(), Iss: p.srv.URL, Aud: authn.Scopes{"api"}}
	clock := now
	in, err := NewIntrospector(IntrospectorOptions{
		URL: p.srv.URL + "/introspect", ClientID: testClientID, ClientSecret: testClientSecret,
		Issuer: p.srv.URL, Audience: []string{"api"}, Client: p.srv.Client(), CacheSize: 100, CacheTTL: time.Minute,
		Now: func() time.Time { return clock },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cases := []struct {
		token, reason, sub string
	}{
		{"good", "", "alice"},
		{"client", "", "svc"},
		{"unknown", "inactive", ""},
		{"expired", "expired", ""},
		{"foreign", "bad_audience", ""},
	}
	for _, tc := range cases {
		t.Run(tc.token, func(t *testing.T) {
			pr, err := in.Verify(ctx, tc.token)
			if tc.reason == "" {
				if err != nil || pr.Subject != tc.sub || pr.Method != authn.MethodIntrospection {
					t.Fatalf("Verify = %+v, %v", pr, err)
				}
				return
			}
			if !errors.Is(err, authn.ErrInvalidToken) || authn.Reason(err) != tc.reason {
				t.Fatalf("Verify = %v (%s), want %s", err, authn.Reason(err), tc.reason)
			}
		})
	}
	// Cached: a repeat does not call the endpoint, until the token's exp.
	before := p.hits.Load()
	if _, err := in.Verify(ctx, "good"); err != nil || p.hits.Load() != before {
		t.Fatalf("cached verify: %v, %d calls", err, p.hits.Load()-before)
	}
	if _, err := in.Verify(ctx, "soon"); err != nil {
		t.Fatal(err)
	}
	clock = now.Add(3 * time.Second)
	if _, err := in.Verify(ctx, "soon"); authn.Reason(err) != "expired" {
		t.Fatalf("cache entry outlived exp: %v", err)
	}
	// Endpoint failures are 503, never a pass.
	p.mu.Lock()
	p.status = 500
	p.mu.Unlock()
	if _, err := in.Verify(ctx, "client-new"); !errors.Is(err, authn.ErrUnavailable) {
		t.Fatalf("endpoint down: %v", err)
	}
	bad, _ := NewIntrospector(IntrospectorOptions{URL: p.srv.URL + "/introspect", ClientID: "x", ClientSecret: "y", Client: p.srv.Client(), AnyAudience: true})
	if _, err := bad.Verify(ctx, "good"); !errors.Is(err, authn.ErrUnavailable) {
		t.Fatalf("wrong client credentials: %v", err)
	}
	// Through the stage, an introspected bearer token authenticates.
	p.mu.Lock()
	p.status = 0
	p.mu.Unlock()
	stage, _ := authn.New(authn.Options{Authenticators: []authn.Authenticator{authn.Bearer(in)}})
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer client")
	w := httptest.NewRecorder()
	stage.Handler(whoami).ServeHTTP(w, r)
	if w.Body.String() != "introspection:svc" {
		t.Fatalf("stage with introspection: %d %s", w.Code, w.Body)
	}
	for name, o := range map[string]IntrospectorOptions{
		"http":                  {URL: "http://idp/introspect", ClientID: "a", ClientSecret: "b", AnyAudience: true},
		"no client":             {URL: "https://idp/introspect", AnyAudience: true},
		"no audience":           {URL: "https://idp/introspect", ClientID: "a", ClientSecret: "b"},
		"both audience options": {URL: "https://idp/introspect", ClientID: "a", ClientSecret: "b", Audience: []string{"api"}, AnyAudience: true},
	} {
		if _, err := NewIntrospector(o); err == nil {
			t.Fatalf("%s: accepted", name)
		}
	}
}

// whoami echoes the principal's method and subject, or "anonymous".
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if p, ok := authn.PrincipalFrom(r.Context()); ok {
		_, _ = w.Write([]byte(string(p.Method) + ":" + p.Subject))
		return
	}
	_, _ = w.Write([]byte("anonymous"))
})
