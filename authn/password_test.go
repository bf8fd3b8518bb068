package authn

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func TestPasswords(t *testing.T) {
	pw, err := NewPasswords(PasswordOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	h, err := pw.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q is not an OWASP-parameter Argon2id PHC string", h)
	}
	h2, _ := pw.Hash(ctx, "correct horse battery staple")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: salt missing")
	}
	legacy, _ := bcrypt.GenerateFromPassword([]byte("old password"), bcrypt.MinCost)
	long72 := strings.Repeat("a", 72)
	legacy72, _ := bcrypt.GenerateFromPassword([]byte(long72), bcrypt.MinCost)
	cases := []struct {
		name     string
		hash, pw string
		ok       bool
		err      error
	}{
		{"argon2id match", h, "correct horse battery staple", true, nil},
		{"argon2id mismatch", h, "correct horse battery stapler", false, nil},
		{"argon2id empty password", h, "", false, nil},
		{"bcrypt match", string(legacy), "old password", true, nil},
		{"bcrypt mismatch", string(legacy), "old passwore", false, nil},
		{"bcrypt at 72 bytes", string(legacy72), long72, true, nil},
		{"bcrypt over 72 bytes is an error, not a truncation", string(legacy72), long72 + "b", false, ErrPasswordTooLong},
		{"over 1 KiB refused", h, strings.Repeat("x", MaxPasswordSize+1), false, ErrPasswordTooLong},
		{"unknown user", "", "correct horse battery staple", false, nil},
		{"malformed: plain text", "hunter2", "hunter2", false, ErrMalformedHash},
		{"malformed: argon2i", strings.Replace(h, "argon2id", "argon2i", 1), "x", false, ErrMalformedHash},
		{"malformed: version", strings.Replace(h, "v=19", "v=16", 1), "x", false, ErrMalformedHash},
		{"malformed: huge memory", strings.Replace(h, "m=19456", "m=4294967295", 1), "x", false, ErrMalformedHash},
		{"malformed: zero time", strings.Replace(h, "t=2", "t=0", 1), "x", false, ErrMalformedHash},
		{"malformed: salt", h[:strings.LastIndex(h, "$")-3] + "!!" + h[strings.LastIndex(h, "$"):], "x", false, ErrMalformedHash},
		{"malformed: extra field", h + "$x", "x", false, ErrMalformedHash},
		{"malformed: bcrypt", "$2b$10$short", "x", false, ErrMalformedHash},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := pw.Verify(ctx, tc.hash, tc.pw)
			if ok != tc.ok || !errors.Is(err, tc.err) {
				t.Fatalf("Verify = %v, %v; want %v, %v", ok, err, tc.ok, tc.err)
			}
		})
	}
	if _, err := pw.Hash(ctx, strings.Repeat("x", MaxPasswordSize+1)); !errors.Is(err, ErrPasswordTooLong) {
		t.Fatalf("Hash of an oversized password: %v", err)
	}

	stronger, _ := NewPasswords(PasswordOptions{Iterations: 3})
	rehash := []struct {
		name string
		hash string
		want bool
	}{
		{"current parameters", h, false},
		{"bcrypt", string(legacy), true},
		{"malformed", "nonsense", true},
	}
	for _, tc := range rehash {
		t.Run("NeedsRehash/"+tc.name, func(t *testing.T) {
			if got := pw.NeedsRehash(tc.hash); got != tc.want {
				t.Fatalf("NeedsRehash = %v", got)
			}
		})
	}
	if !stronger.NeedsRehash(h) {
		t.Fatal("a t=2 hash does not need rehashing at t=3")
	}
}

func TestPasswordOptionsRefused(t *testing.T) {
	for name, o := range map[string]PasswordOptions{
		"weak memory":          {Memory: 1024},
		"huge memory":          {Memory: 1 << 22},
		"absurd iterations":    {Iterations: 1000},
		"negative concurrency": {MaxConcurrent: -1},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := NewPasswords(o); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestPasswordConcurrencyBound(t *testing.T) {
	pw, err := NewPasswords(PasswordOptions{MaxConcurrent: 1})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := pw.Hash(context.Background(), "pw")
	// Hold the only slot, then a caller with a short deadline gives up.
	pw.sem <- struct{}{}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := pw.Verify(ctx, h, "pw"); !errors.Is(err, context.DeadlineExceeded) && err == nil {
		t.Fatalf("Verify with a full semaphore: %v", err)
	}
	pw.release()
	// With the slot free, parallel callers are serialized, never more
	// than one at a time in the hash.
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if ok, err := pw.Verify(context.Background(), h, "pw"); !ok || err != nil {
				t.Errorf("Verify = %v, %v", ok, err)
			}
		})
	}
	wg.Wait()
	if len(pw.sem) != 0 {
		t.Fatal("semaphore slot leaked")
	}
}
