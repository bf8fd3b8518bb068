package password

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/covetgo/covet/errs"
	"golang.org/x/crypto/bcrypt"
)

func TestPasswords(t *testing.T) {
	t.Parallel()
	pw, err := New(Options{})
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
		{"bcrypt over 72 bytes is a wrong password, not a truncation", string(legacy72), long72 + "b", false, nil},
		{"over 1 KiB refused", h, strings.Repeat("x", MaxSize+1), false, ErrTooLong},
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
	if _, err := pw.Hash(ctx, strings.Repeat("x", MaxSize+1)); !errors.Is(err, ErrTooLong) {
		t.Fatalf("Hash of an oversized password: %v", err)
	}

	stronger, _ := New(Options{Iterations: 3})
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
	t.Parallel()
	for name, o := range map[string]Options{
		"weak memory":          {Memory: 1024},
		"huge memory":          {Memory: 1 << 22},
		"absurd iterations":    {Iterations: 1000},
		"negative concurrency": {MaxConcurrent: -1},
		"negative queue":       {MaxQueue: -1},
		"parallelism 65":       {Parallelism: 65},
		"parallelism 255":      {Parallelism: 255},
		"19 MiB, 1 iteration":  {Memory: 19456, Iterations: 1},
		"45 MiB, 1 iteration":  {Memory: 46080, Iterations: 1},
		"bcrypt cost 17":       {BcryptMaxCost: 17},
		"bcrypt cost 3":        {BcryptMaxCost: 3},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := New(o); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestPasswordConcurrencyBound(t *testing.T) {
	t.Parallel()
	pw, err := New(Options{MaxConcurrent: 1})
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

func TestPasswordOptionsOWASP(t *testing.T) {
	t.Parallel()
	for name, o := range map[string]Options{
		"46 MiB, 1 iteration":  {Memory: 47104, Iterations: 1},
		"19 MiB, 2 iterations": {Memory: 19456, Iterations: 2},
		"64 lanes":             {Parallelism: 64},
	} {
		t.Run(name, func(t *testing.T) {
			pw, err := New(o)
			if err != nil {
				t.Fatal(err)
			}
			h, err := pw.Hash(context.Background(), "pw")
			if err != nil {
				t.Fatal(err)
			}
			if ok, err := pw.Verify(context.Background(), h, "pw"); !ok || err != nil {
				t.Fatalf("a hash made with these options does not verify: %v, %v", ok, err)
			}
		})
	}
}

// TestPasswordHashBounds: stored hashes asking for more than a small
// multiple of the configured work are malformed, refused before hashing.
func TestPasswordHashBounds(t *testing.T) {
	t.Parallel()
	pw, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	h, _ := pw.Hash(ctx, "pw")
	legacy, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	for name, hash := range map[string]string{
		"argon2id memory over 4x":     strings.Replace(h, "m=19456", "m=77832", 1),
		"argon2id memory 1 GiB":       strings.Replace(h, "m=19456", "m=1048576", 1),
		"argon2id iterations over 4x": strings.Replace(h, "t=2", "t=9", 1),
		"argon2id lanes over 4x":      strings.Replace(h, "p=1", "p=5", 1),
		"bcrypt cost 13":              strings.Replace(string(legacy), "$04$", "$13$", 1),
		"bcrypt cost 31":              strings.Replace(string(legacy), "$04$", "$31$", 1),
	} {
		t.Run(name, func(t *testing.T) {
			if ok, err := pw.Verify(ctx, hash, "pw"); ok || !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("Verify(%s) = %v, %v; want ErrMalformedHash", hash, ok, err)
			}
		})
	}
	// Within the bounds, hashes verify (and need rehashing).
	within := strings.Replace(h, "t=2", "t=8", 1)
	if _, err := pw.Verify(ctx, within, "pw"); err != nil {
		t.Fatalf("t=8 hash: %v", err)
	}
	if !pw.NeedsRehash(within) {
		t.Fatal("t=8 hash does not need rehashing")
	}
}

// TestPasswordVerifyHonoursContext: Verify returns when its context ends,
// even in the middle of a hash.
func TestPasswordVerifyHonoursContext(t *testing.T) {
	t.Parallel()
	pw, err := New(Options{MaxConcurrent: 1})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := pw.Hash(context.Background(), "pw")
	slow := strings.Replace(h, "t=2", "t=8", 1) // four times the work
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if ok, err := pw.Verify(ctx, slow, "pw"); ok || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Verify past its deadline = %v, %v", ok, err)
	}
	canceled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if _, err := pw.Verify(canceled, h, "pw"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Verify with a canceled context: %v", err)
	}
}

// TestPasswordQueueBound: past MaxQueue waiting callers, Verify fails at
// once with a 503 that says when to retry.
func TestPasswordQueueBound(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		pw, err := New(Options{MaxConcurrent: 1, MaxQueue: 1})
		if err != nil {
			t.Fatal(err)
		}
		h, _ := pw.Hash(context.Background(), "pw")
		pw.sem <- struct{}{} // the only slot is busy
		waiter := make(chan error, 1)
		go func() {
			_, err := pw.Verify(context.Background(), h, "pw")
			waiter <- err
		}()
		synctest.Wait() // the waiter is queued for the slot
		if n := pw.waiting.Load(); n != 1 {
			t.Fatalf("%d callers waiting, want 1", n)
		}
		_, err = pw.Verify(context.Background(), h, "pw")
		var e *errs.Error
		if !errors.Is(err, ErrBusy) || !errors.As(err, &e) || e.Status() != 503 || e.Header().Get("Retry-After") == "" {
			t.Fatalf("Verify past the queue: %v", err)
		}
		pw.release()
		if err := <-waiter; err != nil {
			t.Fatalf("the queued caller: %v", err)
		}
	})
}

