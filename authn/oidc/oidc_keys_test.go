package oidc

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"testing"

	"github.com/covetgo/covet/authn"
	authnjwt "github.com/covetgo/covet/authn/jwt"
	"github.com/golang-jwt/jwt/v5"
)

// TestOIDCKeySetHardening: the OIDC login's ID token keys follow the JWKS
// client's rules.
func TestOIDCKeySetHardening(t *testing.T) {
	t.Parallel()
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	strong, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		setup func(p *testProvider)
		ok    bool
	}{
		{"RSA 2048 accepted", func(p *testProvider) { p.rsaKey = strong }, true},
		{"RSA 1024 refused", func(p *testProvider) { p.rsaKey = weak }, false},
		{"key set over 256 KiB refused", func(p *testProvider) { p.jwksPad = 300 << 10 }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newTestProvider(t)
			tc.setup(p)
			o := newTestOIDC(t, p)
			authURL, cookie := startLogin(t, o, "")
			code, state := p.authorize(t, authURL, "alice")
			pr, _, err := callback(o, "code="+code+"&state="+state, cookie)
			if tc.ok != (err == nil) {
				t.Fatalf("login = %+v, %v (%s); want ok=%v", pr, err, authn.Reason(err), tc.ok)
			}
		})
	}
	t.Run("http jwks_uri refused", func(t *testing.T) {
		p := newTestProvider(t)
		p.jwksURI = "http://" + p.srv.Listener.Addr().String() + "/jwks"
		states, _ := NewCookieStateStore(make([]byte, 32), false)
		if _, err := New(context.Background(), Options{
			Issuer: p.srv.URL, ClientID: testClientID, ClientSecret: testClientSecret,
			RedirectURL: "https://app.test/callback", States: states, Client: p.srv.Client(),
		}); err == nil {
			t.Fatal("an http key set from discovery was accepted")
		}
	})
}

// FuzzOIDCKeySet feeds arbitrary ID tokens to the OIDC signature check:
// it must never panic, and must accept only tokens the key signed.
func FuzzOIDCKeySet(f *testing.F) {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	keys, err := authnjwt.NewStaticKeys(authnjwt.Key{ID: "r1", Algorithm: "RS256", Key: &key.PublicKey})
	if err != nil {
		f.Fatal(err)
	}
	good := sign(f, jwt.SigningMethodRS256, key, map[string]any{"kid": "r1"}, map[string]any{"sub": "alice"})
	hs := sign(f, jwt.SigningMethodHS256, []byte("public key as secret"), map[string]any{"kid": "r1"}, map[string]any{"sub": "alice"})
	for _, s := range []string{good, "a.b.c", "eyJhbGciOiJub25lIn0.e30.", good + "x", hs, "..", "eyJhbGciOiJSUzI1NiIsImtpZCI6InIxIiwiY3JpdCI6WyJiNjQiXX0.e30.AA"} {
		f.Add(s)
	}
	ks := oidcKeySet{keys: keys}
	f.Fuzz(func(t *testing.T, token string) {
		payload, err := ks.VerifySignature(context.Background(), token)
		if err == nil && token != good {
			t.Fatalf("accepted a token the key did not sign: %q (payload %q)", token, payload)
		}
	})
}

// sign returns a compact JWS of claims with header's members added.
func sign(t testing.TB, m jwt.SigningMethod, key any, header, claims map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, jwt.MapClaims(claims))
	for k, v := range header {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
