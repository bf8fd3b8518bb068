package jwt

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"sync"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"
)

// testKeys are generated once per test binary.
type testKeys struct {
	rsa    *rsa.PrivateKey
	ec     *ecdsa.PrivateKey
	ed     ed25519.PrivateKey
	hmac   []byte
	evilEC *ecdsa.PrivateKey
	evilED ed25519.PrivateKey
}

var (
	keysOnce sync.Once
	tk       testKeys
)

func keys(t testing.TB) *testKeys {
	t.Helper()
	keysOnce.Do(func() {
		var err error
		if tk.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		tk.ec, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tk.evilEC, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		_, tk.ed, _ = ed25519.GenerateKey(rand.Reader)
		_, tk.evilED, _ = ed25519.GenerateKey(rand.Reader)
		tk.hmac = []byte("0123456789abcdef0123456789abcdef")
	})
	return &tk
}

const (
	testIssuer   = "https://issuer.test"
	testAudience = "api"
)

// testNow is the fixed clock of verifier tests.
var testNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func fixedNow() time.Time { return testNow }

func (k *testKeys) set(t testing.TB) *StaticKeys {
	t.Helper()
	s, err := NewStaticKeys(
		Key{ID: "rsa1", Algorithm: "RS256", Key: &k.rsa.PublicKey},
		Key{ID: "ec1", Algorithm: "ES256", Key: &k.ec.PublicKey},
		Key{ID: "ed1", Algorithm: "EdDSA", Key: k.ed.Public().(ed25519.PublicKey)},
		Key{ID: "hs1", Algorithm: "HS256", Key: k.hmac},
	)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newTestVerifier(t testing.TB, mod func(*VerifierOptions)) *Verifier {
	t.Helper()
	o := VerifierOptions{
		Keys:       keys(t).set(t),
		Algorithms: []string{"RS256", "ES256", "EdDSA", "HS256"},
		Issuer:     testIssuer,
		Audience:   []string{testAudience},
		Type:       "at+jwt",
		Now:        fixedNow,
	}
	if mod != nil {
		mod(&o)
	}
	v, err := NewVerifier(o)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// goodClaims returns valid claims at testNow.
func goodClaims() map[string]any {
	return map[string]any{
		"iss":   testIssuer,
		"aud":   testAudience,
		"sub":   "user-1",
		"iat":   testNow.Add(-time.Minute).Unix(),
		"nbf":   testNow.Add(-time.Minute).Unix(),
		"exp":   testNow.Add(10 * time.Minute).Unix(),
		"scope": "notes:read notes:write",
		"roles": []string{"editor"},
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// signRaw signs the exact header and payload JSON texts with m and key.
func signRaw(t testing.TB, m gojwt.SigningMethod, key any, header, payload string) string {
	t.Helper()
	in := b64(header) + "." + b64(payload)
	sig, err := m.Sign(in, key)
	if err != nil {
		t.Fatal(err)
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// sign builds a token with the given header fields (alg is taken from m).
func sign(t testing.TB, m gojwt.SigningMethod, key any, header map[string]any, claims map[string]any) string {
	t.Helper()
	h := map[string]any{"alg": m.Alg()}
	for k, v := range header {
		h[k] = v
	}
	return signRaw(t, m, key, mustJSON(h), mustJSON(claims))
}

// withClaims returns goodClaims changed by f.
func withClaims(f func(map[string]any)) map[string]any {
	c := goodClaims()
	f(c)
	return c
}

func rsaPublicPEM(k *rsa.PrivateKey) []byte {
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}
