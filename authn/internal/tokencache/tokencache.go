// Package tokencache remembers verified tokens for the JWT verifier and the
// introspection client: bounded, sharded, keyed by a seeded hash of the
// token, entries never outliving the token's expiry.
package tokencache

import (
	"hash/maphash"
	"sync"
	"time"

	"github.com/covetgo/covet/authn/principal"
)

const shards = 16

// Cache remembers verified tokens. Entries are keyed by a seeded hash
// of the token, hold the token itself for an exact (constant-time) match,
// and expire at the token's exp or after the TTL, whichever comes first.
type Cache struct {
	seed     maphash.Seed
	perShard int
	ttl      time.Duration
	shards   [shards]cacheShard
}

type cacheShard struct {
	mu sync.RWMutex
	m  map[uint64]cacheEntry
}

type cacheEntry struct {
	token  string
	p      *principal.Principal
	claims *principal.Claims // for the revocation check, whatever Principal kept
	exp    int64             // unix nanoseconds
}

// New returns a cache with room for about size tokens, each kept at most
// ttl.
func New(size int, ttl time.Duration) *Cache {
	per := (size + shards - 1) / shards
	c := &Cache{seed: maphash.MakeSeed(), perShard: per, ttl: ttl}
	for i := range c.shards {
		c.shards[i].m = make(map[uint64]cacheEntry, min(per, 1024))
	}
	return c
}

// Get returns the principal and claims cached for token, if any and not
// expired at now.
func (c *Cache) Get(token string, now time.Time) (*principal.Principal, *principal.Claims, bool) {
	h := maphash.String(c.seed, token)
	s := &c.shards[h%shards]
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

// Put caches token until the earlier of exp and now plus the TTL; when a
// shard is full it drops expired entries, then an eighth of the rest.
func (c *Cache) Put(token string, p *principal.Principal, claims *principal.Claims, exp, now time.Time) {
	until := exp.UnixNano()
	if lim := now.Add(c.ttl).UnixNano(); lim < until {
		until = lim
	}
	if until <= now.UnixNano() {
		return
	}
	h := maphash.String(c.seed, token)
	s := &c.shards[h%shards]
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

// Len returns the number of cached entries.
func (c *Cache) Len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}
