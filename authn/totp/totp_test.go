package totp

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/covetgo/covet/authn"
	"github.com/covetgo/covet/authn/internal/redistest"
	potp "github.com/pquerna/otp/totp"
)

func newTestTOTP(t *testing.T, now *time.Time) (*Verifier, *MemoryStore) {
	t.Helper()
	clock := func() time.Time { return *now }
	store := NewMemoryStore(clock)
	tp, err := New(Options{Issuer: "Covet", Store: store, Recovery: store, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	return tp, store
}

func code(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := potp.GenerateCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTOTP(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	tp, _ := newTestTOTP(t, &now)
	ctx := context.Background()
	e, err := tp.Enroll("alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(e.URL, "otpauth://totp/Covet:alice@example.com?") || !strings.Contains(e.URL, "secret="+e.Secret) {
		t.Fatalf("URL = %s", e.URL)
	}
	step := now.Unix() / 30
	steps := []struct {
		name     string
		at       time.Time // when the code was generated
		wantStep int64
		reason   string
	}{
		{"previous step within skew", now.Add(-30 * time.Second), step - 1, ""},
		{"current step", now, step, ""},
		{"replay of the current step", now, 0, "replayed"},
		{"older step after a newer one", now.Add(-30 * time.Second), 0, "replayed"},
		{"next step within skew", now.Add(30 * time.Second), step + 1, ""},
		{"two steps ahead is outside the skew", now.Add(60 * time.Second), 0, "mismatch"},
	}
	for _, tc := range steps {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tp.Verify(ctx, "alice", e.Secret, code(t, e.Secret, tc.at))
			if tc.reason == "" {
				if err != nil || got != tc.wantStep {
					t.Fatalf("Verify = %d, %v; want step %d", got, err, tc.wantStep)
				}
				return
			}
			if !errors.Is(err, ErrInvalidCode) || authn.Reason(err) != tc.reason {
				t.Fatalf("Verify = %d, %v (reason %q); want %s", got, err, authn.Reason(err), tc.reason)
			}
		})
	}
	for i, bad := range []string{"", "12345", "1234567", "12a456", "１２３４５６", strings.Repeat("9", 1000)} {
		if _, err := tp.Verify(ctx, "bob"+string(rune('a'+i)), e.Secret, bad); authn.Reason(err) != "malformed" {
			t.Fatalf("code %.20q: %v", bad, err)
		}
	}
}

func TestTOTPAttemptLimit(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	tp, _ := newTestTOTP(t, &now)
	ctx := context.Background()
	e, _ := tp.Enroll("carol")
	good := code(t, e.Secret, now)
	wrong := "000000"
	if wrong == good {
		wrong = "111111"
	}
	for i := range 5 {
		if _, err := tp.Verify(ctx, "carol", e.Secret, wrong); !errors.Is(err, ErrInvalidCode) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if _, err := tp.Verify(ctx, "carol", e.Secret, good); !errors.Is(err, ErrTooManyAttempts) {
		t.Fatalf("after 5 failures the right code gave %v, want ErrTooManyAttempts", err)
	}
	now = now.Add(16 * time.Minute)
	if _, err := tp.Verify(ctx, "carol", e.Secret, code(t, e.Secret, now)); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

// Two concurrent uses of one code: exactly one succeeds.
func TestTOTPRace(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	for trial := range 50 {
		tp, _ := newTestTOTP(t, &now)
		e, _ := tp.Enroll("dave")
		c := code(t, e.Secret, now)
		var wins atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range 2 {
			wg.Go(func() {
				<-start
				if _, err := tp.Verify(context.Background(), "dave", e.Secret, c); err == nil {
					wins.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("trial %d: %d concurrent uses succeeded, want exactly 1", trial, wins.Load())
		}
	}
}

func TestRecoveryCodes(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	tp, store := newTestTOTP(t, &now)
	ctx := context.Background()
	codes, hashes, err := NewRecoveryCodes(10)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i, c := range codes {
		if len(c) != 11 || c[5] != '-' || seen[c] {
			t.Fatalf("code %q malformed or repeated", c)
		}
		seen[c] = true
		if strings.Contains(hashes[i], c) || len(hashes[i]) != 64 {
			t.Fatalf("hash %q", hashes[i])
		}
	}
	store.SetRecoveryCodes("erin", hashes)
	if err := tp.VerifyRecoveryCode(ctx, "erin", strings.ToUpper(strings.ReplaceAll(codes[0], "-", " "))); err != nil {
		t.Fatalf("normalized code refused: %v", err)
	}
	if err := tp.VerifyRecoveryCode(ctx, "erin", codes[0]); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("second use of a recovery code: %v", err)
	}
	if err := tp.VerifyRecoveryCode(ctx, "frank", codes[1]); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("another account's code: %v", err)
	}
	if err := tp.VerifyRecoveryCode(ctx, "erin", codes[1]); err != nil {
		t.Fatalf("second code: %v", err)
	}
	if _, _, err := NewRecoveryCodes(0); err == nil {
		t.Fatal("NewRecoveryCodes(0) accepted")
	}
}

func TestTOTPOptionsRefused(t *testing.T) {
	t.Parallel()
	store := NewMemoryStore(nil)
	for name, o := range map[string]Options{
		"no issuer":    {Store: store},
		"colon issuer": {Issuer: "a:b", Store: store},
		"no store":     {Issuer: "x"},
		"big skew":     {Issuer: "x", Store: store, Skew: 5},
		"negative max": {Issuer: "x", Store: store, MaxFailures: -1},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := New(o); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func redisTOTPStores(t *testing.T) map[string]*RedisStore {
	t.Helper()
	out := map[string]*RedisStore{}
	for name, rdb := range redistest.Targets(t) {
		s, err := NewRedisStore(rdb, authn.RedisOptions{Prefix: redistest.Prefix(t, rdb), Timeout: redistest.StoreTimeout})
		if err != nil {
			t.Fatal(err)
		}
		out[name] = s
	}
	return out
}

// TestTOTPRedis runs replay, race, limits and recovery codes against a
// real Redis node and a real Redis Cluster.
func TestTOTPRedis(t *testing.T) {
	t.Parallel()
	for name, store := range redisTOTPStores(t) {
		t.Run(name, func(t *testing.T) { testTOTPRedis(t, store) })
	}
}

func testTOTPRedis(t *testing.T, store *RedisStore) {
	now := time.Unix(1_800_000_000, 0)
	tp, err := New(Options{Issuer: "Covet", Store: store, Recovery: store, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	e, _ := tp.Enroll("alice")
	c := code(t, e.Secret, now)
	if _, err := tp.Verify(ctx, "alice", e.Secret, c); err != nil {
		t.Fatalf("first use: %v", err)
	}
	if _, err := tp.Verify(ctx, "alice", e.Secret, c); authn.Reason(err) != "replayed" {
		t.Fatalf("replay: %v", err)
	}
	if _, err := tp.Verify(ctx, "alice", e.Secret, code(t, e.Secret, now.Add(-30*time.Second))); authn.Reason(err) != "replayed" {
		t.Fatalf("older step: %v", err)
	}
	for trial := range 20 {
		account := "race-" + strconv.Itoa(trial)
		var wins atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range 2 {
			wg.Go(func() {
				<-start
				if _, err := tp.Verify(ctx, account, e.Secret, c); err == nil {
					wins.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("trial %d: %d concurrent uses succeeded", trial, wins.Load())
		}
	}
	wrong := "000000"
	if wrong == c {
		wrong = "111111"
	}
	for range 5 {
		_, _ = tp.Verify(ctx, "bob", e.Secret, wrong)
	}
	if _, err := tp.Verify(ctx, "bob", e.Secret, c); !errors.Is(err, ErrTooManyAttempts) {
		t.Fatalf("after 5 failures: %v", err)
	}
	codes, hashes, _ := NewRecoveryCodes(3)
	if err := store.SetRecoveryCodes(ctx, "carol", hashes); err != nil {
		t.Fatal(err)
	}
	if err := tp.VerifyRecoveryCode(ctx, "carol", codes[2]); err != nil {
		t.Fatalf("recovery code: %v", err)
	}
	if err := tp.VerifyRecoveryCode(ctx, "carol", codes[2]); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("recovery code reused: %v", err)
	}
}

// slowCountStore delays every failure count, as a network store does, so
// concurrent guesses overlap between the limit check and the count.
type slowCountStore struct{ *MemoryStore }

func (s slowCountStore) AddFailure(ctx context.Context, account string, window time.Duration) (int, error) {
	time.Sleep(2 * time.Millisecond)
	return s.MemoryStore.AddFailure(ctx, account, window)
}

// Concurrent wrong guesses cannot get more codes checked than the limit.
// The slow in-memory store runs in a synctest bubble, so its delay is fake
// time and every guess overlaps the others deterministically.
func TestTOTPConcurrentGuessesStayUnderLimit(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	t.Run("memory (slow)", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			guessConcurrently(t, slowCountStore{NewMemoryStore(clock)}, now)
		})
	})
	for name, store := range redisTOTPStores(t) {
		t.Run(name, func(t *testing.T) { guessConcurrently(t, store, now) })
	}
}

// guessConcurrently sends 100 wrong codes at once and fails when more than
// MaxFailures (5) of them were checked.
func guessConcurrently(t *testing.T, store Store, now time.Time) {
	tp, err := New(Options{Issuer: "Covet", Store: store, MaxFailures: 5, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	e, _ := tp.Enroll("dave")
	wrong := "000000"
	if wrong == code(t, e.Secret, now) {
		wrong = "111111"
	}
	var checked atomic.Int32
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			_, err := tp.Verify(context.Background(), "dave", e.Secret, wrong)
			if errors.Is(err, ErrInvalidCode) {
				checked.Add(1)
			} else if !errors.Is(err, ErrTooManyAttempts) {
				t.Errorf("unexpected %v", err)
			}
		})
	}
	wg.Wait()
	if n := checked.Load(); n > 5 {
		t.Fatalf("%d guesses were checked with MaxFailures 5", n)
	}
}
