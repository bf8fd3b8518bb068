package session

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/covetgo/covet/internal/testsvc"
	"github.com/redis/go-redis/v9"
)

// roundTrips counts what go-redis sends to the server: one per command,
// one per pipeline or transaction.
type roundTrips struct{ n atomic.Int64 }

func (h *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if !handshake(cmd) {
			h.n.Add(1)
		}
		return next(ctx, cmd)
	}
}

func (h *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if !handshake(cmds[0]) {
			h.n.Add(1)
		}
		return next(ctx, cmds)
	}
}

// handshake reports whether cmd is part of go-redis's connection set-up
// (HELLO, CLIENT SETINFO), which happens once per pooled connection, not
// per request.
func handshake(cmd redis.Cmder) bool {
	return cmd.Name() == "hello" || cmd.Name() == "client"
}

func testRedis(t testing.TB) (*redis.Client, string) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: testsvc.RedisAddr(t), ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = c.Close() })
	return c, testsvc.RedisKeyPrefix(t, c, "covet_session_test")
}

func TestRedisRoundTrips(t *testing.T) {
	t.Parallel()
	c, prefix := testRedis(t)
	hook := &roundTrips{}
	c.AddHook(hook)
	st, err := NewRedisStore(c, RedisOptions{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	clk := newClock()
	m := newTestManager(t, Options{Store: st, Now: clk.Now, TouchInterval: time.Minute})
	cl := newClient(t, m, app)
	// Warm the touch script so EVALSHA finds it (a cold script costs one
	// extra round trip, once per server).
	_ = touchScript.Load(context.Background(), c).Err()
	_ = replaceScript.Load(context.Background(), c).Err()

	cases := []struct {
		name    string
		path    string
		advance time.Duration
		want    int64
	}{
		{"new session, write", "/set?v=1", 0, 1},            // save only: nothing to load without a cookie
		{"read", "/get", 0, 1},                              // one HMGET
		{"untouched", "/noop", 0, 0},                        // lazy: no access
		{"changed save", "/set?v=2", 0, 2},                  // load + one replace script
		{"read with touch due", "/get", 2 * time.Minute, 2}, // load + one touch script
		{"login with user index", "/login?u=rt", 0, 3},      // load + save + index; grace record: +1
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk.Advance(tc.advance)
			before := hook.n.Load()
			cl.get(tc.path)
			got := hook.n.Load() - before
			want := tc.want
			if tc.path == "/login?u=rt" {
				want++ // renewal also rewrites the old ID's record for the grace window
			}
			if got != want {
				t.Fatalf("round trips = %d, want %d", got, want)
			}
		})
	}
}

func TestRedisTTLIsRemainingLifetime(t *testing.T) {
	t.Parallel()
	c, prefix := testRedis(t)
	st, _ := NewRedisStore(c, RedisOptions{Prefix: prefix})
	clk := newClock()
	m := newTestManager(t, Options{Store: st, Now: clk.Now, IdleTimeout: 10 * time.Minute, AbsoluteTimeout: 15 * time.Minute, TouchInterval: time.Minute})
	cl := newClient(t, m, app)
	cl.get("/set?v=1")
	key := func() string {
		var id []byte
		if !m.decodeID(cl.cookie, &id) {
			t.Fatal("cookie does not decode")
		}
		return st.recKey(keyOf(id))
	}
	ctx := context.Background()
	near := func(got, want time.Duration) bool { return got <= want && got > want-2*time.Second }
	if ttl := c.PTTL(ctx, key()).Val(); !near(ttl, 10*time.Minute) {
		t.Fatalf("TTL of a fresh session = %v, want the idle timeout", ttl)
	}
	clk.Advance(8 * time.Minute)
	cl.get("/get") // touch: idle restarts, but only 7 minutes of absolute life remain
	if ttl := c.PTTL(ctx, key()).Val(); !near(ttl, 7*time.Minute) {
		t.Fatalf("TTL after touch = %v, want the 7 minutes left of the absolute lifetime", ttl)
	}
	if raw := c.HGet(ctx, key(), "r").Val(); raw == "" {
		t.Fatal("record missing")
	}
	if n := c.Exists(ctx, prefix+"s:"+cl.cookie).Val(); n != 0 {
		t.Fatal("the raw cookie value is a Redis key")
	}
}
