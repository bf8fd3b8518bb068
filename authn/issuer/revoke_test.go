package issuer

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/covetgo/covet/authn"
	"github.com/covetgo/covet/authn/internal/redistest"
	"github.com/covetgo/covet/authn/jwt"
)

// revocationStores returns the revocation lists every test runs against:
// memory, a real Redis node and a real Redis Cluster.
func revocationStores(t *testing.T, now func() time.Time) map[string]RevocationStore {
	t.Helper()
	out := map[string]RevocationStore{"memory": NewMemoryRevocations(now)}
	for name, rdb := range redistest.Targets(t) {
		r, err := NewRedisRevocations(rdb, authn.RedisOptions{Prefix: redistest.Prefix(t, rdb), Timeout: redistest.StoreTimeout})
		if err != nil {
			t.Fatal(err)
		}
		out[name] = r
	}
	return out
}

// tokenStores pairs a refresh store and a revocation list of one kind.
func tokenStores(t *testing.T, now func() time.Time) map[string]struct {
	refresh RefreshStore
	revoked RevocationStore
} {
	t.Helper()
	refresh := refreshStores(t)
	revoked := revocationStores(t, now)
	out := map[string]struct {
		refresh RefreshStore
		revoked RevocationStore
	}{}
	for name := range refresh {
		out[name] = struct {
			refresh RefreshStore
			revoked RevocationStore
		}{refresh[name], revoked[name]}
	}
	return out
}

