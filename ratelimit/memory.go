package ratelimit

import (
	"context"
	"encoding/binary"
	"hash/maphash"
	"net/netip"
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
	// full, a new key first takes the place of an expired entry (one of
	// the least recently used; the sweeper reclaims the others) and
	// otherwise evicts the least recently used one (counted in
	// MemoryStats.Evictions). Recency is the store clock's reading at a
	// key's last decision, kept to about a millisecond, so keys last used
	// within the same millisecond leave in no particular order. The cap
	// applies per shard: each holds an equal part of MaxKeys, and the
	// expired or least recently used key goes from the new key's shard.
	// Zero: DefaultMaxKeys.
	MaxKeys int
	// Shards is the number of parts of the table, rounded up to a power of
	// two. Each has its own lock, taken to add and remove keys and to
	// decide for several policies at once (see MemoryStore). Zero: 8 per
	// CPU, at least 16.
	Shards int
	// SweepInterval is how often a background goroutine reclaims expired
	// keys, a bounded batch per shard at a time. Zero: one second.
	// Negative: no background sweeping (expired keys are still reused
	// before live ones are evicted).
	SweepInterval time.Duration
	// Clock returns the current time. A reading earlier than the latest
	// one the store has used counts as that latest one, and a decision is
	// never made at a time earlier than the key's stored state implies, so
	// a key's time never moves backwards. Nil: the real clock (wall time
	// at construction advanced by the monotonic clock, which never moves
	// backwards by itself).
	Clock func() time.Time
}

// DefaultMaxKeys is the key cap of a MemoryStore whose MaxKeys is zero.
const DefaultMaxKeys = 1 << 18

// sweepBatch is how many keys a sweep looks at per shard and tick.
const sweepBatch = 256

// MemoryStore keeps rate-limit state in process memory. It is safe for
// concurrent use without a global lock. A key under one token bucket or
// one fixed window is decided without any lock: it is found in its
// shard's table with atomic loads, and its state is one word, changed by
// compare-and-swap. Keys under several policies (or a sliding window), and
// adding and removing keys, lock one shard of the table.
// Close stops its sweeper goroutine.
type MemoryStore struct {
	seed   maphash.Seed
	k4, k6 uint64 // secret keys of hashAddr
	shards []shard
	mask   uint64
	clock  func() time.Time
	last   atomic.Int64 // Clock: the latest reading used
	base   time.Time
	baseNS int64
	stop   chan struct{}
	done   chan struct{}
	closed atomic.Bool
}

type shard struct {
	// tab is read without the lock and replaced under it when the table
	// is rebuilt; the padding keeps readers off the lock's cache line.
	tab atomic.Pointer[table]
	_   [56]byte

	mu sync.Mutex
	// lru is a min-heap of every key the shard holds, on the time of use
	// it was placed with. Decisions record their time in slot.used
	// without the lock; a key used since it was placed is moved down to
	// that time when it reaches the top, so the top, once settled, is the
	// least recently used key.
	lru []heapItem
	// locked holds the states of kindLocked keys.
	locked    map[uint64]*lockedState
	max       int
	cursor    int // sweep position in lru
	evictions uint64
	expired   uint64
	_         [64]byte
}

type heapItem struct {
	stamp int64 // the slot's used time when last placed
	slot  int32
}

// table is an open-addressing hash table (linear probing) of a shard's
// keys, with each key's state inline so that a decision touches one cache
// line of it. Lookups read it without a lock; keys are added under the
// shard lock. A slot's key never changes during the table's life: a
// removed key's slot is marked dead and stays until the shard rebuilds
// its table, so a decision that found a key can never change another
// key's state.
type table struct {
	size  uint64 // len(slots)
	slots []slot
	meta  []slotMeta // under the shard lock
	full  int        // slots with a key, dead or alive
}

// slot is one key. Key 0 marks an empty slot.
type slot struct {
	key atomic.Uint64
	// word is the state of a kindBucket or kindWindow key (zero: none
	// yet), or zero for a kindLocked one; deadWord once removed, and with
	// movedBit set once copied into a rebuilt table.
	word atomic.Uint64
	// used is the store time of the key's latest decision, for the LRU.
	used atomic.Int64
	// tag is the key's kind in the top byte and, for kindWindow, the
	// window index the word counts from in the rest. It is set before the
	// key is published and never changes.
	tag uint64
}

// slotMeta is what only the shard lock's holder needs about a slot.
type slotMeta struct {
	per   int64 // kindWindow: period in ns
	hidx  int32 // position in the shard's lru heap
	shift uint8 // kindWindow: bits of the count
}

