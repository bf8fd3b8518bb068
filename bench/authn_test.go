package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/redis/go-redis/v9"

	"github.com/covetgo/covet/authn"
	"github.com/covetgo/covet/authn/issuer"
	authnjwt "github.com/covetgo/covet/authn/jwt"
)

// jwtPeerClaims is what an application decodes with golang-jwt directly:
// the registered claims plus the scope and roles the covet verifier reads.
type jwtPeerClaims struct {
	jwt.RegisteredClaims
	Scope string   `json:"scope,omitempty"`
	Roles []string `json:"roles,omitempty"`
}

type jwtCase struct {
	name   string
	method jwt.SigningMethod
	sign   any // private key
	verify any // public key
}

func jwtCases(b *testing.B) []jwtCase {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	secret := []byte("0123456789abcdef0123456789abcdef")
	return []jwtCase{
		{"HS256", jwt.SigningMethodHS256, secret, secret},
		{"ES256", jwt.SigningMethodES256, ec, &ec.PublicKey},
		{"EdDSA", jwt.SigningMethodEdDSA, edPriv, edPub},
	}
}

func jwtToken(b *testing.B, c jwtCase) string {
	now := time.Now()
	t := jwt.NewWithClaims(c.method, jwtPeerClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: "https://auth.test", Subject: "user-1", Audience: jwt.ClaimStrings{"api"},
			ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)), IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now),
			ID: "0123456789abcdef",
		},
		Scope: "notes:read notes:write",
		Roles: []string{"editor"},
	})
	t.Header["kid"] = "k1"
	s, err := t.SignedString(c.sign)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkAuthn_Verify compares covet's verifier (cold, and with the
