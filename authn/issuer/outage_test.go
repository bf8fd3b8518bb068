package issuer

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/covetgo/covet/authn"
	"github.com/covetgo/covet/authn/internal/redistest"
	"github.com/covetgo/covet/authn/jwt"
	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/internal/testsvc"
	"github.com/redis/go-redis/v9"
)

// go-redis retries a script after a read timeout; when the server was only
// stalled, it then runs the rotation twice. The second run must answer the
// same successor, not see the first run's rotation as reuse and revoke the
// login, and the client's own retry must get that successor too.
func TestRefreshRetriedAcrossStallDoesNotRevoke(t *testing.T) {
	t.Parallel()
	child := testsvc.StartRedis(t)
	rdb := redistest.ChildClient(t, child, func(o *redis.Options) {
		o.ReadTimeout = 100 * time.Millisecond // shorter than the stall
		o.MaxRetries = 3
	})
	store, err := NewRedisRefreshStore(rdb, authn.RedisOptions{Prefix: "t:", Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	iss, err := New(Options{Issuer: "https://auth.test", Audience: []string{"api"}, Refresh: store})
	if err != nil {
		t.Fatal(err)
	}
	pair, err := iss.IssuePair(ctx, Grant{Subject: "stall"})
	if err != nil {
		t.Fatal(err)
	}
	if pair, err = iss.Refresh(ctx, pair.RefreshToken); err != nil { // loads the script
		t.Fatal(err)
	}
	child.Pause()
	done := make(chan error, 1)
	go func() {
		_, err := iss.Refresh(ctx, pair.RefreshToken)
		done <- err
	}()
	// Let go-redis time out and resend the script several times, then
	// let the server run every copy it received.
	time.Sleep(600 * time.Millisecond)
	child.Resume()
	if err := <-done; err != nil && !errors.Is(err, authn.ErrUnavailable) {
		t.Fatalf("refresh across the stall: %v (%s), want success or authn.ErrUnavailable", err, authn.Reason(err))
	}
	next, err := iss.Refresh(ctx, pair.RefreshToken) // the client retries
	if err != nil {
		t.Fatalf("client retry after the stall: %v (%s): the login was lost", err, authn.Reason(err))
	}
	if _, err := iss.Refresh(ctx, next.RefreshToken); err != nil {
		t.Fatalf("the successor after the stall: %v (%s)", err, authn.Reason(err))
	}
}

// Every store call is bounded: with the Redis paused (SIGSTOP) or killed,
// each store fails within its timeout, and the library answers 503, never
// 401 or 403.
func TestStoresFailFastWhenRedisIsDown(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"paused", "killed"} {
		t.Run(mode, func(t *testing.T) {
			child := testsvc.StartRedis(t)
			rdb := redistest.ChildClient(t, child, nil)
			opts := authn.RedisOptions{Prefix: "t:", Timeout: 200 * time.Millisecond}
			refresh, _ := NewRedisRefreshStore(rdb, opts)
			revoked, _ := NewRedisRevocations(rdb, opts)
			ctx := context.Background()
			iss, err := New(Options{Issuer: "https://auth.test", Audience: []string{"api"}, Refresh: refresh, Revocations: revoked})
			if err != nil {
				t.Fatal(err)
			}
			v, _ := iss.Verifier(jwt.VerifierOptions{CacheSize: 10})
			var pair TokenPair
			setup(t, func() (err error) { pair, err = iss.IssuePair(ctx, Grant{Subject: "down"}); return err })
			setup(t, func() error { _, err := v.Verify(ctx, pair.AccessToken); return err }) // cached now
			if mode == "paused" {
				child.Pause()
			} else {
				child.Kill()
			}
			calls := map[string]func() error{
				"Refresh":         func() error { _, err := iss.Refresh(ctx, pair.RefreshToken); return err },
				"Verify (cached)": func() error { _, err := v.Verify(ctx, pair.AccessToken); return err },
				"IssuePair":       func() error { _, err := iss.IssuePair(ctx, Grant{Subject: "down"}); return err },
				"Logout": func() error {
					p, _ := iss.Verifier(jwt.VerifierOptions{})
					_ = p
					return iss.RevokeLogin(ctx, pair.LoginID)
				},
				"RevokeSubject": func() error { return iss.RevokeSubject(ctx, "down", time.Now()) },
			}
			for name, call := range calls {
				start := time.Now()
				err := call()
				took := time.Since(start)
				if !errors.Is(err, authn.ErrUnavailable) || errs.From(err).Status() != http.StatusServiceUnavailable || errs.From(err).Header().Get("Retry-After") == "" {
					t.Errorf("%s with Redis %s: %v, want authn.ErrUnavailable (503, Retry-After)", name, mode, err)
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

func TestRedisStoresRefuseUnboundedClients(t *testing.T) {
	t.Parallel()
	noCtx := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer func() { _ = noCtx.Close() }()
	ok := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	defer func() { _ = ok.Close() }()
	builders := map[string]func(redis.UniversalClient, authn.RedisOptions) error{
		"refresh": func(c redis.UniversalClient, o authn.RedisOptions) error {
			_, err := NewRedisRefreshStore(c, o)
			return err
		},
		"revoke": func(c redis.UniversalClient, o authn.RedisOptions) error {
			_, err := NewRedisRevocations(c, o)
			return err
		},
	}
	for name, build := range builders {
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
			if err := build(bad.c, bad.o); !errors.Is(err, errs.KindConfiguration) {
				t.Errorf("%s accepted %+v: %v", name, bad.o, err)
			}
		}
		if err := build(ok, authn.RedisOptions{Prefix: "p:"}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestOutageCostsNoLogin measures what users see while the Redis behind
// the refresh store and the revocation list stalls (SIGSTOP) and dies:
// every refresh and verification answers 503 (latency logged as p50 and
// max), and once the stall ends every user refreshes with the token they
// held; none was logged out.
func TestOutageCostsNoLogin(t *testing.T) {
	t.Parallel()
	child := testsvc.StartRedis(t)
	rdb := redistest.ChildClient(t, child, func(o *redis.Options) { o.PoolSize = 64 })
	opts := authn.RedisOptions{Prefix: "t:"} // the default timeout
	refresh, _ := NewRedisRefreshStore(rdb, opts)
	revoked, _ := NewRedisRevocations(rdb, opts)
	ctx := context.Background()
	iss, err := New(Options{Issuer: "https://auth.test", Audience: []string{"api"}, Refresh: refresh, Revocations: revoked})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := iss.Verifier(jwt.VerifierOptions{CacheSize: 1000})
	stage, _ := authn.New(authn.Options{Authenticators: []authn.Authenticator{authn.Bearer(v)}})
	api := stage.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	const users = 40
	pairs := make([]TokenPair, users)
	for i := range pairs {
		setup(t, func() (err error) {
			pairs[i], err = iss.IssuePair(ctx, Grant{Subject: "u" + string(rune('A'+i))})
			return err
		})
		setup(t, func() (err error) { pairs[i], err = iss.Refresh(ctx, pairs[i].RefreshToken); return err })
	}
	measure := func(label string) {
		var mu sync.Mutex
		var refreshLat, verifyLat []time.Duration
		var wg sync.WaitGroup
		for i := range pairs {
			wg.Go(func() {
				start := time.Now()
				_, err := iss.Refresh(ctx, pairs[i].RefreshToken)
				rl := time.Since(start)
				if !errors.Is(err, authn.ErrUnavailable) {
					t.Errorf("%s: refresh gave %v (%s), want 503", label, err, authn.Reason(err))
				}
				req := httptest.NewRequest("GET", "/", nil)
				req.Header.Set("Authorization", "Bearer "+pairs[i].AccessToken)
				w := httptest.NewRecorder()
				start = time.Now()
				api.ServeHTTP(w, req)
				vl := time.Since(start)
				if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
					t.Errorf("%s: API call answered %d, want 503 with Retry-After", label, w.Code)
				}
				mu.Lock()
				refreshLat, verifyLat = append(refreshLat, rl), append(verifyLat, vl)
				mu.Unlock()
			})
		}
		wg.Wait()
		p := func(d []time.Duration) (time.Duration, time.Duration) {
			slices.Sort(d)
			return d[len(d)/2], d[len(d)-1]
		}
		r50, rmax := p(refreshLat)
		v50, vmax := p(verifyLat)
		t.Logf("Redis %s, %d users: refresh p50 %s max %s; verify p50 %s max %s", label, users, r50.Round(time.Millisecond), rmax.Round(time.Millisecond), v50.Round(time.Millisecond), vmax.Round(time.Millisecond))
	}
	child.Pause()
	measure("paused")
	child.Resume()
	loggedOut := 0
	for i := range pairs {
		if _, err := iss.Refresh(ctx, pairs[i].RefreshToken); err != nil {
			loggedOut++
			t.Errorf("user %d after the stall: %v (%s)", i, err, authn.Reason(err))
		}
	}
	t.Logf("users logged out by the stall: %d of %d", loggedOut, users)
	child.Kill()
	measure("killed")
}

// setup runs a step that prepares an outage test while Redis is still up,
// trying again when a loaded machine makes a short store timeout expire
// (a retried Refresh is answered within the reuse interval).
func setup(t *testing.T, step func() error) {
	t.Helper()
	var err error
	for range 5 {
		if err = step(); !errors.Is(err, authn.ErrUnavailable) {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
}

// Reuse detected while the revocation list is down answers 503; once it is
// back, the next presentation of the token (now of a revoked login)
// revokes the login's access tokens after all, so an outage does not leave
// a thief's access token alive.
func TestReuseDuringRevocationOutageRevokesAccessLater(t *testing.T) {
	t.Parallel()
	child := testsvc.StartRedis(t)
	rdb := redistest.ChildClient(t, child, nil)
	revoked, _ := NewRedisRevocations(rdb, authn.RedisOptions{Prefix: "t:", Timeout: 200 * time.Millisecond})
	ctx := context.Background()
	c := &clock{t: time.Now()}
	iss, err := New(Options{Issuer: "https://auth.test", Audience: []string{"api"}, Refresh: NewMemoryRefreshStore(), Revocations: revoked, RefreshReuseGrace: time.Second, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := iss.Verifier(jwt.VerifierOptions{CacheSize: 10})
	pair, err := iss.IssuePair(ctx, Grant{Subject: "eve"})
	if err != nil {
		t.Fatal(err)
	}
	var next TokenPair
	setup(t, func() (err error) { next, err = iss.Refresh(ctx, pair.RefreshToken); return err })
	setup(t, func() error { _, err := v.Verify(ctx, next.AccessToken); return err })
	c.Add(2 * time.Second)
	child.Pause()
	if _, err := iss.Refresh(ctx, pair.RefreshToken); !errors.Is(err, authn.ErrUnavailable) {
		t.Fatalf("reuse with the revocation list down: %v (%s), want 503", err, authn.Reason(err))
	}
	child.Resume()
	// A loaded machine may let the short timeout expire: try again then.
	retry := func(call func() error) (err error) {
		for range 5 {
			if err = call(); !errors.Is(err, authn.ErrUnavailable) {
				break
			}
		}
		return err
	}
	refusal := retry(func() error { _, err := iss.Refresh(ctx, pair.RefreshToken); return err })
	if authn.Reason(refusal) != "revoked" {
		t.Fatalf("the token again after the outage: %v (%s)", refusal, authn.Reason(refusal))
	}
	verr := retry(func() error { _, err := v.Verify(ctx, next.AccessToken); return err })
	if authn.Reason(verr) != "revoked" {
		t.Fatalf("access token of the reused login after the outage: %v (%s)", verr, authn.Reason(verr))
	}
}

// A family stored before its subject was recorded (an older version of
// the store) learns it at its next rotation, so RevokeLogin revokes the
// access tokens issued from then on.
func TestRedisFamilyLearnsItsSubjectAtRotation(t *testing.T) {
	t.Parallel()
	for name, rdb := range redistest.Targets(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			prefix := redistest.Prefix(t, rdb)
			opts := authn.RedisOptions{Prefix: prefix, Timeout: redistest.StoreTimeout}
			refresh, _ := NewRedisRefreshStore(rdb, opts)
			revoked, _ := NewRedisRevocations(rdb, opts)
			iss, err := New(Options{Issuer: "https://auth.test", Audience: []string{"api"}, Refresh: refresh, Revocations: revoked})
			if err != nil {
				t.Fatal(err)
			}
			v, _ := iss.Verifier(jwt.VerifierOptions{})
			pair, err := iss.IssuePair(ctx, Grant{Subject: "old"})
			if err != nil {
				t.Fatal(err)
			}
			if err := rdb.Del(ctx, prefix+"rs:{"+pair.LoginID+"}").Err(); err != nil {
				t.Fatal(err)
			}
			next, err := iss.Refresh(ctx, pair.RefreshToken)
			if err != nil {
				t.Fatal(err)
			}
			if err := iss.RevokeLogin(ctx, pair.LoginID); err != nil {
				t.Fatal(err)
			}
			if _, err := v.Verify(ctx, next.AccessToken); authn.Reason(err) != "revoked" {
				t.Fatalf("access token after RevokeLogin: %v (%s)", err, authn.Reason(err))
			}
		})
	}
}
