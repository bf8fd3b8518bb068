package authn

import "time"

// DefaultRedisTimeout bounds each call of a Redis-backed store of authn's
// subpackages when RedisOptions.Timeout is zero.
const DefaultRedisTimeout = 300 * time.Millisecond

// RedisOptions configure the Redis-backed stores of authn's subpackages
// (issuer.NewRedisRefreshStore, issuer.NewRedisRevocations,
// totp.NewRedisStore).
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
