package shard

import (
	"time"

	"github.com/cespare/xxhash/v2"

	"gorm.io/gorm"

	"github.com/covetgo/covet/errs"
)

// Options configures a Set.
type Options struct {
	// Shards are the physical databases. Their order is their identity:
	// never reorder them, append new ones at the end.
	Shards []*gorm.DB
	// Logical is the number of logical shards that keys hash onto with jump
	// consistent hash. Many logical shards on few databases let a logical
	// shard move to a new database without rehashing keys. Zero: 1024. It
	// must be at least len(Shards) and at most 1<<16.
	Logical int
	// Placement maps each logical shard to the index of its database in
	// Shards (len(Placement) == Logical). Nil: DefaultPlacement(Logical,
	// len(Shards)), which moves only about 1/N of the logical shards (and
	// keys) when a database is appended to make N.
	Placement []int
	// Pinned maps keys (tenants that need their own database, or must stay
	// put) to a database index, bypassing the hash.
	Pinned map[string]int
	// Concurrency bounds how many shards Each and Gather query at once.
	// Zero: all of them.
	Concurrency int
	// Timeout, when positive, bounds each shard's call in Each and Gather,
	// so one slow shard cannot hold the others' results past it.
	Timeout time.Duration
}

// Set routes keys to one of several databases and runs queries on all
// of them. It is immutable and safe for concurrent use.
type Set struct {
	shards      []*gorm.DB
	logical     int
	placement   []uint16
	pinned      map[uint64][]pin // by HashKey: integer lookups are cheaper than string ones
	concurrency int
	timeout     time.Duration
}

// New validates o and returns the shard set.
func New(o Options) (*Set, error) {
	n := len(o.Shards)
	if n == 0 {
		return nil, errs.Configf("shard: Options.Shards is empty")
	}
	if n > 1<<16 {
		return nil, errs.Configf("shard: %d shards; at most 65536 are supported", n)
	}
	for i, db := range o.Shards {
		if db == nil {
			return nil, errs.Configf("shard: Options.Shards[%d] is nil", i)
		}
	}
	if o.Logical == 0 {
		o.Logical = 1024
	}
	if o.Logical < n || o.Logical > 1<<16 {
		return nil, errs.Configf("shard: Options.Logical is %d; it must be between len(Shards) (%d) and 65536", o.Logical, n)
	}
	placement, err := placementOf(o.Placement, o.Logical, n)
	if err != nil {
		return nil, err
	}
	pinned, err := pinnedOf(o.Pinned, n)
	if err != nil {
		return nil, err
	}
	s := &Set{
		shards:      append([]*gorm.DB(nil), o.Shards...),
		logical:     o.Logical,
		placement:   placement,
		pinned:      pinned,
		concurrency: o.Concurrency,
		timeout:     o.Timeout,
	}
	if s.concurrency <= 0 || s.concurrency > n {
		s.concurrency = n
	}
	return s, nil
}

// placementOf checks a given placement of logical shards on n databases,
// or returns DefaultPlacement when none is given.
func placementOf(given []int, logical, n int) ([]uint16, error) {
	if given == nil {
		given = DefaultPlacement(logical, n)
	} else if len(given) != logical {
		return nil, errs.Configf("shard: Options.Placement has %d entries; want Logical (%d)", len(given), logical)
	}
	out := make([]uint16, logical)
	for l, p := range given {
		if p < 0 || p >= n {
			return nil, errs.Configf("shard: Options.Placement[%d] is %d; want 0..%d", l, p, n-1)
		}
		out[l] = uint16(p)
	}
	return out, nil
}

// pinnedOf checks the pinned keys and indexes them by HashKey.
func pinnedOf(pinned map[string]int, n int) (map[uint64][]pin, error) {
	if len(pinned) == 0 {
		return nil, nil
	}
	out := make(map[uint64][]pin, len(pinned))
	for k, p := range pinned {
		if p < 0 || p >= n {
			return nil, errs.Configf("shard: Options.Pinned[%q] is %d; want 0..%d", k, p, n-1)
		}
		h := HashKey(k)
		out[h] = append(out[h], pin{key: k, index: p})
	}
	return out, nil
}

// HashKey is the stable 64-bit hash Set uses for keys: XXH64 with
// seed 0 (github.com/cespare/xxhash/v2), a published algorithm, so other
// languages can route keys identically. It never changes between releases,
// since changing it would move every key.
func HashKey(key string) uint64 { return xxhash.Sum64String(key) }

// JumpHash maps a 64-bit key to a bucket in [0, buckets) with Lamping and
// Veach's jump consistent hash: when buckets grows from n to n+1, only about
// 1/(n+1) of the keys move, all of them to the new bucket. buckets < 1 is
// treated as 1.
func JumpHash(key uint64, buckets int) int {
	var b, j int64 = -1, 0
	for j < int64(buckets) {
		b = j
		key = key*2862933555777941757 + 1
		j = int64(float64(b+1) * (float64(int64(1)<<31) / float64((key>>33)+1)))
	}
	return int(max(b, 0))
}

// DefaultPlacement is the placement Set uses when none is given:
// rendezvous (highest random weight) hashing of each logical shard over the
// databases, scoring logical shard l on database d with the SplitMix64
// finalizer of l<<32 | d and taking the highest score. Appending a database
// moves to it exactly the logical shards it now wins, about 1/N of them for
// N databases, and nothing moves between the old databases. MovedLogical
// of two placements lists what a change moves.
func DefaultPlacement(logical, databases int) []int {
	out := make([]int, max(logical, 0))
	for l := range out {
		best := uint64(0)
		for d := range databases {
			if w := splitmix64(uint64(l)<<32 | uint64(d)); d == 0 || w > best {
				best, out[l] = w, d
			}
		}
	}
	return out
}

// splitmix64 is the finalizer of Steele, Lea and Flood's SplitMix64.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Logical returns the logical shard of key (ignoring pins).
func (s *Set) Logical(key string) int { return JumpHash(HashKey(key), s.logical) }

// Index returns the index of the database key lives on: its pinned
// database, or the placement of its logical shard.
func (s *Set) Index(key string) int {
	h := HashKey(key)
	if s.pinned != nil {
		for _, p := range s.pinned[h] {
			if p.key == key {
				return p.index
			}
		}
	}
	return int(s.placement[JumpHash(h, s.logical)])
}

type pin struct {
	key   string
	index int
}

// ForKey returns the database key lives on. It does not allocate.
func (s *Set) ForKey(key string) *gorm.DB { return s.shards[s.Index(key)] }

// Shard returns database i (as in Options.Shards).
func (s *Set) Shard(i int) *gorm.DB { return s.shards[i] }

// Len returns the number of databases.
func (s *Set) Len() int { return len(s.shards) }
