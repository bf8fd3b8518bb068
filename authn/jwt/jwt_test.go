package jwt

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/covetgo/covet/authn"
	gojwt "github.com/golang-jwt/jwt/v5"
)

var at = map[string]any{"typ": "at+jwt"}

func hdr(kv ...any) map[string]any {
	h := map[string]any{"typ": "at+jwt"}
	for i := 0; i+1 < len(kv); i += 2 {
		h[kv[i].(string)] = kv[i+1]
	}
	return h
}

func TestVerifierAccepts(t *testing.T) {
	t.Parallel()
	k := keys(t)
	v := newTestVerifier(t, nil)
	cases := []struct {
		name  string
		token string
	}{
		{"RS256", sign(t, gojwt.SigningMethodRS256, k.rsa, hdr("kid", "rsa1"), goodClaims())},
		{"ES256", sign(t, gojwt.SigningMethodES256, k.ec, hdr("kid", "ec1"), goodClaims())},
		{"EdDSA", sign(t, gojwt.SigningMethodEdDSA, k.ed, hdr("kid", "ed1"), goodClaims())},
		{"HS256", sign(t, gojwt.SigningMethodHS256, k.hmac, hdr("kid", "hs1"), goodClaims())},
		{"typ with application/ prefix", sign(t, gojwt.SigningMethodEdDSA, k.ed, hdr("kid", "ed1", "typ", "application/AT+JWT"), goodClaims())},
		{"audience array containing ours", sign(t, gojwt.SigningMethodEdDSA, k.ed, hdr("kid", "ed1"), withClaims(func(c map[string]any) { c["aud"] = []string{"other", testAudience} }))},
		{"scope as array", sign(t, gojwt.SigningMethodEdDSA, k.ed, hdr("kid", "ed1"), withClaims(func(c map[string]any) { c["scope"] = []string{"notes:read", "notes:write"} }))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := v.Verify(context.Background(), tc.token)
			if err != nil {
				t.Fatalf("Verify: %v (reason %q)", err, authn.Reason(err))
			}
			if p.Subject != "user-1" || p.Method != authn.MethodJWT {
				t.Fatalf("principal = %+v", p)
			}
			if !p.HasScope("notes:write") || !p.HasRole("editor") {
				t.Fatalf("scopes %v roles %v", p.Scopes, p.Roles)
			}
			if !p.ExpiresAt.Equal(time.Unix(testNow.Add(10*time.Minute).Unix(), 0)) {
				t.Fatalf("ExpiresAt = %v", p.ExpiresAt)
			}
			var extra struct {
				Sub string `json:"sub"`
			}
			if err := p.Claims.Decode(&extra); err != nil || extra.Sub != "user-1" {
				t.Fatalf("Decode: %v %+v", err, extra)
			}
		})
	}
}

