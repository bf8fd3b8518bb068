package jwt

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/covetgo/covet/authn"
	gojwt "github.com/golang-jwt/jwt/v5"
)

// jwksProvider is a local JWKS endpoint whose keys and health the test
// controls.
type jwksProvider struct {
	srv    *httptest.Server
	mu     sync.Mutex
	keys   map[string]ed25519.PrivateKey
	status int
	body   []byte // overrides the document when set
	maxAge string
	delay  time.Duration
	hits   atomic.Int32
}

func newJWKSProvider(t *testing.T) *jwksProvider {
	p := &jwksProvider{keys: map[string]ed25519.PrivateKey{}, status: 200, maxAge: "300"}
	p.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.hits.Add(1)
		p.mu.Lock()
		status, body, maxAge, delay := p.status, p.body, p.maxAge, p.delay
		var set struct {
			Keys []JWK `json:"keys"`
		}
		for kid, k := range p.keys {
			j, _ := PublicJWK(Key{ID: kid, Algorithm: "EdDSA", Key: k.Public()})
			set.Keys = append(set.Keys, j)
		}
		p.mu.Unlock()
		time.Sleep(delay)
		if status != 200 {
			w.WriteHeader(status)
			return
		}
		if body == nil {
			body, _ = json.Marshal(set)
		}
		w.Header().Set("Cache-Control", "public, max-age="+maxAge)
		_, _ = w.Write(body)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *jwksProvider) addKey(kid string) ed25519.PrivateKey {
	_, k, _ := ed25519.GenerateKey(rand.Reader)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys[kid] = k
	return k
}

func (p *jwksProvider) set(f func(p *jwksProvider)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(p)
}

