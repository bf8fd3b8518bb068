package session_test

import (
	"testing"
	"time"

	"github.com/covetgo/covet/internal/testsvc"
	"github.com/covetgo/covet/session"
	"github.com/covetgo/covet/session/sessiontest"
	"github.com/redis/go-redis/v9"
)

func TestMemoryStore(t *testing.T) {
	sessiontest.Run(t, func(t *testing.T, now func() time.Time) session.Store {
		return session.NewMemoryStore(session.MemoryOptions{Now: now})
	})
}

// redisPrefix is unique to this package and this run, and its keys are
// removed afterwards (never FLUSHDB: the server is shared).
func redisClient(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: testsvc.RedisAddr(t)})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestRedisStore(t *testing.T) {
	c := redisClient(t)
	sessiontest.Run(t, func(t *testing.T, _ func() time.Time) session.Store {
		prefix := testsvc.RedisKeyPrefix(t, c, "covet_session_test")
		st, err := session.NewRedisStore(session.RedisOptions{Client: c, Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		return st
	})
}
