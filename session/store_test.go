package session_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/covetgo/covet/internal/testsvc"
	"github.com/covetgo/covet/session"
	"github.com/covetgo/covet/session/sessiontest"
	"github.com/redis/go-redis/v9"
)

func TestMemoryStore(t *testing.T) {
	t.Parallel()
	sessiontest.Run(t, func(t *testing.T, now func() time.Time) session.Store {
		return session.NewMemoryStore(session.MemoryOptions{Now: now})
	})
}

// redisPrefix is unique to this package and this run, and its keys are
// removed afterwards (never FLUSHDB: the server is shared).
func redisClient(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: testsvc.RedisAddr(t), ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestRedisClusterStore runs the conformance suite on a three-master
// Redis Cluster: every command and script of the store must stay in one
// hash slot.
func TestRedisClusterStore(t *testing.T) {
	t.Parallel()
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: testsvc.RedisClusterAddrs(t), ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = c.Close() })
	sessiontest.Run(t, func(t *testing.T, _ func() time.Time) session.Store {
		// Random, not a timestamp: the suite calls this from parallel tests.
		var b [6]byte
		_, _ = rand.Read(b[:])
		prefix := "covet_session_test:" + hex.EncodeToString(b[:]) + ":"
		t.Cleanup(func() {
			ctx := context.Background()
			_ = c.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
				iter := n.Scan(ctx, 0, prefix+"*", 1000).Iterator()
				for iter.Next(ctx) {
					_ = n.Del(ctx, iter.Val()).Err()
				}
				return nil
			})
		})
		st, err := session.NewRedisStore(c, session.RedisOptions{Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		return st
	})
}

func TestRedisStore(t *testing.T) {
	t.Parallel()
	c := redisClient(t)
	sessiontest.Run(t, func(t *testing.T, _ func() time.Time) session.Store {
		prefix := testsvc.RedisKeyPrefix(t, c, "covet_session_test")
		st, err := session.NewRedisStore(c, session.RedisOptions{Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		return st
	})
}
