package ratelimit

import "context"

// store holds rate-limit state: *MemoryStore, *RedisStore and *UluleStore
// implement it, and Options.Store takes any of them. It is not an
// extension point, since a store decides with the package's own
// algorithms; another backend comes in through github.com/ulule/limiter's
// Store interface and LimiterStore. A store may be shared by several
// Limiters.
type store interface {
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