type entryKind uint8

const (
	kindLocked entryKind = iota // states in shard.locked, under the shard lock
	kindBucket                  // word: a token bucket's TAT
	kindWindow                  // word: a fixed window's index and count
)

const (
	// deadWord marks a removed key: no state encodes to it, so a decision
	// still holding the slot fails its compare-and-swap and decides again
	// under the shard lock.
	deadWord = ^uint64(0)
	// movedBit marks a slot copied into a rebuilt table. States keep the
	// top bit clear.
	movedBit = 1 << 63
	tagShift = 56
)

// lockedState holds a kindLocked key's states.
type lockedState struct {
	expires int64 // when the states stop mattering
	n       int
	// The states: inline for up to two policies, else in more.
	inline [2]state
	more   []state
}

func (m *lockedState) states() []state {
	if m.n <= len(m.inline) {
		return m.inline[:m.n]
	}
	return m.more[:m.n]
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
	s.k4, s.k6 = maphash.String(s.seed, "ipv4"), maphash.String(s.seed, "ipv6")
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
		sh.tab.Store(newTable(minTable))
		sh.locked = make(map[uint64]*lockedState)
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
		st.Keys += len(sh.lru)
		st.Evictions += sh.evictions
		st.Expired += sh.expired
		sh.mu.Unlock()
	}
	return st
}

// now reads the store clock. Neither clock goes back: the monotonic one
// never does, and readings of Clock are raised to the latest one handed
// out. A decision may still hold a reading older than a state another
// decision stored meanwhile; it then decides at the earliest time that
// state could have been stored at (see policySet.at).
func (s *MemoryStore) now() int64 {
	if s.clock == nil {
		return s.baseNS + int64(time.Since(s.base))
	}
	t := s.clock().UnixNano()
	for {
		l := s.last.Load()
		if t <= l {
			return l
		}
		if s.last.CompareAndSwap(l, t) {
			return t
		}
	}
}

// hash maps a policy set and a key to the table key. maphash's seed is
// secret and per store, so clients cannot aim for collisions; the set's
// fingerprint keeps limiters sharing the store apart.
func (s *MemoryStore) hash(set *policySet, key []byte) uint64 {
	h := maphash.Bytes(s.seed, key) ^ set.fp
	// The finalizer spreads the fingerprint into the shard bits.
	return fmix64(h)
}

// hashAddr is hash for a ByIP key, computed from the client's network
// (an IPv4 address, an IPv6 /64) without building the byte key. The
// network is XORed with a secret key and put through a bijection, so two
// networks of one family never collide, and collisions across families or
// with other keys cannot be aimed at.
func (s *MemoryStore) hashAddr(set *policySet, a netip.Addr) uint64 {
	a = a.Unmap()
	if a.Is4() {
		b := a.As4()
		return fmix64(uint64(binary.BigEndian.Uint32(b[:])) ^ s.k4 ^ set.fp)
	}
	b := a.As16()
	return fmix64(binary.BigEndian.Uint64(b[:8]) ^ s.k6 ^ set.fp)
}

// fmix64 is murmur3's 64-bit finalizer, a bijection.
func fmix64(h uint64) uint64 {
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
	if h == 0 {
		h = 1 // key 0 marks empty slots
	}
	sh := &s.shards[h&s.mask]
	res.n = len(set.ps)
	if set.kind == kindLocked || !s.decideFast(set, sh.tab.Load(), h, cost, s.now(), res) {
		s.decideSlow(sh, set, h, cost, res)
	}
	res.summarize()
}

// decideFast decides, without a lock, for a lone token bucket or fixed
// window the store holds, at time now. It reports false, having changed
// nothing, when the key is not found, was removed or moved meanwhile, or
// its new state does not fit the slot; the caller then decides under the
// shard lock.
//
// now is read before the key's state, so that the compare-and-swap follows
// the load closely: a clock read between the two would widen the window in
// which another CPU's decision makes it fail. The reading is kept across
// retries. A state stored meanwhile by a decision that read the clock
// later is decided at no earlier time than that state implies (see at), so
// a key's time still never moves backwards.
func (s *MemoryStore) decideFast(set *policySet, t *table, h uint64, cost, now int64, res *Result) bool {
	i, ok := t.find(h)
	if !ok {
		return false
	}
	sl := &t.slots[i]
	if entryKind(sl.tag>>tagShift) != set.kind {
		return false // another policy set's key with the same hash
	}
	p := &set.ps[0]
	d := &res.d[0]
	for {
		w := sl.word.Load()
		if w&movedBit != 0 {
			return false
		}
		st := sl.decode(w, set.shift)
		at := set.at(st, now)
		ns, _ := p.step(st, at, cost, d)
		if d.Allowed && cost > 0 {
			nw, ok := sl.encode(ns, set.shift)
			if !ok {
				return false
			}
			if !sl.word.CompareAndSwap(w, nw) {
				continue
			}
		}
		sl.touch(at)
		return true
	}
}