// TestAttackTable is the list of tokens that must all be refused, each for
// the reason named.
func TestAttackTable(t *testing.T) {
	t.Parallel()
	k := keys(t)
	v := newTestVerifier(t, nil)
	good := goodClaims()
	goodPayload := mustJSON(good)
	edHeader := `{"alg":"EdDSA","kid":"ed1","typ":"at+jwt"}`
	valid := signRaw(t, gojwt.SigningMethodEdDSA, k.ed, edHeader, goodPayload)
	parts := strings.Split(valid, ".")
	pubDER, _ := x509.MarshalPKIXPublicKey(&k.rsa.PublicKey)
	evilJWK := map[string]any{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(k.evilED.Public().(ed25519.PublicKey))}
	unsigned := func(alg string) string {
		return b64(`{"alg":"`+alg+`","kid":"ed1","typ":"at+jwt"}`) + "." + b64(goodPayload) + "."
	}
	cases := []struct {
		name   string
		token  string
		reason string
	}{
		{"alg none", unsigned("none"), "bad_signature"},
		{"alg None", unsigned("None"), "unverifiable"},
		{"alg NONE", unsigned("NONE"), "unverifiable"},
		{"alg none with a signature", unsigned("none") + parts[2], "bad_signature"},
		{"HS256 signed with the RSA public key PEM", sign(t, gojwt.SigningMethodHS256, rsaPublicPEM(k.rsa), hdr("kid", "rsa1"), good), "alg_mismatch"},
		{"HS256 signed with the RSA public key DER", sign(t, gojwt.SigningMethodHS256, pubDER, hdr("kid", "rsa1"), good), "alg_mismatch"},
		{"HS256 with the RSA PEM and no kid", sign(t, gojwt.SigningMethodHS256, rsaPublicPEM(k.rsa), at, good), "missing_kid"},
		{"kid of another key type", sign(t, gojwt.SigningMethodES256, k.ec, hdr("kid", "ed1"), good), "alg_mismatch"},
		{"unknown kid", sign(t, gojwt.SigningMethodEdDSA, k.ed, hdr("kid", "nope"), good), "unknown_kid"},
		{"kid that is a number", sign(t, gojwt.SigningMethodEdDSA, k.ed, hdr("kid", 7), good), "malformed"},
		{"missing kid with several keys", sign(t, gojwt.SigningMethodEdDSA, k.ed, at, good), "missing_kid"},
		{"right kid, attacker's key", sign(t, gojwt.SigningMethodEdDSA, k.evilED, hdr("kid", "ed1"), good), "bad_signature"},
		{"ES256 right kid, attacker's key", sign(t, gojwt.SigningMethodES256, k.evilEC, hdr("kid", "ec1"), good), "bad_signature"},
		{"expired", sign(t, gojwt.SigningMethodEdDSA, k.ed, hdr("kid", "ed1"), withClaims(func(c map[string]any) { c["exp"] = testNow.Add(-time.Second).Unix() })), "expired"},
		{"not yet valid", sign(t, gojwt.SigningMethodEdDSA, k.ed, hdr("kid", "ed1"), withClaims(func(c map[string]any) { c["nbf"] = testNow.Add(time.Minute).Unix() })), "not_yet_valid"},
		{"issued in the future", sign(t, gojwt.SigningMethodEdDSA, k.ed, hdr("kid", "ed1"), withClaims(func(c map[string]any) { c["iat"] = testNow.Add(time.Hour).Unix() })), "issued_in_future"},
		{"missing exp", sign(t, gojwt.SigningMethodEdDSA, k.ed, hdr("kid", "ed1"), withClaims(func(c map[string]any) { delete(c, "exp") })), "missing_claim"},
		{"nbf as a string", sign(t, gojwt.SigningMethodEdDSA, k.ed, hdr("kid", "ed1"), withClaims(func(c map[string]any) { c["nbf"] = "1" })), "malformed"},
		{"nbf in the future, spelled Nbf", sign(t, gojwt.SigningMethodEdDSA, k.ed, hdr("kid", "ed1"), withClaims(func(c map[string]any) { c["Nbf"] = testNow.Add(24 * time.Hour).Unix() })), "malformed"},
		{"nbf beyond int64", sign(t, gojwt.SigningMethodEdDSA, k.ed, hdr("kid", "ed1"), withClaims(func(c map[string]any) { c["nbf"] = 1e19 })), "malformed"},
		{"exp beyond int64", sign(t, gojwt.SigningMethodEdDSA, k.ed, hdr("kid", "ed1"), withClaims(func(c map[string]any) { c["exp"] = 1e19 })), "malformed"},
		{"exp as a string", sign(t, gojwt.SigningMethodEdDSA, k.ed, hdr("kid", "ed1"), withClaims(func(c map[string]any) { c["exp"] = "99999999999" })), "malformed"},
		{"wrong iss", sign(t, gojwt.SigningMethodEdDSA, k.ed, hdr("kid", "ed1"), withClaims(func(c map[string]any) { c["iss"] = "https://evil.test" })), "bad_issuer"},
		{"missing iss", sign(t, gojwt.SigningMethodEdDSA, k.ed, hdr("kid", "ed1"), withClaims(func(c map[string]any) { delete(c, "iss") })), "missing_claim"},
		{"wrong aud", sign(t, gojwt.SigningMethodEdDSA, k.ed, hdr("kid", "ed1"), withClaims(func(c map[string]any) { c["aud"] = "other" })), "bad_audience"},
		{"missing aud", sign(t, gojwt.SigningMethodEdDSA, k.ed, hdr("kid", "ed1"), withClaims(func(c map[string]any) { delete(c, "aud") })), "missing_claim"},
		{"aud array without ours", sign(t, gojwt.SigningMethodEdDSA, k.ed, hdr("kid", "ed1"), withClaims(func(c map[string]any) { c["aud"] = []string{"a", "b"} })), "bad_audience"},
		{"aud array with a non-string", sign(t, gojwt.SigningMethodEdDSA, k.ed, hdr("kid", "ed1"), withClaims(func(c map[string]any) { c["aud"] = []any{testAudience, 1} })), "malformed"},
		{"aud nested array", sign(t, gojwt.SigningMethodEdDSA, k.ed, hdr("kid", "ed1"), withClaims(func(c map[string]any) { c["aud"] = []any{[]string{testAudience}} })), "malformed"},
		{"aud empty array", sign(t, gojwt.SigningMethodEdDSA, k.ed, hdr("kid", "ed1"), withClaims(func(c map[string]any) { c["aud"] = []string{} })), "missing_claim"},
		{"typ JWT where at+jwt is required", sign(t, gojwt.SigningMethodEdDSA, k.ed, hdr("kid", "ed1", "typ", "JWT"), good), "bad_typ"},
		{"typ missing", sign(t, gojwt.SigningMethodEdDSA, k.ed, map[string]any{"kid": "ed1"}, good), "bad_typ"},
		{"oversized token", sign(t, gojwt.SigningMethodEdDSA, k.ed, hdr("kid", "ed1"), withClaims(func(c map[string]any) { c["pad"] = strings.Repeat("x", MaxTokenSize) })), "too_long"},
		{"malformed base64 header", "eyJ!!!." + parts[1] + "." + parts[2], "malformed"},
		{"malformed base64 signature", parts[0] + "." + parts[1] + ".@@@", "malformed"},
		{"header is not JSON", b64("{alg:EdDSA") + "." + parts[1] + "." + parts[2], "malformed"},
		{"payload is not JSON", signRaw(t, gojwt.SigningMethodEdDSA, k.ed, edHeader, `{"sub":`), "malformed"},
		{"payload is a JSON array", signRaw(t, gojwt.SigningMethodEdDSA, k.ed, edHeader, `["sub"]`), "malformed"},
		{"extra segment", valid + ".e30", "malformed"},
		{"two segments", parts[0] + "." + parts[1], "malformed"},
		{"JWE-shaped five segments", "a.b.c.d.e", "malformed"},
		{"crit header", sign(t, gojwt.SigningMethodEdDSA, k.ed, hdr("kid", "ed1", "crit", []string{"exp"}, "exp", 1), good), "crit_header"},
		{"crit b64=false", sign(t, gojwt.SigningMethodEdDSA, k.ed, hdr("kid", "ed1", "crit", []string{"b64"}, "b64", false), good), "crit_header"},
		{"jku pointing elsewhere, attacker key and kid", sign(t, gojwt.SigningMethodEdDSA, k.evilED, hdr("kid", "evil", "jku", "https://evil.test/jwks.json"), good), "unknown_kid"},
		{"jku pointing elsewhere, our kid", sign(t, gojwt.SigningMethodEdDSA, k.evilED, hdr("kid", "ed1", "jku", "https://evil.test/jwks.json"), good), "bad_signature"},
		{"x5u pointing elsewhere", sign(t, gojwt.SigningMethodEdDSA, k.evilED, hdr("kid", "ed1", "x5u", "https://evil.test/cert.pem"), good), "bad_signature"},
		{"embedded jwk", sign(t, gojwt.SigningMethodEdDSA, k.evilED, hdr("kid", "ed1", "jwk", evilJWK), good), "bad_signature"},
		{"embedded jwk without kid", sign(t, gojwt.SigningMethodEdDSA, k.evilED, hdr("jwk", evilJWK), good), "missing_kid"},
		{"duplicate exp claim", signRaw(t, gojwt.SigningMethodEdDSA, k.ed, edHeader, strings.Replace(goodPayload, `{`, `{"exp":1,`, 1)), "duplicate_claim"},
		{"duplicate sub claim", signRaw(t, gojwt.SigningMethodEdDSA, k.ed, edHeader, strings.Replace(goodPayload, `}`, `,"sub":"admin"}`, 1)), "duplicate_claim"},
		{"duplicate claim through an escape", signRaw(t, gojwt.SigningMethodEdDSA, k.ed, edHeader, strings.Replace(goodPayload, `}`, `,"\u0073ub":"admin"}`, 1)), "duplicate_claim"},
		{"duplicate alg header", signRaw(t, gojwt.SigningMethodEdDSA, k.ed, `{"alg":"none","kid":"ed1","typ":"at+jwt","alg":"EdDSA"}`, goodPayload), "malformed"},
		{"duplicate kid header", signRaw(t, gojwt.SigningMethodEdDSA, k.ed, `{"alg":"EdDSA","kid":"nope","typ":"at+jwt","kid":"ed1"}`, goodPayload), "malformed"},
		{"header with trailing data", signRaw(t, gojwt.SigningMethodEdDSA, k.ed, edHeader+`{}`, goodPayload), "malformed"},
		{"payload with trailing data", signRaw(t, gojwt.SigningMethodEdDSA, k.ed, edHeader, goodPayload+` x`), "malformed"},
		{"sub as a number", signRaw(t, gojwt.SigningMethodEdDSA, k.ed, edHeader, strings.Replace(goodPayload, `"sub":"user-1"`, `"sub":1`, 1)), "malformed"},
		{"thousands of dots", parts[0] + strings.Repeat(".", 4000) + parts[2], "malformed"},
		{"header of dots only", strings.Repeat(".", MaxTokenSize), "malformed"},
		{"non-canonical base64 signature", parts[0] + "." + parts[1] + "." + nonCanonical(parts[2]), "malformed"},
		{"tampered payload", parts[0] + "." + b64(strings.Replace(goodPayload, "user-1", "admin", 1)) + "." + parts[2], "bad_signature"},
		{"empty signature", parts[0] + "." + parts[1] + ".", "bad_signature"},
		{"missing sub", sign(t, gojwt.SigningMethodEdDSA, k.ed, hdr("kid", "ed1"), withClaims(func(c map[string]any) { delete(c, "sub") })), "missing_sub"},
		{"empty token", "", "malformed"},
	}
	if len(cases) < 25 {
		t.Fatalf("attack table has %d cases, want at least 25", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := v.Verify(context.Background(), tc.token)
			if err == nil {
				t.Fatalf("accepted: %+v", p)
			}
			if !errors.Is(err, authn.ErrInvalidToken) {
				t.Fatalf("error %v is not authn.ErrInvalidToken", err)
			}
			if got := authn.Reason(err); got != tc.reason {
				t.Fatalf("reason = %q, want %q (%v)", got, tc.reason, err)
			}
		})
	}
}

