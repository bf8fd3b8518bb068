// Package redisstore is what every Redis-backed store of authn and its
// subpackages shares: a validated client, a key prefix, a per-call timeout
// and the hash tags that keep one script's keys in one Cluster slot.
package redisstore

import (
	"context"
	"strings"
	"time"

	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/internal/redisclient"
	"github.com/redis/go-redis/v9"
)

// Store is embedded by each Redis-backed store.
type Store struct {
	RDB     redis.UniversalClient
	Prefix  string
	Timeout time.Duration
}

// New validates the client, the prefix and the timeout of the store named
// name (for messages); a zero timeout becomes def.
func New(name string, rdb redis.UniversalClient, prefix string, timeout, def time.Duration) (Store, error) {
	if rdb == nil {
		return Store{}, errs.Configf("authn: %s needs a Redis client", name)
	}
	if prefix == "" {
		return Store{}, errs.Configf("authn: %s needs RedisOptions.Prefix", name)
	}
	if strings.ContainsAny(prefix, "{}") {
		return Store{}, errs.Configf("authn: %s: RedisOptions.Prefix %q must not contain '{' or '}'", name, prefix)
	}
	if timeout < 0 || timeout > 5*time.Second {
		return Store{}, errs.Configf("authn: %s: RedisOptions.Timeout %s is outside 0..5s", name, timeout)
	}
	if !redisclient.HonoursDeadlines(rdb) {
		return Store{}, errs.Configf("authn: %s: the Redis client must set ContextTimeoutEnabled, or RedisOptions.Timeout cannot bound a call (go-redis otherwise waits its own ReadTimeout)", name)
	}
	if timeout == 0 {
		timeout = def
	}
	return Store{RDB: rdb, Prefix: prefix, Timeout: timeout}, nil
}

// Ctx bounds one store call.
func (s *Store) Ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.Timeout)
}

// HashTag returns "{" + id + "}" for a key part that must decide the
// Redis Cluster slot. An empty id would make "{}", which Redis ignores as
// a tag, so it gets a placeholder.
func HashTag(id string) string {
	if id == "" {
		id = "-"
	}
	return "{" + id + "}"
}
