package issuer

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/covetgo/covet/authn"
	"github.com/covetgo/covet/errs"
)

// TestMemoryRefreshStoreDefaultBound: one login refreshed again and again
// keeps working within the default bound (the store forgets its oldest used
// tokens), and logins made again and again stop at the bound instead of
// growing the store.
func TestMemoryRefreshStoreDefaultBound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Now()
	rec := RefreshRecord{Family: "f", Grant: Grant{Subject: "s"}, ExpiresAt: now.Add(time.Hour), FamilyExpiresAt: now.Add(24 * time.Hour)}

	m := NewMemoryRefreshStore()
	if err := m.Create(ctx, "h0", rec); err != nil {
		t.Fatal(err)
	}
	refused := 0
	for i := range 100_010 {
		_, err := m.Rotate(ctx, Rotation{Family: "f", Hash: "h" + strconv.Itoa(i), NextHash: "h" + strconv.Itoa(i+1), Now: now, NextExpiresAt: now.Add(time.Hour)})
		if err != nil {
			refused++
			break
		}
	}
	if n := len(m.tokens); n > 100_000 || refused != 0 {
		t.Fatalf("one login holds %d tokens after 100010 refreshes, %d refused", n, refused)
	}

	m = NewMemoryRefreshStore()
	refused = 0
	for i := range 100_010 {
		rec.Family = "f" + strconv.Itoa(i)
		if err := m.Create(ctx, rec.Family, rec); err != nil {
			refused++
		}
	}
	if n := len(m.tokens) + len(m.logins); n > 200_000 || refused != 10 {
		t.Fatalf("100010 logins: %d entries, %d refused", n, refused)
	}
}

func TestMemoryRefreshStoreOptions(t *testing.T) {
	t.Parallel()
	if _, err := NewMemoryRefreshStoreWith(MemoryRefreshOptions{MaxEntries: -1}); !errors.Is(err, errs.KindConfiguration) {
		t.Fatalf("MaxEntries -1: %v, want a configuration error", err)
	}
	if m := NewMemoryRefreshStore(); m.max != DefaultRefreshMaxEntries {
		t.Fatalf("default bound %d", m.max)
	}
}