// A demoted admin loses the role at the next refresh; a disabled user
// cannot refresh at all, and the login is revoked.
func TestRefreshReloadsGrant(t *testing.T) {
	t.Parallel()
	for name, store := range refreshStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			c := &clock{t: time.Now()}
			current := map[string]Grant{"ann": {Subject: "ann", Roles: []string{"admin"}, Scopes: []string{"users:write"}}}
			disabled := map[string]bool{}
			iss, err := New(Options{
				Issuer: "https://auth.test", Audience: []string{"api"}, Refresh: store, Now: c.Now,
				Reload: func(_ context.Context, g Grant) (Grant, error) {
					if disabled[g.Subject] {
						return Grant{}, ErrGrantRevoked
					}
					return current[g.Subject], nil
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			v, _ := iss.Verifier(jwt.VerifierOptions{})
			pair, err := iss.IssuePair(ctx, current["ann"])
			if err != nil {
				t.Fatal(err)
			}
			current["ann"] = Grant{Subject: "ann", Roles: []string{"user"}}
			next, err := iss.Refresh(ctx, pair.RefreshToken)
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			p, err := v.Verify(ctx, next.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			if p.HasRole("admin") || !p.HasRole("user") || p.HasScope("users:write") {
				t.Fatalf("after demotion the refreshed token has roles %v scopes %v", p.Roles, p.Scopes)
			}
			disabled["ann"] = true
			if _, err := iss.Refresh(ctx, next.RefreshToken); !errors.Is(err, ErrInvalidGrant) || authn.Reason(err) != "grant_revoked" {
				t.Fatalf("disabled user's refresh: %v (%s)", err, authn.Reason(err))
			}
			disabled["ann"] = false
			c.Add(time.Minute)
			// The login stays ended even once the account is enabled again.
			if _, err := iss.Refresh(ctx, next.RefreshToken); authn.Reason(err) != "revoked" && authn.Reason(err) != "reused" {
				t.Fatalf("refresh of a login ended by Reload: %v (%s)", err, authn.Reason(err))
			}
		})
	}
}

// A Reload that fails for another reason (the user database is down) is a
// 503: the client keeps its token and retries.
func TestRefreshReloadFailureIsUnavailable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := &clock{t: time.Now()}
	down := true
	iss, err := New(Options{
		Issuer: "https://auth.test", Audience: []string{"api"}, Refresh: NewMemoryRefreshStore(), Now: c.Now,
		Reload: func(_ context.Context, g Grant) (Grant, error) {
			if down {
				return Grant{}, errors.New("database unreachable")
			}
			return g, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	pair, _ := iss.IssuePair(ctx, Grant{Subject: "bo"})
	if _, err := iss.Refresh(ctx, pair.RefreshToken); !errors.Is(err, authn.ErrUnavailable) {
		t.Fatalf("Reload failure: %v", err)
	}
	down = false
	c.Add(time.Second)
	if _, err := iss.Refresh(ctx, pair.RefreshToken); err != nil {
		t.Fatalf("retry after the database is back: %v (%s)", err, authn.Reason(err))
	}
}

// Access tokens are revoked before they expire, by jti and by subject
// ("issued before T"), and a cached verification still sees it.
func TestRevocation(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Now().Truncate(time.Second).Add(100 * time.Millisecond)}
	for name, st := range tokenStores(t, c.Now) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			iss, err := New(Options{Issuer: "https://auth.test", Audience: []string{"api"}, Refresh: st.refresh, Revocations: st.revoked, Now: c.Now})
			if err != nil {
				t.Fatal(err)
			}
			v, err := iss.Verifier(jwt.VerifierOptions{CacheSize: 100})
			if err != nil {
				t.Fatal(err)
			}
			subject := "sue-" + name
			a, _, _ := iss.Issue(ctx, Grant{Subject: subject})
			b, _, _ := iss.Issue(ctx, Grant{Subject: subject})
			pa, err := v.Verify(ctx, a) // now cached
			if err != nil {
				t.Fatal(err)
			}
			if _, err := v.Verify(ctx, b); err != nil {
				t.Fatal(err)
			}
			if err := st.revoked.RevokeToken(ctx, subject, pa.Claims.ID, pa.ExpiresAt); err != nil {
				t.Fatal(err)
			}
			if _, err := v.Verify(ctx, a); !errors.Is(err, authn.ErrInvalidToken) || authn.Reason(err) != "revoked" {
				t.Fatalf("cached token revoked by jti: %v (%s)", err, authn.Reason(err))
			}
			if _, err := v.Verify(ctx, b); err != nil {
				t.Fatalf("another token of the subject: %v", err)
			}
			// Everything of the subject before now: b and the login go;
			// a token and a login of the next second stay.
			login, _ := iss.IssuePair(ctx, Grant{Subject: subject})
			c.Add(time.Second)
			if err := iss.RevokeSubject(ctx, subject, c.Now()); err != nil {
				t.Fatal(err)
			}
			if _, err := v.Verify(ctx, b); authn.Reason(err) != "revoked" {
				t.Fatalf("token issued before the cut-off: %v (%s)", err, authn.Reason(err))
			}
			fresh, err := iss.IssuePair(ctx, Grant{Subject: subject})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := v.Verify(ctx, fresh.AccessToken); err != nil {
				t.Fatalf("token issued after the cut-off: %v", err)
			}
			if _, err := iss.Refresh(ctx, login.RefreshToken); !errors.Is(err, ErrInvalidGrant) || authn.Reason(err) != "revoked" {
				t.Fatalf("refresh of a login before the cut-off: %v (%s)", err, authn.Reason(err))
			}
			if _, err := iss.Refresh(ctx, fresh.RefreshToken); err != nil {
				t.Fatalf("refresh of a login after the cut-off: %v", err)
			}
			// An earlier cut-off does not lower the later one.
			if err := iss.RevokeSubject(ctx, subject, c.Now().Add(-time.Hour)); err != nil {
				t.Fatal(err)
			}
			if _, err := v.Verify(ctx, b); authn.Reason(err) != "revoked" {
				t.Fatalf("an earlier cut-off lowered the later one: %v", err)
			}
			// Another subject is untouched.
			other, _, _ := iss.Issue(ctx, Grant{Subject: subject + "-other"})
			if _, err := v.Verify(ctx, other); err != nil {
				t.Fatalf("another subject: %v", err)
			}
		})
	}
}

