package authn

import (
	"context"
	"strings"
	"time"

	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/internal/redisclient"
	"github.com/redis/go-redis/v9"
)

// DefaultRedisTimeout bounds each call of a Redis-backed store of this
// package when RedisOptions.Timeout is zero.
const DefaultRedisTimeout = 300 * time.Millisecond

// RedisOptions configure the Redis-backed stores of this package
// (RedisRefreshStore, RedisTOTPStore, RedisRevocations).
type RedisOptions struct {
	// Prefix starts every key of the store, for example "myapp:auth:";
	// required, so the keys cannot collide with the application's. It may
	// not contain '{' or '}' (the stores add their own hash tags).
	Prefix string
	// Timeout bounds each call to Redis, retries included. Zero:
	// DefaultRedisTimeout. At most 5 seconds. A call that runs out fails,
	// and the request depending on it gets 503 (ErrUnavailable).
	Timeout time.Duration
}

// redisStore is what every Redis-backed store of the package shares.
type redisStore struct {
	rdb     redis.UniversalClient
	prefix  string
	timeout time.Duration
}

func newRedisStore(name string, rdb redis.UniversalClient, opts RedisOptions) (redisStore, error) {
	if rdb == nil {
		return redisStore{}, errs.Configf("authn: %s needs a Redis client", name)
	}
	if opts.Prefix == "" {
		return redisStore{}, errs.Configf("authn: %s needs RedisOptions.Prefix", name)
	}
	if strings.ContainsAny(opts.Prefix, "{}") {
		return redisStore{}, errs.Configf("authn: %s: RedisOptions.Prefix %q must not contain '{' or '}'", name, opts.Prefix)
	}
	if opts.Timeout < 0 || opts.Timeout > 5*time.Second {
		return redisStore{}, errs.Configf("authn: %s: RedisOptions.Timeout %s is outside 0..5s", name, opts.Timeout)
	}
	if !redisclient.HonoursDeadlines(rdb) {
		return redisStore{}, errs.Configf("authn: %s: the Redis client must set ContextTimeoutEnabled, or RedisOptions.Timeout cannot bound a call (go-redis otherwise waits its own ReadTimeout)", name)
	}
	t := opts.Timeout
	if t == 0 {
		t = DefaultRedisTimeout
	}
	return redisStore{rdb: rdb, prefix: opts.Prefix, timeout: t}, nil
}

// ctx bounds one store call.
func (s *redisStore) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// hashTag returns "{" + id + "}" for a key part that must decide the
// Redis Cluster slot. An empty id would make "{}", which Redis ignores as
// a tag, so it gets a placeholder.
func hashTag(id string) string {
	if id == "" {
		id = "-"
	}
	return "{" + id + "}"
}
