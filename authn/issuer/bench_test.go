package issuer

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/covetgo/covet/authn"
	"github.com/covetgo/covet/authn/internal/redistest"
	"github.com/covetgo/covet/authn/jwt"
	"github.com/covetgo/covet/internal/testsvc"
	"github.com/redis/go-redis/v9"
)

// BenchmarkVerifyRevocations prices the revocation check of the issuer's
// verifier for an access token of a login (jti, sub and sid), cold and
// cached, against the in-memory list (holding other subjects'
// revocations, as in production) and the Redis list (one MGET per
// request).
func BenchmarkVerifyRevocations(b *testing.B) {
	ctx := context.Background()
	lists := map[string]func(b *testing.B) RevocationStore{
		"none": func(*testing.B) RevocationStore { return nil },
		"memory": func(*testing.B) RevocationStore {
			m := NewMemoryRevocations(nil)
			for i := range 1000 {
				_ = m.RevokeToken(ctx, "other-"+strconv.Itoa(i), "jti", time.Now().Add(time.Hour))
			}
			return m
		},
		"redis": func(b *testing.B) RevocationStore {
			rdb := redis.NewClient(&redis.Options{Addr: testsvc.RedisAddr(b), ContextTimeoutEnabled: true})
			b.Cleanup(func() { _ = rdb.Close() })
			r, err := NewRedisRevocations(rdb, authn.RedisOptions{Prefix: redistest.Prefix(b, rdb)})
			if err != nil {
				b.Fatal(err)
			}
			return r
		},
	}
	for _, name := range []string{"none", "memory", "redis"} {
		for _, cache := range []int{0, 1024} {
			label := name + "/cold"
			if cache > 0 {
				label = name + "/cached"
			}
			b.Run(label, func(b *testing.B) {
				iss, err := New(Options{Issuer: "https://auth.test", Audience: []string{"api"}, Refresh: NewMemoryRefreshStore(), Revocations: lists[name](b)})
				if err != nil {
					b.Fatal(err)
				}
				pair, err := iss.IssuePair(ctx, Grant{Subject: "user-1", Roles: []string{"editor"}})
				if err != nil {
					b.Fatal(err)
				}
				v, err := iss.Verifier(jwt.VerifierOptions{CacheSize: cache})
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					if _, err := v.Verify(ctx, pair.AccessToken); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