func newTestJWKS(t *testing.T, p *jwksProvider, mod func(*JWKSOptions)) *JWKS {
	t.Helper()
	o := JWKSOptions{URL: p.srv.URL + "/jwks.json", AllowedHosts: []string{"127.0.0.1"}, Client: p.srv.Client()}
	if mod != nil {
		mod(&o)
	}
	j, err := NewJWKS(o)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func jwksVerifier(t *testing.T, j *JWKS) *Verifier {
	v, err := NewVerifier(VerifierOptions{Keys: j, Algorithms: []string{"EdDSA"}, Issuer: testIssuer, Audience: []string{testAudience}})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func liveClaims() map[string]any {
	c := goodClaims()
	now := time.Now()
	c["iat"], c["nbf"], c["exp"] = now.Unix(), now.Unix(), now.Add(time.Hour).Unix()
	return c
}

func TestJWKSRotationAndOutage(t *testing.T) {
	t.Parallel()
	p := newJWKSProvider(t)
	k1 := p.addKey("k1")
	j := newTestJWKS(t, p, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := j.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	v := jwksVerifier(t, j)
	tok1 := sign(t, gojwt.SigningMethodEdDSA, k1, map[string]any{"kid": "k1"}, liveClaims())
	if _, err := v.Verify(ctx, tok1); err != nil {
		t.Fatalf("k1: %v", err)
	}
	// The provider rotates: a token with the new kid triggers a refresh.
	k2 := p.addKey("k2")
	tok2 := sign(t, gojwt.SigningMethodEdDSA, k2, map[string]any{"kid": "k2"}, liveClaims())
	before := p.hits.Load()
	if _, err := v.Verify(ctx, tok2); err != nil {
		t.Fatalf("k2 after rotation: %v", err)
	}
	if p.hits.Load() != before+1 {
		t.Fatalf("rotation fetched %d times, want 1", p.hits.Load()-before)
	}
	// Another unknown kid within 30 s: refused at once, no fetch.
	k3 := p.addKey("k3")
	tok3 := sign(t, gojwt.SigningMethodEdDSA, k3, map[string]any{"kid": "k3"}, liveClaims())
	before = p.hits.Load()
	start := time.Now()
	if _, err := v.Verify(ctx, tok3); authn.Reason(err) != "unknown_kid" {
		t.Fatalf("k3 within the interval: %v", err)
	}
	if p.hits.Load() != before || time.Since(start) > time.Second {
		t.Fatal("an unknown kid inside the interval fetched or waited")
	}
	// Outage: the provider fails; known keys keep working.
	p.set(func(p *jwksProvider) { p.status = 503 })
	j.mu.Lock()
	j.lastUnknown = time.Time{}
	j.mu.Unlock()
	if _, err := v.Verify(ctx, tok3); authn.Reason(err) != "unknown_kid" {
		t.Fatalf("k3 during the outage: %v", err)
	}
	if _, err := v.Verify(ctx, tok1); err != nil {
		t.Fatalf("stale k1 during the outage: %v", err)
	}
	if _, err := v.Verify(ctx, tok2); err != nil {
		t.Fatalf("stale k2 during the outage: %v", err)
	}
	// A broken document does not replace good keys either.
	p.set(func(p *jwksProvider) {
		p.status = 200
		p.body = []byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"k1"}]}`)
	})
	if err := j.fetchShared(ctx, true); err == nil {
		t.Fatal("a document without usable keys was accepted")
	}
	if _, err := v.Verify(ctx, tok1); err != nil {
		t.Fatalf("k1 after a broken document: %v", err)
	}
}

func TestJWKSSingleflight(t *testing.T) {
	t.Parallel()
	p := newJWKSProvider(t)
	p.addKey("k1")
	// In a synctest bubble with the provider served in process, the slow
	// fetch's delay is fake time: it passes only once every request is
	// blocked on the fetch or has given up.
	synctest.Test(t, func(t *testing.T) {
		j := newTestJWKS(t, p, inProcess(p))
		ctx := context.Background()
		if err := j.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		p.set(func(p *jwksProvider) { p.delay = 200 * time.Millisecond })
		k2 := p.addKey("k2")
		tok := sign(t, gojwt.SigningMethodEdDSA, k2, map[string]any{"kid": "k2"}, liveClaims())
		v := jwksVerifier(t, j)
		before := p.hits.Load()
		var ok atomic.Int32
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				if _, err := v.Verify(ctx, tok); err == nil {
					ok.Add(1)
				}
			})
		}
		wg.Wait()
		if got := p.hits.Load() - before; got != 1 {
			t.Fatalf("20 concurrent unknown-kid requests fetched %d times, want 1", got)
		}
		// Every request either shared the fetch or failed fast; the one
		// that started it shares it.
		if ok.Load() == 0 {
			t.Fatal("no request was served by the shared refresh")
		}
	})
}

func TestJWKSBackgroundRefresh(t *testing.T) {
	t.Parallel()
	p := newJWKSProvider(t)
	p.addKey("k1")
	p.set(func(p *jwksProvider) { p.maxAge = "0" })
	synctest.Test(t, func(t *testing.T) {
		j := newTestJWKS(t, p, func(o *JWKSOptions) {
			inProcess(p)(o)
			o.MinRefresh = time.Second
		})
		if err := j.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		p.addKey("k2")
		if _, ok, _ := j.lookup("k2"); ok {
			t.Fatal("k2 known before a refresh")
		}
		time.Sleep(time.Second) // fake time: the refresh is due
		synctest.Wait()         // and has finished
		if _, ok, _ := j.lookup("k2"); !ok {
			t.Fatal("background refresh did not pick up the new key")
		}
		if j.Fetches() != 2 {
			t.Fatalf("%d fetches after one refresh interval, want 2", j.Fetches())
		}
	})
}

// inProcess makes a JWKS reach p through its handler, without a network
// connection, so that the JWKS can run in a synctest bubble.
func inProcess(p *jwksProvider) func(*JWKSOptions) {
	return func(o *JWKSOptions) {
		o.Client = &http.Client{Transport: handlerTransport{p.srv.Config.Handler}}
	}
}

// handlerTransport serves requests with an in-process handler.
type handlerTransport struct{ h http.Handler }

func (ht handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	w := httptest.NewRecorder()
	ht.h.ServeHTTP(w, r)
	return w.Result(), nil
}

func TestJWKSLimits(t *testing.T) {
	t.Parallel()
	p := newJWKSProvider(t)
	p.addKey("k1")
	p.set(func(p *jwksProvider) { p.body = []byte(`{"keys":[` + strings.Repeat(" ", 300<<10) + `]}`) })
	j := newTestJWKS(t, p, nil)
	err := j.Start(context.Background())
	j.Close()
	if err == nil || !strings.Contains(err.Error(), "MaxBodySize") {
		t.Fatalf("oversized document: %v", err)
	}
	// Redirects to a host outside AllowedHosts are refused.
	evil := httptest.NewTLSServer(http.RedirectHandler("https://localhost:1/jwks", http.StatusFound))
	defer evil.Close()
	j2, _ := NewJWKS(JWKSOptions{URL: evil.URL, AllowedHosts: []string{"127.0.0.1"}, Client: evil.Client()})
	err = j2.Start(context.Background())
	j2.Close()
	if err == nil || !strings.Contains(err.Error(), "redirect refused") {
		t.Fatalf("redirect off the allowed hosts: %v", err)
	}
}

func TestJWKSOptionsRefused(t *testing.T) {
	t.Parallel()
	for name, o := range map[string]JWKSOptions{
		"http":              {URL: "http://idp.test/jwks", AllowedHosts: []string{"idp.test"}},
		"no hosts":          {URL: "https://idp.test/jwks"},
		"host not allowed":  {URL: "https://evil.test/jwks", AllowedHosts: []string{"idp.test"}},
		"garbage URL":       {URL: "://", AllowedHosts: []string{"idp.test"}},
		"tiny refresh":      {URL: "https://idp.test/jwks", AllowedHosts: []string{"idp.test"}, MinRefresh: time.Millisecond},
		"max below min":     {URL: "https://idp.test/jwks", AllowedHosts: []string{"idp.test"}, MinRefresh: time.Hour, MaxRefresh: time.Minute},
		"tiny kid interval": {URL: "https://idp.test/jwks", AllowedHosts: []string{"idp.test"}, UnknownKIDInterval: time.Millisecond},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := NewJWKS(o); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestJWKSClamp(t *testing.T) {
	t.Parallel()
	j, _ := NewJWKS(JWKSOptions{URL: "https://idp.test/jwks", AllowedHosts: []string{"idp.test"}})
	cases := []struct {
		cc   string
		want time.Duration
	}{
		{"max-age=1", 5 * time.Minute},
		{"public, max-age=600", 10 * time.Minute},
		{"max-age=99999999999", 24 * time.Hour},
		{"no-cache", time.Hour},
		{"max-age=-5", time.Hour},
		{"max-age=abc", time.Hour},
		{"", time.Hour},
	}
	for _, tc := range cases {
		if got := j.clamp(maxAge(tc.cc)); got != tc.want {
			t.Errorf("%q: %s, want %s", tc.cc, got, tc.want)
		}
	}
}

func TestParseJWK(t *testing.T) {
	t.Parallel()
	k := keys(t)
	good := func(key Key) string {
		j, err := PublicJWK(key)
		if err != nil {
			t.Fatal(err)
		}
		return mustJSON(j)
	}
	ok := []string{
		good(Key{ID: "r", Algorithm: "RS256", Key: &k.rsa.PublicKey}),
		good(Key{ID: "e", Algorithm: "ES256", Key: &k.ec.PublicKey}),
		good(Key{ID: "d", Algorithm: "EdDSA", Key: k.ed.Public()}),
	}
	for _, s := range ok {
		if _, err := ParseJWK([]byte(s)); err != nil {
			t.Fatalf("ParseJWK(%s): %v", s, err)
		}
	}
	bad := map[string]string{
		"symmetric":          `{"kty":"oct","kid":"a","k":"c2VjcmV0"}`,
		"private EC":         strings.Replace(ok[1], `"kty"`, `"d":"AAAA","kty"`, 1),
		"encryption use":     strings.Replace(ok[2], `"use":"sig"`, `"use":"enc"`, 1),
		"no kid":             strings.Replace(ok[2], `"kid":"d",`, ``, 1),
		"alg none":           strings.Replace(ok[2], `"alg":"EdDSA"`, `"alg":"none"`, 1),
		"alg of another key": strings.Replace(ok[2], `"alg":"EdDSA"`, `"alg":"RS256"`, 1),
		"off-curve point":    `{"kty":"EC","kid":"x","crv":"P-256","x":"` + b64u.EncodeToString(make([]byte, 32)) + `","y":"` + b64u.EncodeToString(make([]byte, 32)) + `"}`,
		"short Ed25519":      `{"kty":"OKP","kid":"x","crv":"Ed25519","x":"AAAA"}`,
		"small RSA":          `{"kty":"RSA","kid":"x","n":"` + b64u.EncodeToString(make([]byte, 64)) + `","e":"AQAB"}`,
		"even exponent":      strings.Replace(ok[0], `"e":"AQAB"`, `"e":"Ag"`, 1),
		"not JSON":           `{`,
	}
	for name, s := range bad {
		t.Run(name, func(t *testing.T) {
			if key, err := ParseJWK([]byte(s)); err == nil {
				t.Fatalf("accepted %+v", key)
			}
		})
	}
}
