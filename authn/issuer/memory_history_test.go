package issuer

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"
)

// TestMemoryRefreshStoreLongLogins: a login that refreshes every access
// token lifetime for months keeps a bounded history, so long-lived logins
// do not fill the store and lock new logins out. The last used tokens are
// still remembered, so their reuse revokes the login; an older one is
// refused as unknown.
func TestMemoryRefreshStoreLongLogins(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := &clock{t: time.Now()}
	m, err := NewMemoryRefreshStoreWith(MemoryRefreshOptions{MaxEntries: 100, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	grant := Grant{Subject: "alice"}
	refresh := func(family, hash, next string) error {
		_, err := m.Rotate(ctx, Rotation{Family: family, Hash: hash, NextHash: next, Now: c.Now(),
			NextExpiresAt: c.Now().Add(14 * 24 * time.Hour), Grace: 10 * time.Second})
		return err
	}
	// Ten logins, each refreshed 50 times, 15 minutes apart.
	for l := range 10 {
		family := "family" + strconv.Itoa(l)
		rec := RefreshRecord{Family: family, Grant: grant, ExpiresAt: c.Now().Add(14 * 24 * time.Hour), FamilyExpiresAt: c.Now().Add(90 * 24 * time.Hour)}
		if err := m.Create(ctx, family+"/0", rec); err != nil {
			t.Fatalf("login %d: %v", l, err)
		}
	}
	for i := range 50 {
		c.Add(15 * time.Minute)
		for l := range 10 {
			family := "family" + strconv.Itoa(l)
			if err := refresh(family, family+"/"+strconv.Itoa(i), family+"/"+strconv.Itoa(i+1)); err != nil {
				t.Fatalf("login %d, refresh %d: %v", l, i, err)
			}
		}
	}
	rec := RefreshRecord{Family: "new", Grant: grant, ExpiresAt: c.Now().Add(14 * 24 * time.Hour), FamilyExpiresAt: c.Now().Add(90 * 24 * time.Hour)}
	if err := m.Create(ctx, "new/0", rec); err != nil {
		t.Fatalf("a new login after long ones: %v", err)
	}
	// The token used last is remembered: its reuse ends the login.
	c.Add(time.Minute)
	if err := refresh("family0", "family0/49", "family0/x"); !errors.Is(err, ErrRefreshReused) {
		t.Fatalf("reuse of the last used token: %v", err)
	}
	// The first token of another login is long forgotten: refused, and its
	// login goes on.
	if err := refresh("family1", "family1/0", "family1/y"); !errors.Is(err, ErrRefreshUnknown) {
		t.Fatalf("a token from 50 refreshes ago: %v", err)
	}
	if err := refresh("family1", "family1/50", "family1/51"); err != nil {
		t.Fatalf("the login after an old token was refused: %v", err)
	}
}
