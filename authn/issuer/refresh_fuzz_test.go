package issuer

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// FuzzRefreshToken: whatever a client sends as a refresh token, Refresh
// answers ErrInvalidGrant (or, for the one real token, a new pair) and
// Revoke does nothing harmful; nothing panics.
func FuzzRefreshToken(f *testing.F) {
	ctx := context.Background()
	store := NewMemoryRefreshStore()
	iss, err := New(Options{Issuer: "https://auth.test", Audience: []string{"api"}, Refresh: store})
	if err != nil {
		f.Fatal(err)
	}
	pair, err := iss.IssuePair(ctx, Grant{Subject: "fuzz"})
	if err != nil {
		f.Fatal(err)
	}
	real := pair.RefreshToken
	f.Add(real)
	f.Add(real[:len(real)-1] + "A")
	f.Add(strings.ToUpper(real))
	f.Add("rt_" + strings.Repeat("g", 32) + "_" + strings.Repeat("A", 43))
	f.Add("rt_")
	f.Add("")
	f.Add(strings.Repeat("rt_", 100))
	f.Fuzz(func(t *testing.T, tok string) {
		got, err := iss.Refresh(ctx, tok)
		if err == nil {
			if tok != real || got.RefreshToken == "" {
				t.Fatalf("Refresh(%q) succeeded", tok)
			}
			return
		}
		if !errors.Is(err, ErrInvalidGrant) {
			t.Fatalf("Refresh(%q): %v, want ErrInvalidGrant", tok, err)
		}
		if tok != real {
			if err := iss.Revoke(ctx, tok); err != nil {
				t.Fatalf("Revoke(%q): %v", tok, err)
			}
		}
	})
}
