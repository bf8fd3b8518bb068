package ratelimit

import "context"

// Store holds rate-limit state. It is implemented by *MemoryStore,
// *RedisStore and the adapter LimiterStore returns; a Store may be shared
// by several Limiters.
type Store interface {
	// decide takes cost from every policy of set for key, or from none,
	// and fills res.
	decide(ctx context.Context, set *policySet, key []byte, cost int64, res *Result) error
	// supports reports whether the store can run the algorithm.
	supports(a Algorithm) bool
	// Close releases what the store owns (goroutines; never a client
	// passed in by the caller).
	Close() error
}

func (s *MemoryStore) supports(Algorithm) bool { return true }