// Logout by access token ends the whole login server-side (the refresh
// family, and the access token through the revocation list) without the
// refresh token; RevokeLogin does the same from a login ID kept in a
// session.
func TestLogoutRevokesLogin(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Now()}
	for name, st := range tokenStores(t, c.Now) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			iss, err := New(Options{Issuer: "https://auth.test", Audience: []string{"api"}, Refresh: st.refresh, Revocations: st.revoked, Now: c.Now})
			if err != nil {
				t.Fatal(err)
			}
			v, _ := iss.Verifier(jwt.VerifierOptions{CacheSize: 100})
			pair, _ := iss.IssuePair(ctx, Grant{Subject: "lou"})
			keep, _ := iss.IssuePair(ctx, Grant{Subject: "lou"}) // another device
			p, err := v.Verify(ctx, pair.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			if LoginID(p.Claims) != pair.LoginID || pair.LoginID == "" {
				t.Fatalf("sid %q, login %q", LoginID(p.Claims), pair.LoginID)
			}
			if err := iss.Logout(ctx, p.Claims); err != nil {
				t.Fatal(err)
			}
			if _, err := v.Verify(ctx, pair.AccessToken); authn.Reason(err) != "revoked" {
				t.Fatalf("access token after logout: %v", err)
			}
			if _, err := iss.Refresh(ctx, pair.RefreshToken); authn.Reason(err) != "revoked" {
				t.Fatalf("refresh token after logout: %v (%s)", err, authn.Reason(err))
			}
			if _, err := iss.Refresh(ctx, keep.RefreshToken); err != nil {
				t.Fatalf("the other device's login: %v", err)
			}
			// By login ID (from a session).
			third, _ := iss.IssuePair(ctx, Grant{Subject: "lou"})
			if err := iss.RevokeLogin(ctx, third.LoginID); err != nil {
				t.Fatal(err)
			}
			if _, err := iss.Refresh(ctx, third.RefreshToken); authn.Reason(err) != "revoked" {
				t.Fatalf("refresh after RevokeLogin: %v (%s)", err, authn.Reason(err))
			}
		})
	}
}

// The same refresh token presented again within the reuse interval gets
// the same successor; after it, reuse revokes the family.
func TestRefreshReuseGrace(t *testing.T) {
	t.Parallel()
	for name, store := range refreshStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			c := &clock{t: time.Now()}
			iss, err := New(Options{Issuer: "https://auth.test", Audience: []string{"api"}, Refresh: store, RefreshReuseGrace: 5 * time.Second, Now: c.Now})
			if err != nil {
				t.Fatal(err)
			}
			pair, _ := iss.IssuePair(ctx, Grant{Subject: "gil"})
			next, err := iss.Refresh(ctx, pair.RefreshToken)
			if err != nil {
				t.Fatal(err)
			}
			c.Add(4 * time.Second)
			again, err := iss.Refresh(ctx, pair.RefreshToken)
			if err != nil || again.RefreshToken != next.RefreshToken {
				t.Fatalf("within the interval: %v, same token %v", err, again.RefreshToken == next.RefreshToken)
			}
			// Once the successor is used, the old token is reuse even
			// within the interval.
			other, _ := iss.IssuePair(ctx, Grant{Subject: "gil"})
			otherNext, err := iss.Refresh(ctx, other.RefreshToken)
			if err != nil {
				t.Fatal(err)
			}
			otherLast, err := iss.Refresh(ctx, otherNext.RefreshToken)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := iss.Refresh(ctx, other.RefreshToken); authn.Reason(err) != "reused" {
				t.Fatalf("old token after its successor was used: %v (%s)", err, authn.Reason(err))
			}
			if _, err := iss.Refresh(ctx, otherLast.RefreshToken); authn.Reason(err) != "revoked" {
				t.Fatalf("newest token after reuse: %v (%s)", err, authn.Reason(err))
			}
			c.Add(2 * time.Second)
			if _, err := iss.Refresh(ctx, pair.RefreshToken); authn.Reason(err) != "reused" {
				t.Fatalf("after the interval: %v (%s)", err, authn.Reason(err))
			}
			if _, err := iss.Refresh(ctx, next.RefreshToken); authn.Reason(err) != "revoked" {
				t.Fatalf("successor after reuse: %v (%s)", err, authn.Reason(err))
			}
		})
	}
}

func TestIssuerGraceRefused(t *testing.T) {
	t.Parallel()
	for _, g := range []time.Duration{-time.Second, time.Millisecond, 2 * time.Minute} {
		if _, err := New(Options{Issuer: "i", Audience: []string{"a"}, RefreshReuseGrace: g}); err == nil {
			t.Fatalf("RefreshReuseGrace %s accepted", g)
		}
	}
}