// at is the time to decide a lone policy's state st at: now, raised to
// the earliest reading that could have stored st when st came from a
// decision that read the clock after this one did. For a fixed window
// that is the start of st's window, so the count is never taken back to
// an earlier window. For a token bucket it is st's TAT less the bucket's
// capacity (an allowed decision at reading r stores a TAT of at most r
// plus the capacity), so the decision never sees more than a full bucket
// owed: no negative remaining, no reset beyond the capacity, and a cost-0
// look is never refused. Neither bound is later than a reading some
// decision took.
func (set *policySet) at(st state, now int64) int64 {
	p := &set.ps[0]
	if set.kind == kindWindow {
		return max(now, st.a*p.periodNS)
	}
	return max(now, st.a-p.burst*p.interval)
}

// decode returns the state in word w.
func (sl *slot) decode(w uint64, shift uint8) state {
	if entryKind(sl.tag>>tagShift) != kindWindow {
		return state{a: int64(w)}
	}
	if w == 0 {
		return state{}
	}
	base := int64(sl.tag & (1<<tagShift - 1))
	return state{a: base + int64(w>>shift) - 1, b: int64(w & (1<<shift - 1))}
}

// encode returns the word for st, or false when st's window is too far
// beyond the slot's base for the word.
func (sl *slot) encode(st state, shift uint8) (uint64, bool) {
	if entryKind(sl.tag>>tagShift) != kindWindow {
		return uint64(st.a), true
	}
	d := st.a - int64(sl.tag&(1<<tagShift-1)) + 1
	if d < 1 || uint64(d) >= 1<<(63-shift) {
		return 0, false // the word's top bit stays clear
	}
	return uint64(d)<<shift | uint64(st.b), true
}

// touch records a decision at now for the LRU.
//
// Times closer than touchGrain to the recorded one are not stored: a key
// decided many times a millisecond would otherwise write its slot's cache
// line once more per decision, which is what costs when every CPU decides
// the same hot key. Recency is kept to within touchGrain.
func (sl *slot) touch(now int64) {
	if now-sl.used.Load() >= touchGrain {
		sl.used.Store(now)
	}
}

// touchGrain is the resolution of the LRU's last-use times, in ns.
const touchGrain = int64(time.Millisecond)

// decideStates runs every policy of set on the states cur (nil: none
// yet) and fills res. It returns the states to store, when they stop
// mattering, and whether to store them (the request passed and cost
// something).
func decideStates(set *policySet, cur []state, now, cost int64, res *Result) ([MaxPolicies]state, int64, bool) {
	var next [MaxPolicies]state
	var expires int64
	allowed := true
	for j := range set.ps {
		var st state
		if cur != nil {
			st = cur[j]
		}
		ns, exp := set.ps[j].step(st, now, cost, &res.d[j])
		next[j] = ns
		expires = max(expires, exp)
		allowed = allowed && res.d[j].Allowed
	}
	if !allowed {
		// The request takes nothing: policies that had room report their
		// quota as it stays.
		for j := range set.ps {
			if res.d[j].Allowed && cost > 0 {
				var st state
				if cur != nil {
					st = cur[j]
				}
				set.ps[j].step(st, now, 0, &res.d[j])
			}
		}
	}
	return next, expires, allowed && cost > 0
}

