package jwt

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/covetgo/covet/authn"
	gojwt "github.com/golang-jwt/jwt/v5"
)

func benchVerify(b *testing.B, m gojwt.SigningMethod, key any, kid string, cache int) {
	v := newTestVerifier(b, func(o *VerifierOptions) { o.CacheSize = cache; o.Now = time.Now; o.Type = "" })
	c := goodClaims()
	c["iat"] = time.Now().Unix()
	c["nbf"] = time.Now().Unix()
	c["exp"] = time.Now().Add(time.Hour).Unix()
	tok := sign(b, m, key, map[string]any{"kid": kid, "typ": "JWT"}, c)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	k := keys(b)
	b.Run("HS256", func(b *testing.B) { benchVerify(b, gojwt.SigningMethodHS256, k.hmac, "hs1", 0) })
	b.Run("ES256", func(b *testing.B) { benchVerify(b, gojwt.SigningMethodES256, k.ec, "ec1", 0) })
	b.Run("EdDSA", func(b *testing.B) { benchVerify(b, gojwt.SigningMethodEdDSA, k.ed, "ed1", 0) })
	b.Run("HS256-cached", func(b *testing.B) { benchVerify(b, gojwt.SigningMethodHS256, k.hmac, "hs1", 1024) })
	b.Run("EdDSA-cached", func(b *testing.B) { benchVerify(b, gojwt.SigningMethodEdDSA, k.ed, "ed1", 1024) })
}

func BenchmarkHandler(b *testing.B) {
	k := keys(b)
	v := newTestVerifier(b, func(o *VerifierOptions) { o.CacheSize = 1024; o.Now = time.Now; o.Type = "" })
	c := goodClaims()
	c["iat"], c["nbf"], c["exp"] = time.Now().Unix(), time.Now().Unix(), time.Now().Add(time.Hour).Unix()
	tok := sign(b, gojwt.SigningMethodHS256, k.hmac, map[string]any{"kid": "hs1"}, c)
	a, err := authn.New(authn.Options{Authenticators: []authn.Authenticator{authn.Bearer(v)}})
	if err != nil {
		b.Fatal(err)
	}
	h := a.Handler(whoami)
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		w.Body.Reset()
		h.ServeHTTP(w, r)
	}
}