// A store failure reaches the client as 503 problem+json with Retry-After,
// never 401.
func TestUnavailableIs503WithRetryAfter(t *testing.T) {
	t.Parallel()
	iss, err := New(Options{Issuer: "https://auth.test", Audience: []string{"api"}, Revocations: failingRevocations{}})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := iss.Verifier(jwt.VerifierOptions{CacheSize: 10})
	stage, _ := authn.New(authn.Options{Authenticators: []authn.Authenticator{authn.Bearer(v)}})
	h := stage.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	tok, _, _ := iss.Issue(context.Background(), Grant{Subject: "x"})
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != 503 || w.Header().Get("Retry-After") == "" || w.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("%d %v", w.Code, w.Header())
	}
	if slices.Contains(w.Header().Values("WWW-Authenticate"), "") || w.Header().Get("WWW-Authenticate") != "" {
		t.Fatalf("503 carries a challenge: %v", w.Header())
	}
}

type failingRevocations struct{}

var errStoreDown = errors.New("store unreachable")

func (failingRevocations) Revoked(context.Context, *authn.Claims) (bool, error) {
	return false, errStoreDown
}
func (failingRevocations) RevokeToken(context.Context, string, string, time.Time) error {
	return errStoreDown
}
func (failingRevocations) RevokeLogin(context.Context, string, string, time.Time) error {
	return errStoreDown
}
func (failingRevocations) RevokeSubject(context.Context, string, time.Time, time.Time) error {
	return errStoreDown
}
func (failingRevocations) RevokedBefore(context.Context, string) (time.Time, error) {
	return time.Time{}, errStoreDown
}

// Ending a login ends its access tokens too, cached ones included: every
// token whose "sid" is the login, whichever device holds it, when the
// refresh token is reused (theft), on RevokeLogin, on Logout with another
// of its access tokens, and on Revoke with its refresh token. Other logins
// of the same subject go on.
func TestRevokedLoginRevokesItsAccessTokens(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Now()}
	for name, st := range tokenStores(t, c.Now) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			iss, err := New(Options{Issuer: "https://auth.test", Audience: []string{"api"}, Refresh: st.refresh, Revocations: st.revoked, RefreshReuseGrace: time.Second, Now: c.Now})
			if err != nil {
				t.Fatal(err)
			}
			v, _ := iss.Verifier(jwt.VerifierOptions{CacheSize: 100})
			subject := "kim-" + name
			login := func() TokenPair {
				t.Helper()
				p, err := iss.IssuePair(ctx, Grant{Subject: subject})
				if err != nil {
					t.Fatal(err)
				}
				return p
			}
			refresh := func(tok string) TokenPair {
				t.Helper()
				p, err := iss.Refresh(ctx, tok)
				if err != nil {
					t.Fatal(err)
				}
				return p
			}
			valid := func(what string, toks ...string) {
				t.Helper()
				for _, tok := range toks {
					if _, err := v.Verify(ctx, tok); err != nil {
						t.Fatalf("%s: %v (%s)", what, err, authn.Reason(err))
					}
				}
			}
			revoked := func(what string, toks ...string) {
				t.Helper()
				for _, tok := range toks {
					if _, err := v.Verify(ctx, tok); !errors.Is(err, authn.ErrInvalidToken) || authn.Reason(err) != "revoked" {
						t.Fatalf("%s: %v (%s)", what, err, authn.Reason(err))
					}
				}
			}
			stolen, other := login(), login()
			next := refresh(stolen.RefreshToken)
			valid("before reuse", stolen.AccessToken, next.AccessToken, other.AccessToken) // now cached

			// The old refresh token comes back after the reuse interval:
			// someone copied it. Both copies of the login's access tokens go.
			c.Add(2 * time.Second)
			if _, err := iss.Refresh(ctx, stolen.RefreshToken); authn.Reason(err) != "reused" {
				t.Fatalf("reuse: %v (%s)", err, authn.Reason(err))
			}
			revoked("access token of a reused login", stolen.AccessToken, next.AccessToken)
			valid("another login of the subject after reuse", other.AccessToken)

			// RevokeLogin by the ID kept server-side.
			other2 := refresh(other.RefreshToken)
			third := login()
			if err := iss.RevokeLogin(ctx, other.LoginID); err != nil {
				t.Fatal(err)
			}
			revoked("access token after RevokeLogin", other.AccessToken, other2.AccessToken)
			valid("another login after RevokeLogin", third.AccessToken)

			// Logout with one access token ends the login's others too.
			third2 := refresh(third.RefreshToken)
			fourth := login()
			p, err := v.Verify(ctx, third2.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			if err := iss.Logout(ctx, p.Claims); err != nil {
				t.Fatal(err)
			}
			revoked("the login's other access token after Logout", third.AccessToken)
			valid("another login after Logout", fourth.AccessToken)

			// Revoke with the refresh token (RFC 7009 section 2.1).
			fifth := login()
			if err := iss.Revoke(ctx, fourth.RefreshToken); err != nil {
				t.Fatal(err)
			}
			revoked("access token after Revoke", fourth.AccessToken)
			valid("another login after Revoke", fifth.AccessToken)
		})
	}
}

