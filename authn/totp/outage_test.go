package totp

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/covetgo/covet/authn"
	"github.com/covetgo/covet/authn/internal/redistest"
	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/internal/testsvc"
	"github.com/redis/go-redis/v9"
)

// Every store call is bounded: with the Redis paused (SIGSTOP) or killed,
// Verify and VerifyRecoveryCode fail within the store timeout with 503,
// never 401 or 403.
func TestFailsFastWhenRedisIsDown(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"paused", "killed"} {
		t.Run(mode, func(t *testing.T) {
			child := testsvc.StartRedis(t)
			rdb := redistest.ChildClient(t, child, nil)
			store, err := NewRedisStore(rdb, authn.RedisOptions{Prefix: "t:", Timeout: 200 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			tp, err := New(Options{Issuer: "x", Store: store, Recovery: store})
			if err != nil {
				t.Fatal(err)
			}
			if mode == "paused" {
				child.Pause()
			} else {
				child.Kill()
			}
			ctx := context.Background()
			calls := map[string]func() error{
				"Verify":             func() error { _, err := tp.Verify(ctx, "down", "JBSWY3DPEHPK3PXP", "123456"); return err },
				"VerifyRecoveryCode": func() error { return tp.VerifyRecoveryCode(ctx, "down", "abcde-fghjk") },
			}
			for name, call := range calls {
				start := time.Now()
				err := call()
				took := time.Since(start)
				if !errors.Is(err, authn.ErrUnavailable) || errs.From(err).Status() != http.StatusServiceUnavailable || errs.From(err).Header().Get("Retry-After") == "" {
					t.Errorf("%s with Redis %s: %v, want ErrUnavailable (503, Retry-After)", name, mode, err)
				}
				// A hang check, not a speed claim: the bound is five times
				// the store timeout.
				if took > time.Second {
					t.Errorf("%s with Redis %s took %s", name, mode, took)
				}
			}
		})
	}
}

func TestRedisStoreRefusesUnboundedClients(t *testing.T) {
	t.Parallel()
	noCtx := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer func() { _ = noCtx.Close() }()
	ok := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	defer func() { _ = ok.Close() }()
	for _, bad := range []struct {
		c redis.UniversalClient
		o authn.RedisOptions
	}{
		{noCtx, authn.RedisOptions{Prefix: "p:"}},
		{ok, authn.RedisOptions{}},
		{ok, authn.RedisOptions{Prefix: "p:{x}:"}},
		{ok, authn.RedisOptions{Prefix: "p:", Timeout: -1}},
		{ok, authn.RedisOptions{Prefix: "p:", Timeout: time.Minute}},
		{nil, authn.RedisOptions{Prefix: "p:"}},
	} {
		if _, err := NewRedisStore(bad.c, bad.o); !errors.Is(err, errs.KindConfiguration) {
			t.Errorf("accepted %+v: %v", bad.o, err)
		}
	}
	if _, err := NewRedisStore(ok, authn.RedisOptions{Prefix: "p:"}); err != nil {
		t.Error(err)
	}
}

// go-redis resends the TOTP step compare-and-swap after a read timeout; when
// the server was only stalled, both copies run. The second must not refuse
// the first's step as a replay.
func TestTOTPStepRetriedAcrossStall(t *testing.T) {
	t.Parallel()
	child := testsvc.StartRedis(t)
	rdb := redistest.ChildClient(t, child, func(o *redis.Options) {
		o.ReadTimeout = 300 * time.Millisecond
		o.MaxRetries = 3
	})
	store, err := NewRedisStore(rdb, authn.RedisOptions{Prefix: "t:", Timeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := store.UseStep(ctx, "warm", 1); err != nil { // loads the script
		t.Fatal(err)
	}
	child.Pause()
	type result struct {
		ok  bool
		err error
	}
	done := make(chan result, 1)
	go func() {
		ok, err := store.UseStep(ctx, "acct", 100)
		done <- result{ok, err}
	}()
	time.Sleep(450 * time.Millisecond) // the first copy timed out; the second waits
	child.Resume()
	r := <-done
	if r.err != nil || !r.ok {
		t.Fatalf("UseStep across a stall = %v, %v; want true (its own retry is no replay)", r.ok, r.err)
	}
	if ok, _ := store.UseStep(ctx, "acct", 100); ok {
		t.Fatal("the step was accepted twice by separate calls")
	}
}

// The same for a recovery code: the retried SREM must not report the code
// its first copy consumed as wrong.
func TestRecoveryCodeRetriedAcrossStall(t *testing.T) {
	t.Parallel()
	child := testsvc.StartRedis(t)
	rdb := redistest.ChildClient(t, child, func(o *redis.Options) {
		o.ReadTimeout = 300 * time.Millisecond
		o.MaxRetries = 3
	})
	store, err := NewRedisStore(rdb, authn.RedisOptions{Prefix: "t:", Timeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := store.SetRecoveryCodes(ctx, "acct", []string{"h1", "h2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.ConsumeRecoveryCode(ctx, "acct", "h2"); err != nil { // loads the script
		t.Fatal(err)
	}
	child.Pause()
	type result struct {
		ok  bool
		err error
	}
	done := make(chan result, 1)
	go func() {
		ok, err := store.ConsumeRecoveryCode(ctx, "acct", "h1")
		done <- result{ok, err}
	}()
	time.Sleep(450 * time.Millisecond)
	child.Resume()
	if r := <-done; r.err != nil || !r.ok {
		t.Fatalf("ConsumeRecoveryCode across a stall = %v, %v; want true", r.ok, r.err)
	}
	if ok, _ := store.ConsumeRecoveryCode(ctx, "acct", "h1"); ok {
		t.Fatal("a recovery code worked twice")
	}
}