// TestMemoryRefreshStoreFull: a full store refuses new logins and
// refreshes without consuming the presented token, never refuses a
// revocation, and takes logins again once old ones end.
func TestMemoryRefreshStoreFull(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := &clock{t: time.Now()}
	m, err := NewMemoryRefreshStoreWith(MemoryRefreshOptions{MaxEntries: 4, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	login := func(fam string, life time.Duration) error {
		now := c.Now()
		return m.Create(ctx, fam+"0", RefreshRecord{Family: fam, Grant: Grant{Subject: "s-" + fam}, ExpiresAt: now.Add(time.Hour), FamilyExpiresAt: now.Add(life)})
	}
	rotate := func(fam string, from, to int) error {
		now := c.Now()
		_, err := m.Rotate(ctx, Rotation{Family: fam, Hash: fam + strconv.Itoa(from), NextHash: fam + strconv.Itoa(to), Now: now, NextExpiresAt: now.Add(time.Hour)})
		return err
	}
	for _, fam := range []string{"a", "b", "c"} {
		if err := login(fam, 24*time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if err := login("short", 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := login("d", 24*time.Hour); !errors.Is(err, ErrRefreshStoreFull) {
		t.Fatalf("login into a full store: %v", err)
	}
	if err := rotate("a", 0, 1); !errors.Is(err, ErrRefreshStoreFull) {
		t.Fatalf("refresh in a full store: %v", err)
	}
	// Revoking is never refused, and a revoked login stays revoked.
	if sub, err := m.RevokeFamily(ctx, "b", c.Now().Add(24*time.Hour)); err != nil || sub != "s-b" {
		t.Fatalf("revoke in a full store: %q %v", sub, err)
	}
	if _, err := m.Revoke(ctx, "c", "c0"); err != nil {
		t.Fatal(err)
	}
	// A revocation of a login the store does not hold takes no room.
	if sub, err := m.RevokeFamily(ctx, "nobody", c.Now().Add(24*time.Hour)); err != nil || sub != "" {
		t.Fatalf("revoke of an unknown login: %q %v", sub, err)
	}
	if len(m.revoked) != 2 {
		t.Fatalf("%d revocations held, want 2", len(m.revoked))
	}
	// Once the short login ends its room is free; the refused refresh
	// did not use the token up.
	c.Add(11 * time.Minute)
	if err := rotate("a", 0, 1); err != nil {
		t.Fatalf("refresh after a login ended: %v", err)
	}
	// The used token a0 is history: the store forgets it to let d in, and
	// refuses it as unknown from then on; with no history left, the next
	// login is refused.
	if err := login("d", 24*time.Hour); err != nil {
		t.Fatalf("login into a store full of a used token: %v", err)
	}
	if err := rotate("a", 0, 2); !errors.Is(err, ErrRefreshUnknown) {
		t.Fatalf("a forgotten used token: %v", err)
	}
	if err := login("e", 24*time.Hour); !errors.Is(err, ErrRefreshStoreFull) {
		t.Fatalf("login into the full store again: %v", err)
	}
	for _, fam := range []string{"b", "c"} {
		if err := rotate(fam, 0, 1); !errors.Is(err, ErrRefreshRevoked) {
			t.Fatalf("revoked login %s in a full store: %v", fam, err)
		}
	}
	// A full store of live logins does not scan itself per refusal.
	sweeps := m.sweeps
	for i := range 1000 {
		_ = login("x"+strconv.Itoa(i), time.Hour)
		c.Add(time.Millisecond)
	}
	if m.sweeps-sweeps > 1 {
		t.Fatalf("1000 refused logins swept %d times", m.sweeps-sweeps)
	}
	if len(m.tokens) != 4 || len(m.logins) > 4 || len(m.revoked) > 4 {
		t.Fatalf("holds %d tokens, %d logins, %d revocations", len(m.tokens), len(m.logins), len(m.revoked))
	}
	// Past the end of every login, everything goes, revocations too.
	c.Add(25 * time.Hour)
	if err := login("e", time.Hour); err != nil {
		t.Fatalf("login after every other ended: %v", err)
	}
	if len(m.tokens) != 1 || len(m.logins) != 1 || len(m.revoked) != 0 {
		t.Fatalf("after the sweep: %d tokens, %d logins, %d revocations", len(m.tokens), len(m.logins), len(m.revoked))
	}
}

// TestMemoryRefreshStoreConcurrentBound: logins and refreshes from many
// goroutines never push the store past its bound.
func TestMemoryRefreshStoreConcurrentBound(t *testing.T) {
	t.Parallel()
	const bound = 300
	ctx := context.Background()
	m, _ := NewMemoryRefreshStoreWith(MemoryRefreshOptions{MaxEntries: bound})
	now := time.Now()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 60 {
				fam := strconv.Itoa(w) + "-" + strconv.Itoa(i)
				err := m.Create(ctx, fam+"/0", RefreshRecord{Family: fam, ExpiresAt: now.Add(time.Hour), FamilyExpiresAt: now.Add(time.Hour)})
				if errors.Is(err, ErrRefreshStoreFull) {
					continue
				}
				for j := range 5 {
					_, err := m.Rotate(ctx, Rotation{Family: fam, Hash: fam + "/" + strconv.Itoa(j), NextHash: fam + "/" + strconv.Itoa(j+1), Now: now, NextExpiresAt: now.Add(time.Hour)})
					if err != nil && !errors.Is(err, ErrRefreshStoreFull) {
						t.Error(err)
					}
					if err != nil {
						break
					}
				}
				if i%10 == 0 {
					_, _ = m.RevokeFamily(ctx, fam, now.Add(time.Hour))
				}
			}
		})
	}
	wg.Wait()
	if len(m.tokens) != bound || len(m.logins) > bound || len(m.revoked) > len(m.logins) {
		t.Fatalf("holds %d tokens, %d logins, %d revocations; bound %d", len(m.tokens), len(m.logins), len(m.revoked), bound)
	}
}

// TestFullRefreshStoreIs503: a login refused by a full store is
// ErrUnavailable, not a server error or an invalid grant.
func TestFullRefreshStoreIs503(t *testing.T) {
	t.Parallel()
	store, _ := NewMemoryRefreshStoreWith(MemoryRefreshOptions{MaxEntries: 1})
	iss, err := New(Options{Issuer: "https://auth.test", Audience: []string{"api"}, Refresh: store})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pair, err := iss.IssuePair(ctx, Grant{Subject: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := iss.IssuePair(ctx, Grant{Subject: "b"}); !errors.Is(err, authn.ErrUnavailable) || !errors.Is(err, errs.KindServiceUnavailable) {
		t.Fatalf("login into a full store: %v", err)
	}
	if _, err := iss.Refresh(ctx, pair.RefreshToken); !errors.Is(err, authn.ErrUnavailable) {
		t.Fatalf("refresh in a full store: %v", err)
	}
	if err := iss.RevokeLogin(ctx, pair.LoginID); err != nil {
		t.Fatalf("logout in a full store: %v", err)
	}
	if _, err := iss.Refresh(ctx, pair.RefreshToken); authn.Reason(err) != "revoked" {
		t.Fatalf("refresh after logout: %v", err)
	}
}

// BenchmarkMemoryRefreshStoreRotate is the store's part of a login and a
// refresh, over 20,000 logins in turn.
func BenchmarkMemoryRefreshStoreRotate(b *testing.B) {
	ctx := context.Background()
	now := time.Now()
	m := NewMemoryRefreshStore()
	fams := make([]string, 20_000)
	for i := range fams {
		fams[i] = strconv.Itoa(i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		fam := fams[i%len(fams)]
		rec := RefreshRecord{Family: fam, Grant: Grant{Subject: "s"}, ExpiresAt: now.Add(time.Hour), FamilyExpiresAt: now.Add(time.Hour)}
		if err := m.Create(ctx, fam+"a", rec); err != nil {
			b.Fatal(err)
		}
		if _, err := m.Rotate(ctx, Rotation{Family: fam, Hash: fam + "a", NextHash: fam + "b", Now: now, NextExpiresAt: now.Add(time.Hour)}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkMemoryRevocationsRevokeToken is a logout's write to the list.
func BenchmarkMemoryRevocationsRevokeToken(b *testing.B) {
	ctx := context.Background()
	m := NewMemoryRevocations(nil)
	exp := time.Now()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := m.RevokeToken(ctx, "s"+strconv.Itoa(i%1000), strconv.Itoa(i), exp); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// TestMemoryRefreshStoreSweptDuringRotate: a token whose login the sweep
// of a full store ends (the store's clock ahead of the Issuer's) is not
// rotated into a successor the store no longer knows the login of.
func TestMemoryRefreshStoreSweptDuringRotate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := &clock{t: time.Now()}
	m, _ := NewMemoryRefreshStoreWith(MemoryRefreshOptions{MaxEntries: 2, Now: c.Now})
	issuerNow := c.Now()
	_ = m.Create(ctx, "a0", RefreshRecord{Family: "a", Grant: Grant{Subject: "s"}, ExpiresAt: issuerNow.Add(time.Minute), FamilyExpiresAt: issuerNow.Add(time.Minute)})
	_ = m.Create(ctx, "b0", RefreshRecord{Family: "b", Grant: Grant{Subject: "s"}, ExpiresAt: issuerNow.Add(time.Hour), FamilyExpiresAt: issuerNow.Add(time.Hour)})
	c.Add(2 * time.Minute)
	_, err := m.Rotate(ctx, Rotation{Family: "a", Hash: "a0", NextHash: "a1", Now: issuerNow, NextExpiresAt: issuerNow.Add(time.Minute)})
	if !errors.Is(err, ErrRefreshUnknown) {
		t.Fatalf("rotation of a token the sweep removed: %v", err)
	}
	if _, held := m.tokens["a1"]; held || len(m.tokens) != 1 {
		t.Fatalf("store holds %d tokens, successor held: %v", len(m.tokens), held)
	}
}