// A verifier with Leeway takes a token for up to five minutes past its
// exp, so a revocation must outlive the expiry by as much: a token revoked
// by jti, or caught by a subject's cut-off, stays refused through the
// leeway.
func TestRevocationOutlivesLeeway(t *testing.T) {
	t.Parallel()
	// The token expired a minute ago (real time, which Redis expires
	// keys by) and is still within the verifier's leeway.
	for name, st := range tokenStores(t, nil) {
		t.Run(name, func(t *testing.T) {
			c := &clock{t: time.Now().Add(-2 * time.Minute)}
			if _, ok := st.revoked.(*MemoryRevocations); ok {
				st.revoked = NewMemoryRevocations(c.Now)
			}
			ctx := context.Background()
			iss, err := New(Options{Issuer: "https://auth.test", Audience: []string{"api"}, AccessTTL: time.Minute, Revocations: st.revoked, Now: c.Now})
			if err != nil {
				t.Fatal(err)
			}
			tok, _, err := iss.Issue(ctx, Grant{Subject: "lee-" + name})
			if err != nil {
				t.Fatal(err)
			}
			v, _ := iss.Verifier(jwt.VerifierOptions{Leeway: 5 * time.Minute, Now: time.Now})
			p, err := v.Verify(ctx, tok)
			if err != nil {
				t.Fatalf("an expired token within the leeway: %v", err)
			}
			if err := iss.Logout(ctx, p.Claims); err != nil {
				t.Fatal(err)
			}
			// The memory list sweeps what has expired at a write a
			// minute after the last sweep.
			c.Add(2 * time.Minute)
			if err := st.revoked.RevokeToken(ctx, "someone-else", "j", time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if _, err := v.Verify(ctx, tok); authn.Reason(err) != "revoked" {
				t.Fatalf("revoked token within the leeway: %v (%s)", err, authn.Reason(err))
			}
		})
	}
}

// A subject's cut-off is kept until the last access token it catches has
// expired, leeway included, even when access tokens outlive logins.
func TestCutoffOutlivesLeeway(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := &clock{t: time.Now()}
	list := NewMemoryRevocations(c.Now)
	iss, err := New(Options{Issuer: "https://auth.test", Audience: []string{"api"}, AccessTTL: time.Hour, RefreshTTL: time.Minute, RefreshFamilyTTL: time.Minute, Revocations: list, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := iss.Verifier(jwt.VerifierOptions{Leeway: 5 * time.Minute})
	tok, _, _ := iss.Issue(ctx, Grant{Subject: "cy"})
	c.Add(time.Second)
	if err := iss.RevokeSubject(ctx, "cy", c.Now()); err != nil {
		t.Fatal(err)
	}
	c.Add(time.Hour + 3*time.Minute) // past exp, within the leeway
	if err := list.RevokeToken(ctx, "someone-else", "j", c.Now().Add(time.Hour)); err != nil {
		t.Fatal(err) // a write sweeps what has expired
	}
	if _, err := v.Verify(ctx, tok); authn.Reason(err) != "revoked" {
		t.Fatalf("token before the cut-off, within the leeway: %v (%s)", err, authn.Reason(err))
	}
}