// verified-token cache) with golang-jwt's parser used directly with the
// same checks: algorithm allow-list, issuer, audience, required exp, iat.
func BenchmarkAuthn_Verify(b *testing.B) {
	for _, c := range jwtCases(b) {
		tok := jwtToken(b, c)
		b.Run(c.name+"/golang-jwt", func(b *testing.B) {
			p := jwt.NewParser(jwt.WithValidMethods([]string{c.method.Alg()}), jwt.WithIssuer("https://auth.test"),
				jwt.WithAudience("api"), jwt.WithExpirationRequired(), jwt.WithIssuedAt())
			key := c.verify
			keyfunc := func(t *jwt.Token) (any, error) { return key, nil }
			b.ReportAllocs()
			for b.Loop() {
				var claims jwtPeerClaims
				if _, err := p.ParseWithClaims(tok, &claims, keyfunc); err != nil {
					b.Fatal(err)
				}
			}
		})
		for _, cached := range []bool{false, true} {
			name := c.name + "/covet"
			size := 0
			if cached {
				name, size = c.name+"/covet-cached", 1024
			}
			b.Run(name, func(b *testing.B) {
				keys, err := authnjwt.NewStaticKeys(authnjwt.Key{ID: "k1", Algorithm: c.method.Alg(), Key: c.verify})
				if err != nil {
					b.Fatal(err)
				}
				v, err := authnjwt.NewVerifier(authnjwt.VerifierOptions{Keys: keys, Algorithms: []string{c.method.Alg()},
					Issuer: "https://auth.test", Audience: []string{"api"}, CacheSize: size})
				if err != nil {
					b.Fatal(err)
				}
				ctx := context.Background()
				b.ReportAllocs()
				for b.Loop() {
					if _, err := v.Verify(ctx, tok); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// pairTimer runs two implementations in alternating blocks inside one
// benchmark loop and reports each one's median block time per operation and
// the ratio of the medians. Medians of back-to-back blocks keep a busy,
// shared machine (a preempted block, a GC cycle) from deciding the ratio.
func pairTimer(b *testing.B, block int, names [2]string, ops [2]func()) {
	var times [2][]time.Duration
	b.ReportAllocs()
	for b.Loop() {
		for i, op := range ops {
			start := time.Now()
			for range block {
				op()
			}
			times[i] = append(times[i], time.Since(start))
		}
	}
	med := func(d []time.Duration) float64 {
		slices.Sort(d)
		return float64(d[len(d)/2].Nanoseconds()) / float64(block)
	}
	m0, m1 := med(times[0]), med(times[1])
	b.ReportMetric(m0, names[0]+"-ns/op")
	b.ReportMetric(m1, names[1]+"-ns/op")
	b.ReportMetric(m0/m1, "ratio")
}

// BenchmarkAuthn_Paired reports covet/golang-jwt time ratios measured in
// alternating blocks: cold verification per algorithm, and the cached
// verification against golang-jwt's HS256.
func BenchmarkAuthn_Paired(b *testing.B) {
	ctx := context.Background()
	var hsPeer func()
	for _, c := range jwtCases(b) {
		tok := jwtToken(b, c)
		p := jwt.NewParser(jwt.WithValidMethods([]string{c.method.Alg()}), jwt.WithIssuer("https://auth.test"),
			jwt.WithAudience("api"), jwt.WithExpirationRequired(), jwt.WithIssuedAt())
		key := c.verify
		keyfunc := func(t *jwt.Token) (any, error) { return key, nil }
		peer := func() {
			var claims jwtPeerClaims
			if _, err := p.ParseWithClaims(tok, &claims, keyfunc); err != nil {
				b.Fatal(err)
			}
		}
		keys, _ := authnjwt.NewStaticKeys(authnjwt.Key{ID: "k1", Algorithm: c.method.Alg(), Key: c.verify})
		cold, _ := authnjwt.NewVerifier(authnjwt.VerifierOptions{Keys: keys, Algorithms: []string{c.method.Alg()}, Issuer: "https://auth.test", Audience: []string{"api"}})
		b.Run(c.name+"/covet-vs-golang-jwt", func(b *testing.B) {
			pairTimer(b, 4, [2]string{"covet", "golang-jwt"}, [2]func(){
				func() {
					if _, err := cold.Verify(ctx, tok); err != nil {
						b.Fatal(err)
					}
				}, peer})
		})
		if c.name == "HS256" {
			hsPeer = peer
			cached, _ := authnjwt.NewVerifier(authnjwt.VerifierOptions{Keys: keys, Algorithms: []string{"HS256"}, Issuer: "https://auth.test", Audience: []string{"api"}, CacheSize: 1024})
			b.Run("HS256/covet-cached-vs-golang-jwt", func(b *testing.B) {
				pairTimer(b, 16, [2]string{"covet-cached", "golang-jwt"}, [2]func(){
					func() {
						if _, err := cached.Verify(ctx, tok); err != nil {
							b.Fatal(err)
						}
					}, hsPeer})
			})
		}
	}
}

// BenchmarkAuthn_Revocation states what consulting a revocation list costs
// a cached verification (the list is asked on every request, cache hits
// included): no list, the in-memory list, and the Redis list (one MGET
// round trip to COVET_TEST_REDIS_ADDR, default 127.0.0.1:6379; skipped
// when Redis does not answer).
func BenchmarkAuthn_Revocation(b *testing.B) {
	ctx := context.Background()
	iss, err := issuer.New(issuer.Options{Issuer: "https://auth.test", Audience: []string{"api"}})
	if err != nil {
		b.Fatal(err)
	}
	tok, _, err := iss.Issue(ctx, issuer.Grant{Subject: "user-1", Roles: []string{"editor"}})
	if err != nil {
		b.Fatal(err)
	}
	lists := []struct {
		name string
		list func(b *testing.B) authnjwt.RevocationList
	}{
		{"none", func(*testing.B) authnjwt.RevocationList { return nil }},
		{"memory", func(*testing.B) authnjwt.RevocationList {
			m := issuer.NewMemoryRevocations(nil)
			// Other subjects' revocations are present, as in production.
			for i := range 1000 {
				_ = m.RevokeToken(ctx, "other-"+strconv.Itoa(i), "jti", time.Now().Add(time.Hour))
			}
			return m
		}},
		{"redis", func(b *testing.B) authnjwt.RevocationList {
			addr := os.Getenv("COVET_TEST_REDIS_ADDR")
			if addr == "" {
				addr = "127.0.0.1:6379"
			}
			rdb := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
			b.Cleanup(func() { _ = rdb.Close() })
			if err := rdb.Ping(ctx).Err(); err != nil {
				b.Skipf("Redis at %s: %v", addr, err)
			}
			r, err := issuer.NewRedisRevocations(rdb, authn.RedisOptions{Prefix: "covet:bench:revocation:"})
			if err != nil {
				b.Fatal(err)
			}
			return r
		}},
	}
	for _, l := range lists {
		b.Run("cached/"+l.name, func(b *testing.B) {
			v, err := iss.Verifier(authnjwt.VerifierOptions{CacheSize: 1024, Revocation: l.list(b)})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