// TestPasswordAnswersAlike: every kind of account gives the same answer
// to the same kind of attempt.
func TestPasswordAnswersAlike(t *testing.T) {
	t.Parallel()
	pw, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	argon, _ := pw.Hash(ctx, "right password")
	legacy, _ := bcrypt.GenerateFromPassword([]byte("right password"), bcrypt.MinCost)
	accounts := map[string]string{"argon2id": argon, "bcrypt": string(legacy), "unknown": ""}
	for _, attempt := range []string{"wrong password", strings.Repeat("p", 73), strings.Repeat("p", 200), strings.Repeat("p", MaxSize+1)} {
		type answer struct {
			ok   bool
			code string
		}
		var first *answer
		for kind, hash := range accounts {
			ok, err := pw.Verify(ctx, hash, attempt)
			got := answer{ok: ok}
			if err != nil {
				got.code = errs.From(err).Code()
			}
			if first == nil {
				first = &got
			} else if got != *first {
				t.Errorf("a %d-byte attempt against a %s account answers %+v, other kinds %+v", len(attempt), kind, got, *first)
			}
		}
	}
}

// BenchmarkPasswordVerifyKinds times a wrong password against each kind of
// account; with the padding in Verify the kinds should take about as long.
func BenchmarkPasswordVerifyKinds(b *testing.B) {
	pw, err := New(Options{MaxConcurrent: 1})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	argon, _ := pw.Hash(ctx, "right password")
	legacy, _ := bcrypt.GenerateFromPassword([]byte("right password"), 10)
	for range 4 { // let Verify time each kind before measuring
		_, _ = pw.Verify(ctx, argon, "x")
		_, _ = pw.Verify(ctx, string(legacy), "x")
	}
	for _, k := range []struct{ name, hash, attempt string }{
		{"argon2id", argon, "wrong password"},
		{"bcrypt10", string(legacy), "wrong password"},
		{"bcrypt10-73bytes", string(legacy), strings.Repeat("p", 73)},
		{"unknown", "", "wrong password"},
	} {
		b.Run(k.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = pw.Verify(ctx, k.hash, k.attempt)
			}
		})
	}
}
