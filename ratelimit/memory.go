package ratelimit

import (
	"context"
	"hash/maphash"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/covetgo/covet/errs"
)

// MemoryOptions configures a MemoryStore. The zero value is a usable
// store: DefaultMaxKeys keys, a shard per few CPUs, the real clock.
type MemoryOptions struct {
	// MaxKeys is the hard cap on the number of keys held. When the store is
	// full, a new key first takes the place of an expired entry and
	// otherwise evicts the least recently used one (counted in
	// MemoryStats.Evictions). Zero: DefaultMaxKeys.
	MaxKeys int
	// Shards is the number of independently locked parts of the table,
	// rounded up to a power of two. Zero: 8 per CPU, at least 16.
	Shards int
	// SweepInterval is how often a background goroutine reclaims expired
	// keys, a bounded batch per shard at a time. Zero: one second.
	// Negative: no background sweeping (expired keys are still reused
	// before live ones are evicted).
	SweepInterval time.Duration
	// Clock returns the current time. It is read under the shard lock and
	// never allowed to move a shard's time backwards. Nil: the real clock
	// (wall time at construction advanced by the monotonic clock).
	Clock func() time.Time
}

// DefaultMaxKeys is the key cap of a MemoryStore whose MaxKeys is zero.
const DefaultMaxKeys = 1 << 18

// sweepBatch is how many slots a sweep looks at per shard and tick.
const sweepBatch = 256

// MemoryStore keeps rate-limit state in process memory. It is safe for
// concurrent use: the table is split into shards, each with its own lock,
// and a decision locks exactly one shard (a key's policies live together).
// Close stops its sweeper goroutine.
type MemoryStore struct {
	seed   maphash.Seed
	shards []shard
	mask   uint64
	clock  func() time.Time
	base   time.Time
	baseNS int64
	stop   chan struct{}
	done   chan struct{}
	closed atomic.Bool
}

type shard struct {
	mu         sync.Mutex
	idx        map[uint64]int32
	ents       []entry
	free       int32 // head of the free list through entry.next, -1 if none
	head, tail int32 // LRU list, head most recent
	max        int
	last       int64 // latest time seen: time never moves backwards
	cursor     int   // sweep position
	evictions  uint64
	expired    uint64
	_          [64]byte
}

type entry struct {
	key        uint64
	expires    int64
	prev, next int32
	live       bool
	// The states of a key's policies: inline for up to two (the usual
	// case, one cache line less per decision), else in more.
	inline [2]state
	more   []state
}

// states returns the entry's n states.
func (e *entry) states(n int) []state {
	if n <= len(e.inline) {
		return e.inline[:n]
	}
	return e.more[:n]
}

// MemoryStats are a MemoryStore's counters.
type MemoryStats struct {
	// Keys is the number of keys held now.
	Keys int
	// Evictions counts live keys dropped because the store was full.
	Evictions uint64
	// Expired counts expired keys reclaimed (by the sweeper or to make room).
	Expired uint64
}

// NewMemoryStore returns a memory store.
func NewMemoryStore(opts MemoryOptions) (*MemoryStore, error) {
	if opts.MaxKeys < 0 {
		return nil, errs.Configf("ratelimit: MemoryOptions.MaxKeys must not be negative")
	}
	if opts.Shards < 0 {
		return nil, errs.Configf("ratelimit: MemoryOptions.Shards must not be negative")
	}
	maxKeys := opts.MaxKeys
	if maxKeys == 0 {
		maxKeys = DefaultMaxKeys
	}
	n := opts.Shards
	if n == 0 {
		n = max(16, 8*runtime.GOMAXPROCS(0))
	}
	p := 1
	for p < n {
		p <<= 1
	}
	for p > 1 && maxKeys/p < 64 {
		p >>= 1 // keep shards big enough that the cap is not spread too thin
	}
	s := &MemoryStore{seed: maphash.MakeSeed(), shards: make([]shard, p), mask: uint64(p - 1), clock: opts.Clock}
	if s.clock == nil {
		s.base = time.Now()
		s.baseNS = s.base.UnixNano()
	}
	per := maxKeys / p
	extra := maxKeys % p
	for i := range s.shards {
		sh := &s.shards[i]
		sh.max = per
		if i < extra {
			sh.max++
		}
		sh.idx = make(map[uint64]int32)
		sh.free, sh.head, sh.tail = -1, -1, -1
	}
	interval := opts.SweepInterval
	if interval == 0 {
		interval = time.Second
	}
	if interval > 0 {
		s.stop = make(chan struct{})
		s.done = make(chan struct{})
		go s.sweeper(interval)
	}
	return s, nil
}

// Close stops the sweeper. The store still answers decisions afterwards.
func (s *MemoryStore) Close() error {
	if s.closed.Swap(true) || s.stop == nil {
		return nil
	}
	close(s.stop)
	<-s.done
	return nil
}

// Stats returns the store's counters.
func (s *MemoryStore) Stats() MemoryStats {
	var st MemoryStats
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		st.Keys += len(sh.idx)
		st.Evictions += sh.evictions
		st.Expired += sh.expired
		sh.mu.Unlock()
	}
	return st
}

func (s *MemoryStore) now() int64 {
	if s.clock != nil {
		return s.clock().UnixNano()
	}
	return s.baseNS + int64(time.Since(s.base))
}

