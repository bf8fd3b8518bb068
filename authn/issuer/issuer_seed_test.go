package issuer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/covetgo/covet/authn"
	"github.com/covetgo/covet/authn/jwt"
	"github.com/covetgo/covet/errs"
)

func seededIssuer(t *testing.T, alg string, seed []byte, c *clock) *Issuer {
	t.Helper()
	iss, err := New(Options{
		Issuer: "https://auth.test", Audience: []string{"api"}, Algorithm: alg,
		AccessTTL: 10 * time.Minute, RotateEvery: time.Hour, Now: c.Now, KeySeed: seed,
	})
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

// Two instances with one seed verify each other's tokens, across a
// scheduled rotation and with their clocks apart, without sharing state.
func TestIssuerKeySeedAcrossInstances(t *testing.T) {
	t.Parallel()
	seed := bytes.Repeat([]byte("s"), 32)
	for _, alg := range []string{"EdDSA", "ES256"} {
		t.Run(alg, func(t *testing.T) {
			// A is 59 minutes into a period; B runs 3 minutes ahead, in the next.
			base := time.Unix(0, 0).Add(1000*time.Hour + 59*time.Minute)
			ca, cb := &clock{t: base}, &clock{t: base.Add(3 * time.Minute)}
			a, b := seededIssuer(t, alg, seed, ca), seededIssuer(t, alg, seed, cb)
			// The clocks are 3 minutes apart: the verifiers allow for it.
			va, _ := a.Verifier(jwt.VerifierOptions{Leeway: 5 * time.Minute})
			vb, _ := b.Verifier(jwt.VerifierOptions{Leeway: 5 * time.Minute})
			ctx := context.Background()

			fromA, _, err := a.Issue(ctx, Grant{Subject: "alice"})
			if err != nil {
				t.Fatal(err)
			}
			fromB, _, err := b.Issue(ctx, Grant{Subject: "bob"})
			if err != nil {
				t.Fatal(err)
			}
			if kidOf(t, fromA) == kidOf(t, fromB) {
				t.Fatal("A and B sign in different periods but used the same key")
			}
			if _, err := vb.Verify(ctx, fromA); err != nil {
				t.Fatalf("B refused A's token signed with the retiring key: %v (%s)", err, authn.Reason(err))
			}
			if _, err := va.Verify(ctx, fromB); err != nil {
				t.Fatalf("A refused B's token signed with the next key: %v (%s)", err, authn.Reason(err))
			}

			// Both move on past the rotation: same signing key again.
			ca.Add(10 * time.Minute)
			cb.Add(7 * time.Minute)
			t1, _, _ := a.Issue(ctx, Grant{Subject: "alice"})
			t2, _, _ := b.Issue(ctx, Grant{Subject: "alice"})
			if kidOf(t, t1) != kidOf(t, t2) {
				t.Fatal("instances in the same period sign with different keys")
			}
			// A token from the old period still verifies until it expires.
			if _, err := vb.Verify(ctx, fromA); err != nil {
				t.Fatalf("a live token of the previous period was refused after rotation: %v", err)
			}

			// A new instance started later derives the same keys.
			late := seededIssuer(t, alg, seed, &clock{t: ca.Now()})
			vl, _ := late.Verifier(jwt.VerifierOptions{})
			if _, err := vl.Verify(ctx, t1); err != nil {
				t.Fatalf("a late instance refused a current token: %v", err)
			}

			// Another seed shares nothing.
			other := seededIssuer(t, alg, bytes.Repeat([]byte("x"), 32), &clock{t: ca.Now()})
			vo, _ := other.Verifier(jwt.VerifierOptions{})
			if _, err := vo.Verify(ctx, t1); err == nil {
				t.Fatal("an issuer with another seed accepted the token")
			}
		})
	}
}

func TestIssuerKeySeedOptions(t *testing.T) {
	t.Parallel()
	_, err := New(Options{Issuer: "i", Audience: []string{"a"}, KeySeed: []byte("short")})
	if !errors.Is(err, errs.KindConfiguration) {
		t.Fatalf("a short seed: %v", err)
	}
	iss := seededIssuer(t, "EdDSA", bytes.Repeat([]byte("s"), 32), &clock{t: time.Now()})
	if err := iss.Rotate(); !errors.Is(err, errs.KindConfiguration) {
		t.Fatalf("Rotate with a seed: %v", err)
	}
}

func kidOf(t *testing.T, token string) string {
	t.Helper()
	var h struct{ Kid string }
	if err := json.Unmarshal(mustB64(t, token[:indexByte(token, '.')]), &h); err != nil || h.Kid == "" {
		t.Fatalf("no kid in %q: %v", token, err)
	}
	return h.Kid
}