// decideSlow decides under the shard lock: for a kindLocked set, a key the
// store does not hold, or one whose state must move to a new slot.
func (s *MemoryStore) decideSlow(sh *shard, set *policySet, h uint64, cost int64, res *Result) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	t := sh.tab.Load()
	var one [1]state
	var cur []state
	if i, ok := t.find(h); ok {
		sl := &t.slots[i]
		kind := entryKind(sl.tag >> tagShift)
		switch {
		case kind != set.kind:
			// Another policy set's key with the same hash: replace it.
		case kind == kindLocked:
			if m := sh.locked[h]; m.n == len(set.ps) {
				now := s.now()
				states := m.states()
				next, expires, apply := decideStates(set, states, now, cost, res)
				if apply {
					copy(states, next[:m.n])
					m.expires = max(m.expires, expires)
				}
				sl.touch(now)
				return
			}
		default:
			// Nothing moves or leaves under the lock, so a failure means
			// the new state does not fit the slot: a fixed window too far
			// beyond its base. It moves to a new slot.
			if s.decideFast(set, t, h, cost, s.now(), res) {
				return
			}
			one[0] = sl.decode(sh.kill(t, i), set.shift)
			cur = one[:]
		}
		if cur == nil {
			sh.kill(t, i)
		}
		sh.remove(t, i)
	}
	now := s.now()
	if cur != nil {
		now = set.at(cur[0], now)
	}
	next, expires, apply := decideStates(set, cur, now, cost, res)
	if !apply {
		if cur == nil {
			return // nothing to keep
		}
		next[0] = cur[0]
	}
	var m *lockedState
	if set.kind == kindLocked {
		m = &lockedState{n: len(set.ps), expires: expires}
		if m.n > len(m.inline) {
			m.more = make([]state, m.n)
		}
		copy(m.states(), next[:m.n])
	}
	sh.add(set, h, next[0], m, now)
}

// kill marks slot i of t removed and returns its last state word.
func (sh *shard) kill(t *table, i int32) uint64 {
	sl := &t.slots[i]
	for {
		w := sl.word.Load()
		if sl.word.CompareAndSwap(w, deadWord) {
			return w
		}
	}
}

// killExpired marks slot i removed if its key's state no longer matters at
// now, and reports whether it did. A decision racing it either lands
// first (and the key stays) or finds the slot dead.
func (sh *shard) killExpired(t *table, i int32, now int64) bool {
	sl := &t.slots[i]
	w := sl.word.Load()
	switch entryKind(sl.tag >> tagShift) {
	case kindLocked:
		if sh.locked[sl.key.Load()].expires > now {
			return false
		}
	case kindBucket:
		if int64(w) > now {
			return false
		}
	case kindWindow:
		if w != 0 {
			st := sl.decode(w, t.meta[i].shift)
			if (st.a+1)*t.meta[i].per > now {
				return false
			}
		}
	}
	return sl.word.CompareAndSwap(w, deadWord)
}

// reclaimScan is how many keys at the least recently used end of the heap
// eviction looks at for an expired one.
const reclaimScan = 8

// minTable is the smallest table.
const minTable = 16

// add puts key h of set, with state st (or, for kindLocked, states m),
// used at now, into the shard, making room first when the shard is full:
// an expired key among the least recently used goes first, otherwise the
// least recently used one.
func (sh *shard) add(set *policySet, h uint64, st state, m *lockedState, now int64) {
	t := sh.tab.Load()
	if len(sh.lru) >= sh.max && len(sh.lru) > 0 {
		sh.settle(t)
		victim := -1
		for k := range min(len(sh.lru), reclaimScan) {
			if sh.killExpired(t, sh.lru[k].slot, now) {
				victim = k
				sh.expired++
				break
			}
		}
		if victim < 0 {
			victim = 0
			sh.kill(t, sh.lru[0].slot)
			sh.evictions++
		}
		sh.remove(t, sh.lru[victim].slot)
	}
	if 4*(t.full+1) > 3*len(t.slots) {
		t = sh.rebuild(t)
	}
	i := t.empty(h)
	sl := &t.slots[i]
	sl.tag = uint64(set.kind) << tagShift
	var w uint64
	switch set.kind {
	case kindLocked:
		sh.locked[h] = m
	case kindWindow:
		sl.tag |= uint64(st.a) // the base: the state's own window
		t.meta[i].per, t.meta[i].shift = set.ps[0].periodNS, set.shift
		w, _ = sl.encode(st, set.shift)
	default:
		w, _ = sl.encode(st, set.shift)
	}
	sl.word.Store(w)
	sl.used.Store(now)
	sl.key.Store(h) // publishes the slot
	t.full++
	sh.lru = append(sh.lru, heapItem{stamp: now, slot: i})
	sh.up(t, len(sh.lru)-1)
}

// settle moves keys used since they were placed in the heap down to their
// last use until the top is one that was not: the least recently used key.
func (sh *shard) settle(t *table) {
	for len(sh.lru) > 0 {
		top := &sh.lru[0]
		u := t.slots[top.slot].used.Load()
		if u <= top.stamp {
			return
		}
		top.stamp = u
		sh.down(t, 0)
	}
}