// hash maps a policy set and a key to the table key. maphash's seed is
// secret and per store, so clients cannot aim for collisions; the set's
// fingerprint keeps limiters sharing the store apart.
func (s *MemoryStore) hash(set *policySet, key []byte) uint64 {
	h := maphash.Bytes(s.seed, key) ^ set.fp
	// A bijective finalizer (murmur3's fmix64) so the fingerprint spreads
	// into the shard bits.
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

func (s *MemoryStore) decide(_ context.Context, set *policySet, key []byte, cost int64, res *Result) error {
	s.decideHash(set, s.hash(set, key), cost, res)
	return nil
}

// decideHash runs one all-or-nothing decision for the key whose hash is h.
func (s *MemoryStore) decideHash(set *policySet, h uint64, cost int64, res *Result) {
	sh := &s.shards[h&s.mask]
	n := len(set.ps)
	res.n = n
	sh.mu.Lock()
	now := s.now()
	if now < sh.last {
		now = sh.last
	} else {
		sh.last = now
	}
	i, ok := sh.idx[h]
	var e *entry
	if ok {
		e = &sh.ents[i]
		sh.touch(i)
	}
	var next [MaxPolicies]state
	var expires int64
	allowed := true
	for j := range set.ps {
		var cur state
		if e != nil {
			cur = e.states(n)[j]
		}
		ns, d, exp := set.ps[j].step(cur, now, cost)
		next[j] = ns
		res.d[j] = d
		expires = max(expires, exp)
		allowed = allowed && d.Allowed
	}
	if !allowed {
		// The request takes nothing: policies that had room report their
		// quota as it stays.
		for j := range set.ps {
			if res.d[j].Allowed && cost > 0 {
				var cur state
				if e != nil {
					cur = e.states(n)[j]
				}
				_, res.d[j], _ = set.ps[j].step(cur, now, 0)
			}
		}
	} else if cost > 0 {
		if e == nil {
			e = &sh.ents[sh.insert(h, n, now)]
		}
		copy(e.states(n), next[:n])
		e.expires = max(e.expires, expires)
	}
	sh.mu.Unlock()
	res.summarize()
}

// touch moves entry i to the front of the LRU list.
func (sh *shard) touch(i int32) {
	if sh.head == i {
		return
	}
	sh.unlink(i)
	sh.pushFront(i)
}

func (sh *shard) unlink(i int32) {
	e := &sh.ents[i]
	if e.prev >= 0 {
		sh.ents[e.prev].next = e.next
	} else {
		sh.head = e.next
	}
	if e.next >= 0 {
		sh.ents[e.next].prev = e.prev
	} else {
		sh.tail = e.prev
	}
	e.prev, e.next = -1, -1
}

func (sh *shard) pushFront(i int32) {
	e := &sh.ents[i]
	e.prev, e.next = -1, sh.head
	if sh.head >= 0 {
		sh.ents[sh.head].prev = i
	}
	sh.head = i
	if sh.tail < 0 {
		sh.tail = i
	}
}

// remove drops entry i and puts its slot on the free list.
func (sh *shard) remove(i int32) {
	e := &sh.ents[i]
	delete(sh.idx, e.key)
	sh.unlink(i)
	e.live = false
	e.next = sh.free
	sh.free = i
}

// reclaimTail scans this many entries from the LRU tail for one that has
// expired.
const reclaimTail = 8

// insert adds key h with n zeroed states and returns its slot, making room
// first when the shard is full: an expired entry near the LRU tail goes
// first, otherwise the least recently used one.
func (sh *shard) insert(h uint64, n int, now int64) int32 {
	if len(sh.idx) >= sh.max && sh.tail >= 0 {
		victim := sh.tail
		for i, k := sh.tail, 0; i >= 0 && k < reclaimTail; i, k = sh.ents[i].prev, k+1 {
			if sh.ents[i].expires <= now {
				victim = i
				break
			}
		}
		if sh.ents[victim].expires <= now {
			sh.expired++
		} else {
			sh.evictions++
		}
		sh.remove(victim)
	}
	var i int32
	if sh.free >= 0 {
		i = sh.free
		sh.free = sh.ents[i].next
	} else {
		if len(sh.ents) == cap(sh.ents) {
			// Grow geometrically but never past the shard's cap.
			grown := make([]entry, len(sh.ents), min(max(2*cap(sh.ents), 16), sh.max))
			copy(grown, sh.ents)
			sh.ents = grown
		}
		sh.ents = append(sh.ents, entry{})
		i = int32(len(sh.ents) - 1)
	}
	e := &sh.ents[i]
	e.key, e.expires, e.live = h, 0, true
	e.inline = [2]state{}
	if n > len(e.inline) {
		if cap(e.more) >= n {
			e.more = e.more[:n]
			clear(e.more)
		} else {
			e.more = make([]state, n)
		}
	}
	sh.idx[h] = i
	sh.pushFront(i)
	return i
}

func (s *MemoryStore) sweeper(interval time.Duration) {
	defer close(s.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.sweep()
		}
	}
}

// sweep reclaims expired entries, at most sweepBatch slots per shard, one
// shard locked at a time.
func (s *MemoryStore) sweep() {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		now := s.now()
		if now < sh.last {
			now = sh.last
		}
		for k := 0; k < sweepBatch && len(sh.ents) > 0; k++ {
			if sh.cursor >= len(sh.ents) {
				sh.cursor = 0
			}
			j := int32(sh.cursor)
			sh.cursor++
			if e := &sh.ents[j]; e.live && e.expires <= now {
				sh.remove(j)
				sh.expired++
			}
		}
		sh.mu.Unlock()
	}
}