func TestVerifierLeeway(t *testing.T) {
	t.Parallel()
	k := keys(t)
	expired := sign(t, gojwt.SigningMethodEdDSA, k.ed, hdr("kid", "ed1"), withClaims(func(c map[string]any) { c["exp"] = testNow.Add(-30 * time.Second).Unix() }))
	strict := newTestVerifier(t, nil)
	if _, err := strict.Verify(context.Background(), expired); authn.Reason(err) != "expired" {
		t.Fatalf("no leeway: %v", err)
	}
	lenient := newTestVerifier(t, func(o *VerifierOptions) { o.Leeway = time.Minute })
	if _, err := lenient.Verify(context.Background(), expired); err != nil {
		t.Fatalf("leeway 1m: %v", err)
	}
}

func TestVerifierOptionsRefused(t *testing.T) {
	t.Parallel()
	k := keys(t)
	set := k.set(t)
	base := func() VerifierOptions {
		return VerifierOptions{Keys: set, Algorithms: []string{"RS256", "ES256", "EdDSA", "HS256"}, Issuer: testIssuer, Audience: []string{testAudience}}
	}
	cases := []struct {
		name string
		mod  func(*VerifierOptions)
	}{
		{"no keys", func(o *VerifierOptions) { o.Keys = nil }},
		{"no algorithms", func(o *VerifierOptions) { o.Algorithms = nil }},
		{"none algorithm", func(o *VerifierOptions) { o.Algorithms = append(o.Algorithms, "none") }},
		{"unknown algorithm", func(o *VerifierOptions) { o.Algorithms = append(o.Algorithms, "XS999") }},
		{"key algorithm not allowed", func(o *VerifierOptions) { o.Algorithms = []string{"EdDSA"} }},
		{"no issuer", func(o *VerifierOptions) { o.Issuer = "" }},
		{"no audience", func(o *VerifierOptions) { o.Audience = nil }},
		{"empty audience", func(o *VerifierOptions) { o.Audience = []string{""} }},
		{"negative leeway", func(o *VerifierOptions) { o.Leeway = -time.Second }},
		{"huge leeway", func(o *VerifierOptions) { o.Leeway = time.Hour }},
		{"negative cache", func(o *VerifierOptions) { o.CacheSize = -1 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := base()
			tc.mod(&o)
			if _, err := NewVerifier(o); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	if _, err := NewVerifier(base()); err != nil {
		t.Fatalf("base options refused: %v", err)
	}
}

func TestStaticKeysRefused(t *testing.T) {
	t.Parallel()
	k := keys(t)
	cases := []struct {
		name string
		keys []Key
	}{
		{"none", nil},
		{"short HMAC secret", []Key{{ID: "a", Algorithm: "HS256", Key: []byte("short")}}},
		{"HMAC with an RSA key", []Key{{ID: "a", Algorithm: "HS256", Key: &k.rsa.PublicKey}}},
		{"RSA with bytes", []Key{{ID: "a", Algorithm: "RS256", Key: rsaPublicPEM(k.rsa)}}},
		{"ES256 with an Ed25519 key", []Key{{ID: "a", Algorithm: "ES256", Key: k.ed.Public()}}},
		{"ES384 with a P-256 key", []Key{{ID: "a", Algorithm: "ES384", Key: &k.ec.PublicKey}}},
		{"alg none", []Key{{ID: "a", Algorithm: "none", Key: []byte{}}}},
		{"no alg", []Key{{ID: "a", Key: k.hmac}}},
		{"duplicate IDs", []Key{{ID: "a", Algorithm: "HS256", Key: k.hmac}, {ID: "a", Algorithm: "HS256", Key: k.hmac}}},
		{"empty ID among several", []Key{{Algorithm: "HS256", Key: k.hmac}, {ID: "b", Algorithm: "HS256", Key: k.hmac}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewStaticKeys(tc.keys...); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestSingleKeyWithoutKID(t *testing.T) {
	t.Parallel()
	k := keys(t)
	set, err := NewStaticKeys(Key{ID: "ed1", Algorithm: "EdDSA", Key: k.ed.Public()})
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(VerifierOptions{Keys: set, Algorithms: []string{"EdDSA"}, Issuer: testIssuer, Audience: []string{testAudience}, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	tok := sign(t, gojwt.SigningMethodEdDSA, k.ed, nil, goodClaims())
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatalf("single key without kid: %v", err)
	}
}

type countingRevocation struct {
	calls   atomic.Int32
	revoked map[string]bool
	err     error
}

func (c *countingRevocation) Revoked(_ context.Context, cl *authn.Claims) (bool, error) {
	c.calls.Add(1)
	return c.revoked[cl.ID], c.err
}

func TestVerifierCache(t *testing.T) {
	t.Parallel()
	k := keys(t)
	now := testNow
	rev := &countingRevocation{revoked: map[string]bool{}}
	v := newTestVerifier(t, func(o *VerifierOptions) {
		o.CacheSize = 64
		o.CacheTTL = time.Hour
		o.Revocation = rev
		o.Now = func() time.Time { return now }
	})
	tok := sign(t, gojwt.SigningMethodEdDSA, k.ed, hdr("kid", "ed1"), withClaims(func(c map[string]any) { c["jti"] = "t1" }))
	p1, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := v.Verify(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if p1 != p2 {
		t.Fatal("second verification did not come from the cache")
	}
	if got := rev.calls.Load(); got != 2 {
		t.Fatalf("revocation asked %d times, want 2 (every request)", got)
	}
	rev.revoked["t1"] = true
	if _, err := v.Verify(context.Background(), tok); authn.Reason(err) != "revoked" {
		t.Fatalf("revoked cached token: %v", err)
	}
	rev.revoked["t1"] = false
	rev.err = errors.New("store down")
	if _, err := v.Verify(context.Background(), tok); !errors.Is(err, authn.ErrUnavailable) {
		t.Fatalf("revocation failure: %v", err)
	}
	rev.err = nil
	// The entry never outlives exp, even with a longer TTL.
	now = testNow.Add(10*time.Minute + time.Second)
	if _, err := v.Verify(context.Background(), tok); authn.Reason(err) != "expired" {
		t.Fatalf("after exp: %v", err)
	}
	// A tampered token with the same length is not a cache hit.
	now = testNow
	tampered := tok[:len(tok)-2] + "AA"
	if tampered != tok {
		if _, err := v.Verify(context.Background(), tampered); err == nil {
			t.Fatal("tampered token accepted")
		}
	}
}

// A Principal hook that keeps no claims must not switch revocation off for
// cached tokens.
func TestCacheRevocationWithCustomPrincipal(t *testing.T) {
	t.Parallel()
	k := keys(t)
	rev := &countingRevocation{revoked: map[string]bool{}}
	v := newTestVerifier(t, func(o *VerifierOptions) {
		o.CacheSize = 16
		o.Revocation = rev
		o.Principal = func(c *authn.Claims) (*authn.Principal, error) { return &authn.Principal{Subject: c.Subject}, nil }
	})
	tok := sign(t, gojwt.SigningMethodEdDSA, k.ed, hdr("kid", "ed1"), withClaims(func(c map[string]any) { c["jti"] = "t9" }))
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	rev.revoked["t9"] = true
	if _, err := v.Verify(context.Background(), tok); authn.Reason(err) != "revoked" {
		t.Fatalf("revoked token served from the cache: %v", err)
	}
}

// nonCanonical returns seg with the unused low bits of its last character
// set: a second spelling of the same bytes that lenient decoders accept.
func nonCanonical(seg string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := seg[len(seg)-1]
	return seg[:len(seg)-1] + string(alphabet[b64val(last)|1])
}
