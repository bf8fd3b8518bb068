package issuer

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/covetgo/covet/authn"
	"github.com/covetgo/covet/authn/internal/redistest"
	"github.com/covetgo/covet/authn/jwt"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestIssuer(t *testing.T, alg string, store RefreshStore, c *clock) *Issuer {
	t.Helper()
	iss, err := New(Options{
		Issuer: "https://auth.test", Audience: []string{"api"}, Algorithm: alg,
		AccessTTL: 10 * time.Minute, RotateEvery: time.Hour, Refresh: store, Now: c.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

func TestIssuerIssueAndVerify(t *testing.T) {
	t.Parallel()
	for _, alg := range []string{"EdDSA", "ES256"} {
		t.Run(alg, func(t *testing.T) {
			c := &clock{t: time.Now()}
			iss := newTestIssuer(t, alg, nil, c)
			v, err := iss.Verifier(jwt.VerifierOptions{})
			if err != nil {
				t.Fatal(err)
			}
			tok, exp, err := iss.Issue(context.Background(), Grant{Subject: "alice", Roles: []string{"editor"}, Scopes: []string{"a", "b"}})
			if err != nil {
				t.Fatal(err)
			}
			if d := exp.Sub(c.Now()); d < 9*time.Minute || d > 10*time.Minute {
				t.Fatalf("exp in %s", d)
			}
			p, err := v.Verify(context.Background(), tok)
			if err != nil {
				t.Fatalf("Verify: %v (%s)", err, authn.Reason(err))
			}
			if p.Subject != "alice" || !p.HasRole("editor") || !p.HasScope("b") || p.Claims.ID == "" {
				t.Fatalf("principal %+v", p)
			}
			// The JWKS document verifies the same token through a static set.
			w := httptest.NewRecorder()
			iss.JWKSHandler().ServeHTTP(w, httptest.NewRequest("GET", "/.well-known/jwks.json", nil))
			if w.Code != 200 || w.Header().Get("Content-Type") != "application/jwk-set+json" {
				t.Fatalf("JWKS %d %s", w.Code, w.Header())
			}
			var set struct{ Keys []json.RawMessage }
			if err := json.Unmarshal(w.Body.Bytes(), &set); err != nil || len(set.Keys) != 2 {
				t.Fatalf("JWKS body %s: %v", w.Body, err)
			}
			var keys []jwt.Key
			for _, raw := range set.Keys {
				k, err := jwt.ParseJWK(raw)
				if err != nil {
					t.Fatalf("ParseJWK(%s): %v", raw, err)
				}
				keys = append(keys, k)
			}
			static, err := jwt.NewStaticKeys(keys...)
			if err != nil {
				t.Fatal(err)
			}
			v2, err := jwt.NewVerifier(jwt.VerifierOptions{Keys: static, Algorithms: []string{alg}, Issuer: "https://auth.test", Audience: []string{"api"}, Type: "at+jwt"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := v2.Verify(context.Background(), tok); err != nil {
				t.Fatalf("verify through the JWKS: %v", err)
			}
			w = httptest.NewRecorder()
			iss.JWKSHandler().ServeHTTP(w, httptest.NewRequest("POST", "/", nil))
			if w.Code != 405 {
				t.Fatalf("POST to JWKS: %d", w.Code)
			}
		})
	}
}

func TestIssuerRotation(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Now()}
	iss := newTestIssuer(t, "EdDSA", nil, c)
	v, _ := iss.Verifier(jwt.VerifierOptions{})
	kidOf := func(tok string) string {
		var h struct{ Kid string }
		_ = json.Unmarshal(mustB64(t, tok[:indexByte(tok, '.')]), &h)
		return h.Kid
	}
	published := func() map[string]bool {
		var set struct{ Keys []json.RawMessage }
		_ = json.Unmarshal(iss.JWKS(), &set)
		m := map[string]bool{}
		for _, raw := range set.Keys {
			var j jwt.JWK
			_ = json.Unmarshal(raw, &j)
			m[j.Kid] = true
		}
		return m
	}
	ctx := context.Background()
	a, _, _ := iss.Issue(ctx, Grant{Subject: "u"})
	pub := published()
	if len(pub) != 2 || !pub[kidOf(a)] {
		t.Fatalf("published %v, signing %s", pub, kidOf(a))
	}
	c.Add(59 * time.Minute)
	a, _, _ = iss.Issue(ctx, Grant{Subject: "u"}) // signed just before rotation
	c.Add(time.Minute + time.Second)
	b, _, _ := iss.Issue(ctx, Grant{Subject: "u"})
	if kidOf(a) == kidOf(b) {
		t.Fatal("key did not rotate after RotateEvery")
	}
	if !pub[kidOf(b)] {
		t.Fatal("the new signing key was not published before it signed")
	}
	c.Add(5 * time.Minute)
	if _, err := v.Verify(ctx, a); err != nil {
		t.Fatalf("token of the retired key within AccessTTL: %v", err)
	}
	if _, err := v.Verify(ctx, b); err != nil {
		t.Fatalf("token of the new key: %v", err)
	}
	c.Add(7 * time.Minute) // retired key gone after AccessTTL + 1 min
	if published()[kidOf(a)] {
		t.Fatal("retired key still published after AccessTTL")
	}
	e, _, _ := iss.Issue(ctx, Grant{Subject: "u"})
	if err := iss.Rotate(); err != nil {
		t.Fatal(err)
	}
	d, _, _ := iss.Issue(ctx, Grant{Subject: "u"})
	if kidOf(d) == kidOf(e) {
		t.Fatal("forced rotation did not change the signing key")
	}
	if _, err := v.Verify(ctx, e); err != nil {
		t.Fatalf("token of the key retired by force: %v", err)
	}
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return len(s)
}

func mustB64(t *testing.T, s string) []byte {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestIssuerOptionsRefused(t *testing.T) {
	t.Parallel()
	for name, o := range map[string]Options{
		"no issuer":         {Audience: []string{"a"}},
		"no audience":       {Issuer: "i"},
		"RS256":             {Issuer: "i", Audience: []string{"a"}, Algorithm: "RS256"},
		"HS256":             {Issuer: "i", Audience: []string{"a"}, Algorithm: "HS256"},
		"week-long access":  {Issuer: "i", Audience: []string{"a"}, AccessTTL: 7 * 24 * time.Hour},
		"refresh > family":  {Issuer: "i", Audience: []string{"a"}, RefreshTTL: 100 * 24 * time.Hour, RefreshFamilyTTL: 10 * 24 * time.Hour},
		"negative rotation": {Issuer: "i", Audience: []string{"a"}, RotateEvery: -time.Hour},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := New(o); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// refreshStores returns the stores every refresh test runs against: memory,
// a real Redis node and a real Redis Cluster.
func refreshStores(t *testing.T) map[string]RefreshStore {
	t.Helper()
	stores := map[string]RefreshStore{"memory": NewMemoryRefreshStore()}
	for name, rdb := range redistest.Targets(t) {
		rs, err := NewRedisRefreshStore(rdb, authn.RedisOptions{Prefix: redistest.Prefix(t, rdb), Timeout: redistest.StoreTimeout})
		if err != nil {
			t.Fatal(err)
		}
		stores[name] = rs
	}
	return stores
}

func TestRefreshRotation(t *testing.T) {
	t.Parallel()
	for name, store := range refreshStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			c := &clock{t: time.Now()}
			iss := newTestIssuer(t, "EdDSA", store, c)
			v, _ := iss.Verifier(jwt.VerifierOptions{})
			g := Grant{Subject: "alice", Roles: []string{"reader"}, Scopes: []string{"notes:read"}}
			first, err := iss.IssuePair(ctx, g)
			if err != nil {
				t.Fatal(err)
			}
			if first.TokenType != "Bearer" || first.ExpiresIn != 600 || first.RefreshToken == "" {
				t.Fatalf("pair %+v", first)
			}
			second, err := iss.Refresh(ctx, first.RefreshToken)
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			if second.RefreshToken == first.RefreshToken {
				t.Fatal("refresh token did not rotate")
			}
			p, err := v.Verify(ctx, second.AccessToken)
			if err != nil || p.Subject != "alice" || !p.HasScope("notes:read") || !p.HasRole("reader") {
				t.Fatalf("refreshed access token: %+v %v", p, err)
			}
			third, err := iss.Refresh(ctx, second.RefreshToken)
			if err != nil {
				t.Fatalf("second refresh: %v", err)
			}
			// Reuse of an old token after the reuse interval: refused, and
			// the family is revoked, so the newest token dies too.
			c.Add(11 * time.Second)
			if _, err := iss.Refresh(ctx, first.RefreshToken); !errors.Is(err, ErrInvalidGrant) || authn.Reason(err) != "reused" {
				t.Fatalf("reuse: %v (%s)", err, authn.Reason(err))
			}
			if _, err := iss.Refresh(ctx, third.RefreshToken); authn.Reason(err) != "revoked" {
				t.Fatalf("newest token after reuse: %v (%s)", err, authn.Reason(err))
			}
			// Another login is unaffected.
			other, _ := iss.IssuePair(ctx, g)
			if _, err := iss.Refresh(ctx, other.RefreshToken); err != nil {
				t.Fatalf("other family: %v", err)
			}
			for _, bad := range []string{"", "nonsense", "rt_unknown", "rt_" + string(make([]byte, 200))} {
				if _, err := iss.Refresh(ctx, bad); !errors.Is(err, ErrInvalidGrant) {
					t.Fatalf("Refresh(%q): %v", bad, err)
				}
			}
		})
	}
}

func TestRefreshExpiryAndRevoke(t *testing.T) {
	t.Parallel()
	for name, store := range refreshStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			c := &clock{t: time.Now()}
			iss, err := New(Options{Issuer: "https://auth.test", Audience: []string{"api"}, Refresh: store, RefreshTTL: time.Hour, RefreshFamilyTTL: 3 * time.Hour, Now: c.Now})
			if err != nil {
				t.Fatal(err)
			}
			pair, _ := iss.IssuePair(ctx, Grant{Subject: "bob"})
			c.Add(time.Hour + time.Second)
			if _, err := iss.Refresh(ctx, pair.RefreshToken); authn.Reason(err) != "unknown" {
				t.Fatalf("expired refresh token: %v (%s)", err, authn.Reason(err))
			}
			// Sliding expiry stops at the family's end.
			pair, _ = iss.IssuePair(ctx, Grant{Subject: "bob"})
			for range 3 {
				c.Add(50 * time.Minute)
				if pair, err = iss.Refresh(ctx, pair.RefreshToken); err != nil {
					t.Fatalf("refresh within the family: %v", err)
				}
			}
			c.Add(31 * time.Minute) // 3h01m after login
			if _, err := iss.Refresh(ctx, pair.RefreshToken); authn.Reason(err) != "unknown" {
				t.Fatalf("refresh past the family's end: %v (%s)", err, authn.Reason(err))
			}
			pair, _ = iss.IssuePair(ctx, Grant{Subject: "bob"})
			if err := iss.Revoke(ctx, pair.RefreshToken); err != nil {
				t.Fatal(err)
			}
			if _, err := iss.Refresh(ctx, pair.RefreshToken); authn.Reason(err) != "revoked" {
				t.Fatalf("after logout: %v (%s)", err, authn.Reason(err))
			}
		})
	}
}

// Two concurrent refreshes with one token (two tabs, a retry racing the
// original) both get the same successor; at the store, two rotations of one
// token to different successors see one success and one reuse.
func TestRefreshRace(t *testing.T) {
	t.Parallel()
	for name, store := range refreshStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			c := &clock{t: time.Now()}
			iss := newTestIssuer(t, "EdDSA", store, c)
			for trial := range 20 {
				pair, err := iss.IssuePair(ctx, Grant{Subject: "carol"})
				if err != nil {
					t.Fatal(err)
				}
				var got [2]string
				var wg sync.WaitGroup
				start := make(chan struct{})
				for k := range 2 {
					wg.Go(func() {
						<-start
						next, err := iss.Refresh(ctx, pair.RefreshToken)
						if err != nil {
							t.Errorf("trial %d: %v (%s)", trial, err, authn.Reason(err))
						}
						got[k] = next.RefreshToken
					})
				}
				close(start)
				wg.Wait()
				if got[0] == "" || got[0] != got[1] {
					t.Fatalf("trial %d: racing refreshes got %q and %q", trial, got[0], got[1])
				}
			}
			for trial := range 20 {
				fam := newFamily()
				tok := newRefreshToken(fam)
				now := c.Now()
				if err := store.Create(ctx, hashRefresh(tok), RefreshRecord{Family: fam, Grant: Grant{Subject: "dan"}, ExpiresAt: now.Add(time.Hour), FamilyExpiresAt: now.Add(2 * time.Hour), AuthTime: now}); err != nil {
					t.Fatal(err)
				}
				var wins, reused atomic.Int32
				var wg sync.WaitGroup
				start := make(chan struct{})
				for range 2 {
					wg.Go(func() {
						<-start
						_, err := store.Rotate(ctx, Rotation{Family: fam, Hash: hashRefresh(tok), NextHash: hashRefresh(newRefreshToken(fam)), Now: now, NextExpiresAt: now.Add(time.Hour), Grace: 10 * time.Second})
						switch {
						case err == nil:
							wins.Add(1)
						case errors.Is(err, ErrRefreshReused):
							reused.Add(1)
						default:
							t.Errorf("unexpected: %v", err)
						}
					})
				}
				close(start)
				wg.Wait()
				if wins.Load() != 1 || reused.Load() != 1 {
					t.Fatalf("trial %d: %d successes, %d reuses", trial, wins.Load(), reused.Load())
				}
			}
		})
	}
}
