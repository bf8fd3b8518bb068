package totp

import (
	"context"
	"encoding/base32"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/covetgo/covet/authn"
)

// TestTOTPRFC6238Vectors checks every test vector of RFC 6238 Appendix B
// (8 digits; SHA-1, SHA-256 and SHA-512, each with its own seed) through
// Verify, and that each algorithm refuses the others' codes.
func TestTOTPRFC6238Vectors(t *testing.T) {
	t.Parallel()
	seeds := map[string]string{
		"SHA1":   "12345678901234567890",
		"SHA256": "12345678901234567890123456789012",
		"SHA512": "1234567890123456789012345678901234567890123456789012345678901234",
	}
	vectors := []struct {
		unix                 int64
		sha1, sha256, sha512 string
	}{
		{59, "94287082", "46119246", "90693936"},
		{1111111109, "07081804", "68084774", "25091201"},
		{1111111111, "14050471", "67062674", "99943326"},
		{1234567890, "89005924", "91819424", "93441116"},
		{2000000000, "69279037", "90698825", "38618901"},
		{20000000000, "65353130", "77737706", "47863826"},
	}
	for _, alg := range []string{"SHA1", "SHA256", "SHA512"} {
		t.Run(alg, func(t *testing.T) {
			secret := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString([]byte(seeds[alg]))
			for _, v := range vectors {
				want := map[string]string{"SHA1": v.sha1, "SHA256": v.sha256, "SHA512": v.sha512}
				now := time.Unix(v.unix, 0)
				store := NewMemoryStore(func() time.Time { return now })
				tp, err := New(Options{Issuer: "RFC", Store: store, Algorithm: alg, Digits: 8, Now: func() time.Time { return now }})
				if err != nil {
					t.Fatal(err)
				}
				ctx := context.Background()
				// Another algorithm's code for the same time is refused
				// (the three codes differ at every vector).
				for other, c := range want {
					if other == alg {
						continue
					}
					if _, err := tp.Verify(ctx, "acct", secret, c); authn.Reason(err) != "mismatch" {
						t.Fatalf("T=%d: the %s code %s gave %v", v.unix, other, c, err)
					}
				}
				step, err := tp.Verify(ctx, "acct", secret, want[alg])
				if err != nil {
					t.Fatalf("T=%d: %s refused: %v (%s)", v.unix, want[alg], err, authn.Reason(err))
				}
				if step != v.unix/30 {
					t.Fatalf("T=%d: matched step %d, want %d", v.unix, step, v.unix/30)
				}
			}
		})
	}
}

// The default stays what authenticator apps expect: SHA-1 and 6 digits
// (the last six digits of the RFC's 8-digit SHA-1 vector).
func TestTOTPDefaultIsSHA1SixDigits(t *testing.T) {
	t.Parallel()
	secret := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString([]byte("12345678901234567890"))
	now := time.Unix(1111111109, 0)
	tp, err := New(Options{Issuer: "RFC", Store: NewMemoryStore(nil), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tp.Verify(context.Background(), "a", secret, "07081804"); authn.Reason(err) != "malformed" {
		t.Fatalf("8 digits with the default options: %v", err)
	}
	if _, err := tp.Verify(context.Background(), "a", secret, "081804"); err != nil {
		t.Fatalf("6-digit SHA-1 code: %v", err)
	}
	e, _ := tp.Enroll("a")
	if raw, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(e.Secret); len(raw) != 20 {
		t.Fatalf("default secret has %d bytes", len(raw))
	}
}

func TestTOTPEnrollCarriesOptions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		alg   string
		bytes int
	}{{"SHA256", 32}, {"SHA512", 64}} {
		tp, err := New(Options{Issuer: "Covet", Store: NewMemoryStore(nil), Algorithm: tc.alg, Digits: 8})
		if err != nil {
			t.Fatal(err)
		}
		e, err := tp.Enroll("alice")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(e.URL, "algorithm="+tc.alg) || !strings.Contains(e.URL, "digits=8") {
			t.Fatalf("URL %s", e.URL)
		}
		raw, _ := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(e.Secret)
		if len(raw) != tc.bytes {
			t.Fatalf("%s secret has %d bytes, want %d", tc.alg, len(raw), tc.bytes)
		}
	}
	for _, o := range []Options{{Algorithm: "MD5"}, {Digits: 7}, {Digits: 10}} {
		o.Issuer, o.Store = "x", NewMemoryStore(nil)
		if _, err := New(o); err == nil {
			t.Fatalf("New(%+v) accepted", o.Algorithm+"/"+strconv.Itoa(o.Digits))
		}
	}
}