// remove takes the key of dead slot i out of the heap (the slot itself
// stays, dead, until the table is rebuilt).
func (sh *shard) remove(t *table, i int32) {
	if entryKind(t.slots[i].tag>>tagShift) == kindLocked {
		delete(sh.locked, t.slots[i].key.Load())
	}
	k := int(t.meta[i].hidx)
	last := len(sh.lru) - 1
	if k != last {
		sh.lru[k] = sh.lru[last]
		t.meta[sh.lru[k].slot].hidx = int32(k)
	}
	sh.lru = sh.lru[:last]
	if k < last {
		sh.down(t, k)
		sh.up(t, k)
	}
	t.meta[i].hidx = -1
}

func (sh *shard) up(t *table, k int) {
	it := sh.lru[k]
	for k > 0 {
		p := (k - 1) / 2
		if sh.lru[p].stamp <= it.stamp {
			break
		}
		sh.lru[k] = sh.lru[p]
		t.meta[sh.lru[k].slot].hidx = int32(k)
		k = p
	}
	sh.lru[k] = it
	t.meta[it.slot].hidx = int32(k)
}

func (sh *shard) down(t *table, k int) {
	n := len(sh.lru)
	it := sh.lru[k]
	for {
		c := 2*k + 1
		if c >= n {
			break
		}
		if c+1 < n && sh.lru[c+1].stamp < sh.lru[c].stamp {
			c++
		}
		if it.stamp <= sh.lru[c].stamp {
			break
		}
		sh.lru[k] = sh.lru[c]
		t.meta[sh.lru[k].slot].hidx = int32(k)
		k = c
	}
	sh.lru[k] = it
	t.meta[it.slot].hidx = int32(k)
}

// rebuild copies the shard's keys into a new table three fifths full
// (add rebuilds at three quarters, dead slots included), leaving dead
// slots behind, and publishes it. Sizes need not be powers of two, so
// the table stays dense. A decision still on
// the old table finds its key's slot moved and decides again under the
// lock.
func (sh *shard) rebuild(t *table) *table {
	nt := newTable(max(minTable, (len(sh.lru)+1)*5/3))
	for k := range sh.lru {
		i := sh.lru[k].slot
		sl := &t.slots[i]
		var w uint64
		if entryKind(sl.tag>>tagShift) != kindLocked {
			for {
				w = sl.word.Load()
				if sl.word.CompareAndSwap(w, w|movedBit) {
					break
				}
			}
		}
		h := sl.key.Load()
		j := nt.empty(h)
		ns := &nt.slots[j]
		ns.tag = sl.tag
		ns.word.Store(w)
		ns.used.Store(sl.used.Load())
		ns.key.Store(h)
		nt.meta[j] = t.meta[i]
		nt.meta[j].hidx = int32(k)
		nt.full++
		sh.lru[k].slot = j
	}
	sh.tab.Store(nt)
	return nt
}

func newTable(size int) *table {
	return &table{size: uint64(size), slots: make([]slot, size), meta: make([]slotMeta, size)}
}

// home is the slot where key h's probe starts: h's high 32 bits scaled to
// the table (the shard index uses the low bits).
func (t *table) home(h uint64) uint64 { return (h >> 32) * t.size >> 32 }

// next is the slot after i on a probe.
func (t *table) next(i uint64) uint64 {
	if i++; i == t.size {
		return 0
	}
	return i
}

// find returns the slot of key h that is not dead.
func (t *table) find(h uint64) (int32, bool) {
	i := t.home(h)
	for range len(t.slots) {
		sl := &t.slots[i]
		k := sl.key.Load()
		if k == 0 {
			break
		}
		if k == h && sl.word.Load() != deadWord {
			return int32(i), true
		}
		i = t.next(i)
	}
	return -1, false
}

// empty returns the first empty slot on key h's probe (under the shard
// lock; the table is never full).
func (t *table) empty(h uint64) int32 {
	i := t.home(h)
	for t.slots[i].key.Load() != 0 {
		i = t.next(i)
	}
	return int32(i)
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

// sweep reclaims expired keys, looking at most at sweepBatch keys
// per shard, one shard locked at a time.
func (s *MemoryStore) sweep() {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		now := s.now()
		t := sh.tab.Load()
		for k := 0; k < sweepBatch && len(sh.lru) > 0; k++ {
			if sh.cursor >= len(sh.lru) {
				sh.cursor = 0
			}
			if i := sh.lru[sh.cursor].slot; sh.killExpired(t, i, now) {
				sh.remove(t, i) // another key moves into the cursor's place
				sh.expired++
			} else {
				sh.cursor++
			}
		}
		sh.mu.Unlock()
	}
}
