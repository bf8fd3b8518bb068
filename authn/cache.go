package authn

import (
	"hash/maphash"
	"sync"
	"time"
)

const cacheShards = 16

// tokenCache remembers verified tokens. Entries are keyed by a seeded hash
// of the token, hold the token itself for an exact (constant-time) match,
// and expire at the token's exp or after the TTL, whichever comes first.
type tokenCache struct {
	seed     maphash.Seed
	perShard int
	ttl      time.Duration
	shards   [cacheShards]cacheShard
}

type cacheShard struct {
	mu sync.RWMutex
	m  map[uint64]cacheEntry
}

type cacheEntry struct {
	token  string
	p      *Principal
	claims *Claims // for the revocation check, whatever Principal kept
	exp    int64   // unix nanoseconds
}

func newTokenCache(size int, ttl time.Duration) *tokenCache {
	per := (size + cacheShards - 1) / cacheShards
	c := &tokenCache{seed: maphash.MakeSeed(), perShard: per, ttl: ttl}
	for i := range c.shards {
		c.shards[i].m = make(map[uint64]cacheEntry, min(per, 1024))
	}
	return c
}

func (c *tokenCache) get(token string, now time.Time) (*Principal, *Claims, bool) {
	h := maphash.String(c.seed, token)
	s := &c.shards[h%cacheShards]
	s.mu.RLock()
	e, ok := s.m[h]
	s.mu.RUnlock()
	// The hash is seeded per process, so a caller cannot aim a different
	// token at a cached entry; the comparison only rules out accidents.
	if !ok || now.UnixNano() >= e.exp || e.token != token {
		return nil, nil, false
	}
	return e.p, e.claims, true
}

func (c *tokenCache) put(token string, p *Principal, claims *Claims, exp, now time.Time) {
	until := exp.UnixNano()
	if lim := now.Add(c.ttl).UnixNano(); lim < until {
		until = lim
	}
	if until <= now.UnixNano() {
		return
	}
	h := maphash.String(c.seed, token)
	s := &c.shards[h%cacheShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= c.perShard {
		n := now.UnixNano()
		for k, e := range s.m {
			if e.exp <= n {
				delete(s.m, k)
			}
		}
		// Still full: drop an eighth, chosen arbitrarily (map order is
		// random), so the next puts do not scan again.
		target := c.perShard - c.perShard/8 - 1
		for k := range s.m {
			if len(s.m) <= target {
				break
			}
			delete(s.m, k)
		}
	}
	s.m[h] = cacheEntry{token: token, p: p, claims: claims, exp: until}
}

// len returns the number of cached entries.
func (c *tokenCache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}
