package authn

import (
	"time"

	"github.com/covetgo/covet/authn/internal/redisstore"
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
type redisStore = redisstore.Store

func newRedisStore(name string, rdb redis.UniversalClient, opts RedisOptions) (redisStore, error) {
	return redisstore.New(name, rdb, opts.Prefix, opts.Timeout, DefaultRedisTimeout)
}
