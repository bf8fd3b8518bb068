package ratelimit

import (
	"context"
	"math"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
)

func TestMemoryExactUnderConcurrency(t *testing.T) {
	t.Parallel()
	algs := []Policy{
		{Name: "tb", Limit: 100, Period: time.Hour},
		{Name: "fw", Algorithm: FixedWindow, Limit: 100, Period: 24 * time.Hour},
		{Name: "sw", Algorithm: SlidingWindow, Limit: 100, Period: 24 * time.Hour},
	}
	for _, p := range algs {
		t.Run(p.Algorithm.String(), func(t *testing.T) {
			clock := newFakeClock() // frozen: no refill, no window edge
			mem := newMem(t, MemoryOptions{Clock: clock.Now})
			l := newLimiter(t, Options{Store: mem, Policies: []Policy{p}})
			var admitted atomic.Int64
			var wg sync.WaitGroup
			for g := 0; g < 32; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < 100; i++ {
						// 10 hot keys and many cold ones.
						key := "hot" + strconv.Itoa(i%10)
						res, err := l.Allow(context.Background(), key, 1)
						if err != nil {
							t.Error(err)
							return
						}
						if res.Allowed {
							admitted.Add(1)
						}
						_, _ = l.Allow(context.Background(), "cold"+strconv.Itoa(g*1000+i), 1)
					}
				}()
			}
			wg.Wait()
			// 3,200 requests over 10 keys of 100 each.
			if got := admitted.Load(); got != 1000 {
				t.Fatalf("admitted %d, want exactly 1000", got)
			}
		})
	}
}

// TestMemoryCapWhileKeysRotate measures the process's heap, so it runs
// alone: parallel tests would allocate into the measurement.
func TestMemoryCapWhileKeysRotate(t *testing.T) {
	const maxKeys = 2048
	mem := newMem(t, MemoryOptions{MaxKeys: maxKeys})
	l := newLimiter(t, Options{Store: mem, Policies: []Policy{PerHour("h", 10), {Name: "d", Algorithm: SlidingWindow, Limit: 100, Period: 24 * time.Hour}}})
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	// Fill to the cap, then measure while 200,000 more keys rotate through.
	for i := 0; i < 4*maxKeys; i++ {
		_, _ = l.Allow(context.Background(), "warm"+strconv.Itoa(i), 1)
	}
	before := heap()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25_000; i++ {
				_, _ = l.Allow(context.Background(), "rot"+strconv.Itoa(g)+":"+strconv.Itoa(i), 1)
			}
		}()
	}
	wg.Wait()
	if after := heap(); after > before+1<<20 {
		t.Fatalf("heap grew from %d to %d bytes while keys rotated under a cap", before, after)
	}
	st := mem.Stats()
	if st.Keys > maxKeys {
		t.Fatalf("%d keys held, cap %d", st.Keys, maxKeys)
	}
	if st.Evictions < 200_000-maxKeys {
		t.Fatalf("evictions %d, want at least %d", st.Evictions, 200_000-maxKeys)
	}
	slots := 0
	for i := range mem.shards {
		sh := &mem.shards[i]
		slots += len(sh.tab.Load().slots)
		if n := len(sh.lru); n > sh.max {
			t.Fatalf("shard %d holds %d keys, cap %d", i, n, sh.max)
		}
		if n := len(sh.tab.Load().slots); n > 4*sh.max {
			t.Fatalf("shard %d table grew to %d slots, cap %d", i, n, sh.max)
		}
	}
	t.Logf("%d shards, %d slots allocated for cap %d, stats %+v", len(mem.shards), slots, maxKeys, st)
}

func TestMemoryEvictsExpiredFirstThenLRU(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	mem := newMem(t, MemoryOptions{MaxKeys: 64, Shards: 1, Clock: clock.Now, SweepInterval: -1})
	short := newLimiter(t, Options{Name: "short", Store: mem, Policies: []Policy{{Name: "s", Algorithm: FixedWindow, Limit: 5, Period: time.Second}}})
	long := newLimiter(t, Options{Name: "long", Store: mem, Policies: []Policy{{Name: "l", Algorithm: FixedWindow, Limit: 5, Period: time.Hour}}})
	ctx := context.Background()
	for i := 0; i < 32; i++ {
		_, _ = long.Allow(ctx, "l"+strconv.Itoa(i), 1)
		_, _ = short.Allow(ctx, "s"+strconv.Itoa(i), 1)
	}
	if st := mem.Stats(); st.Keys != 64 {
		t.Fatalf("keys %d, want 64", st.Keys)
	}
	clock.Add(2 * time.Second) // the short keys expire
	// Use every long key so the expired short ones sit at the LRU tail.
	// Recency is the time of last use: the clock moves between uses.
	for i := 0; i < 32; i++ {
		clock.Add(time.Millisecond)
		_, _ = long.Allow(ctx, "l"+strconv.Itoa(i), 1)
	}
	for i := 0; i < 32; i++ {
		clock.Add(time.Millisecond)
		_, _ = long.Allow(ctx, "new"+strconv.Itoa(i), 1)
	}
	st := mem.Stats()
	if st.Evictions != 0 || st.Expired != 32 || st.Keys != 64 {
		t.Fatalf("stats %+v, want 32 expired reclaimed and no live key evicted", st)
	}
	// Now the store is full of live keys: the least recently used goes.
	// Touch l0 so that l1 is the oldest.
	clock.Add(time.Millisecond)
	_, _ = long.Allow(ctx, "l0", 0)
	_, _ = long.Allow(ctx, "l0", 1) // l0 at 3
	_, _ = long.Allow(ctx, "another", 1)
	if st := mem.Stats(); st.Evictions != 1 {
		t.Fatalf("evictions %d, want 1", st.Evictions)
	}
	if res, _ := long.Allow(ctx, "l0", 0); res.Remaining != 2 {
		t.Fatalf("recently used key lost its state: remaining %d, want 2", res.Remaining)
	}
	if res, _ := long.Allow(ctx, "l1", 0); res.Remaining != 5 {
		t.Fatalf("least recently used key kept its state: remaining %d, want 5", res.Remaining)
	}
}

// TestMemoryLRUMatchesModel drives a full shard with a random mix of
// keys under three policy shapes (a token bucket and a fixed window, which
// decide without locks, and a locked pair) and checks after every request
// that the store holds exactly the keys an exact LRU would.
func TestMemoryLRUMatchesModel(t *testing.T) {
	t.Parallel()
	const maxKeys = 64
	clock := newFakeClock()
	mem := newMem(t, MemoryOptions{MaxKeys: maxKeys, Shards: 1, Clock: clock.Now, SweepInterval: -1})
	limiters := []*Limiter{
		newLimiter(t, Options{Name: "tb", Store: mem, Policies: []Policy{{Name: "b", Limit: 1000, Period: time.Hour, Burst: 100_000}}}),
		newLimiter(t, Options{Name: "fw", Store: mem, Policies: []Policy{{Name: "f", Algorithm: FixedWindow, Limit: 1 << 20, Period: 24 * time.Hour}}}),
		newLimiter(t, Options{Name: "two", Store: mem, Policies: []Policy{
			{Name: "b", Limit: 1000, Period: time.Hour, Burst: 100_000},
			{Name: "s", Algorithm: SlidingWindow, Limit: 1 << 20, Period: 24 * time.Hour},
		}}),
	}
	rng := rand.New(rand.NewPCG(1, 2))
	used := map[uint64]int64{} // the model: key hash -> time of last use
	var evictions uint64
	for op := 0; op < 5000; op++ {
		clock.Add(time.Millisecond)
		now := clock.Now().UnixNano()
		l := limiters[rng.IntN(len(limiters))]
		key := "k" + strconv.Itoa(rng.IntN(3*maxKeys))
		cost := int64(1)
		if rng.IntN(5) == 0 {
			cost = 0 // a read: counts as a use of a held key, adds none
		}
		h := mem.hash(l.def, []byte(key))
		if _, err := l.Allow(context.Background(), key, cost); err != nil {
			t.Fatal(err)
		}
		if _, ok := used[h]; ok || cost > 0 {
			if _, ok := used[h]; !ok && len(used) == maxKeys {
				var lru uint64
				oldest := int64(math.MaxInt64)
				for k, u := range used {
					if u < oldest {
						lru, oldest = k, u
					}
				}
				delete(used, lru)
				evictions++
			}
			used[h] = now
		}
		sh := &mem.shards[0]
		sh.mu.Lock()
		held := len(sh.lru)
		tab := sh.tab.Load()
		for _, it := range sh.lru {
			if _, ok := used[tab.slots[it.slot].key.Load()]; !ok {
				t.Fatalf("op %d: the store holds a key the model evicted", op)
			}
		}
		sh.mu.Unlock()
		if held != len(used) {
			t.Fatalf("op %d: store holds %d keys, model %d", op, held, len(used))
		}
	}
	if st := mem.Stats(); st.Evictions != evictions || st.Expired != 0 || evictions < 1000 {
		t.Fatalf("stats %+v, model evictions %d", st, evictions)
	}
}

func TestMemorySweeperReclaimsExpired(t *testing.T) {
	t.Parallel()
	// In a synctest bubble the sweeper's ticker runs on the bubble's
	// clock: each wait below is one sweep, without real sleeping.
	synctest.Test(t, func(t *testing.T) {
		clock := newFakeClock()
		mem := newMem(t, MemoryOptions{Clock: clock.Now, SweepInterval: 5 * time.Millisecond, Shards: 4, MaxKeys: 4096})
		l := newLimiter(t, Options{Store: mem, Policies: []Policy{PerSecond("s", 10)}})
		for i := 0; i < 3000; i++ {
			_, _ = l.Allow(context.Background(), strconv.Itoa(i), 1)
		}
		if st := mem.Stats(); st.Keys != 3000 {
			t.Fatalf("keys %d, want 3000", st.Keys)
		}
		clock.Add(time.Minute)
		for sweeps := 0; mem.Stats().Keys > 0; sweeps++ {
			if sweeps == 100 {
				t.Fatalf("sweeper left %d keys after %d sweeps", mem.Stats().Keys, sweeps)
			}
			time.Sleep(5 * time.Millisecond)
			synctest.Wait()
		}
		if st := mem.Stats(); st.Expired != 3000 || st.Evictions != 0 {
			t.Fatalf("stats %+v", st)
		}
	})
}

func TestMemoryCloseStopsGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	// In a synctest bubble the sweepers tick on the bubble's clock, and
	// the bubble fails if any goroutine outlives it.
	synctest.Test(t, func(t *testing.T) {
		mem, err := NewMemoryStore(MemoryOptions{SweepInterval: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		l, err := New(Options{Policies: []Policy{PerSecond("s", 1)}, OnStoreError: FailLocal, Store: mem})
		if err != nil {
			t.Fatal(err)
		}
		// Let the sweepers tick before they are stopped.
		time.Sleep(5 * time.Millisecond)
		_ = l.Close() // closes the fallback it created
		_ = mem.Close()
		_ = mem.Close() // twice is fine
		// Decisions still work after Close.
		var res Result
		mem.decideHash(l.def, 1, 1, &res)
		if !res.Allowed {
			t.Fatal("closed store refused")
		}
		l2, err := New(Options{Policies: []Policy{PerSecond("s", 1)}})
		if err != nil {
			t.Fatal(err)
		}
		_ = l2.Close() // closes the memory store it created
	})
}

// TestMemoryCASOneKeyExact hammers one key from many goroutines with mixed
// costs: the compare-and-swap path must admit exactly the limit's worth of
// units, and the key's quota must show exactly what was taken.
func TestMemoryCASOneKeyExact(t *testing.T) {
	t.Parallel()
	const limit = 1000
	for _, p := range []Policy{
		{Name: "tb", Limit: limit, Period: time.Hour},
		{Name: "fw", Algorithm: FixedWindow, Limit: limit, Period: 24 * time.Hour},
	} {
		t.Run(p.Algorithm.String(), func(t *testing.T) {
			clock := newFakeClock()
			mem := newMem(t, MemoryOptions{Clock: clock.Now})
			l := newLimiter(t, Options{Store: mem, Policies: []Policy{p}})
			if l.def.kind == kindLocked {
				t.Fatal("a lone token bucket or fixed window should take the lock-free path")
			}
			var units, admitted atomic.Int64
			var wg sync.WaitGroup
			for g := 0; g < 64; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < 100; i++ {
						cost := int64(1 + (g+i)%3)
						res, err := l.Allow(context.Background(), "one", cost)
						if err != nil {
							t.Error(err)
							return
						}
						if res.Allowed {
							units.Add(cost)
							admitted.Add(1)
						}
					}
				}()
			}
			wg.Wait()
			res, _ := l.Allow(context.Background(), "one", 0)
			if got := units.Load(); got > limit || res.Remaining != limit-got {
				t.Fatalf("admitted %d units in %d requests, remaining %d; want at most %d and the rest remaining", got, admitted.Load(), res.Remaining, limit)
			}
			if got := units.Load(); got < limit-2 {
				t.Fatalf("admitted only %d units of %d", got, limit)
			}
			// Cost 1 takes what is left, one request at a time, exactly.
			var more atomic.Int64
			var wg2 sync.WaitGroup
			for g := 0; g < 16; g++ {
				wg2.Add(1)
				go func() {
					defer wg2.Done()
					for i := 0; i < 10; i++ {
						if res, _ := l.Allow(context.Background(), "one", 1); res.Allowed {
							more.Add(1)
						}
					}
				}()
			}
			wg2.Wait()
			if got := units.Load() + more.Load(); got != limit {
				t.Fatalf("admitted %d units in all, want exactly %d", got, limit)
			}
		})
	}
}

// TestMemoryFixedWindowOutgrowsItsWord runs a fixed window whose count
// needs most of the state word, so that the window index soon outgrows the
// rest: the key's state must carry on in a new entry.
func TestMemoryFixedWindowOutgrowsItsWord(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	mem := newMem(t, MemoryOptions{Clock: clock.Now, SweepInterval: -1})
	const limit = MaxLimit
	l := newLimiter(t, Options{Store: mem, Policies: []Policy{{Name: "fw", Algorithm: FixedWindow, Limit: limit, Period: time.Millisecond}}})
	ctx := context.Background()
	for round := 0; round < 4; round++ {
		for i := int64(1); i <= 3; i++ {
			res, _ := l.Allow(ctx, "k", 1)
			if !res.Allowed || res.Remaining != limit-i {
				t.Fatalf("round %d, request %d: %+v", round, i, res)
			}
		}
		// 13 bits of window index are left: jump well past them.
		clock.Add(time.Duration(round+1) * 10 * time.Second)
	}
	if st := mem.Stats(); st.Keys != 1 || st.Evictions != 0 {
		t.Fatalf("stats %+v, want the one key", st)
	}
}

// TestMemoryShapeCollision gives two policy sets of different shapes the
// same table key, as a hash collision would: each decision replaces the
// other's entry instead of misreading it.
func TestMemoryShapeCollision(t *testing.T) {
	t.Parallel()
	mem := newMem(t, MemoryOptions{SweepInterval: -1})
	sets := make([]*policySet, 0, 3)
	for _, ps := range [][]Policy{
		{PerSecond("a", 5)},
		{{Name: "b", Algorithm: FixedWindow, Limit: 5, Period: time.Minute}},
		{PerSecond("a", 5), {Name: "c", Algorithm: SlidingWindow, Limit: 5, Period: time.Minute}, PerHour("d", 9)},
	} {
		set, err := compileSet("", ps)
		if err != nil {
			t.Fatal(err)
		}
		sets = append(sets, set)
	}
	for i := 0; i < 30; i++ {
		var res Result
		mem.decideHash(sets[i%3], 42, 1, &res)
		if !res.Allowed || res.Remaining != 4 {
			t.Fatalf("decision %d on a replaced entry: %+v", i, res)
		}
	}
	if st := mem.Stats(); st.Keys != 1 {
		t.Fatalf("keys %d, want 1", st.Keys)
	}
}

// TestMemoryChurnUnderConcurrency lets decisions race evictions, sweeps and
// table growth on a small store with short windows, then checks that the
// table and the LRU heap still agree and the cap held.
func TestMemoryChurnUnderConcurrency(t *testing.T) {
	t.Parallel()
	const maxKeys = 128
	mem := newMem(t, MemoryOptions{MaxKeys: maxKeys, Shards: 2, SweepInterval: time.Millisecond})
	limiters := []*Limiter{
		newLimiter(t, Options{Name: "tb", Store: mem, Policies: []Policy{{Name: "b", Limit: 1000, Period: 10 * time.Millisecond}}}),
		newLimiter(t, Options{Name: "fw", Store: mem, Policies: []Policy{{Name: "f", Algorithm: FixedWindow, Limit: 50, Period: time.Millisecond}}}),
		newLimiter(t, Options{Name: "two", Store: mem, Policies: []Policy{
			{Name: "b", Limit: 1000, Period: 10 * time.Millisecond},
			{Name: "s", Algorithm: SlidingWindow, Limit: 50, Period: time.Millisecond},
		}}),
	}
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			for i := 0; i < 3000; i++ {
				l := limiters[rng.IntN(len(limiters))]
				key := "hot"
				if rng.IntN(2) == 0 {
					key = "k" + strconv.Itoa(rng.IntN(4*maxKeys))
				}
				if _, err := l.Allow(context.Background(), key, rng.Int64N(3)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	// Stop the sweeper: the checks below and Stats must see one state.
	_ = mem.Close()
	total := 0
	for i := range mem.shards {
		sh := &mem.shards[i]
		sh.mu.Lock()
		tab := sh.tab.Load()
		live := 0
		for n := range tab.slots {
			if k := tab.slots[n].key.Load(); k != 0 && tab.slots[n].word.Load() != deadWord {
				live++
				if j, ok := tab.find(k); !ok || j != int32(n) {
					t.Errorf("shard %d: key in slot %d is found at %d", i, n, j)
				}
			}
		}
		if live != len(sh.lru) || len(sh.lru) > sh.max || len(sh.locked) > live {
			t.Errorf("shard %d: table holds %d live keys, heap %d, cap %d", i, live, len(sh.lru), sh.max)
		}
		for j, it := range sh.lru {
			if int(tab.meta[it.slot].hidx) != j || tab.slots[it.slot].word.Load()&movedBit != 0 {
				t.Errorf("shard %d: key %d is not where the heap says", i, j)
			}
			if c := 2*j + 1; c < len(sh.lru) && sh.lru[c].stamp < it.stamp {
				t.Errorf("shard %d: heap order broken at %d", i, j)
			}
		}
		total += len(sh.lru)
		sh.mu.Unlock()
	}
	if st := mem.Stats(); st.Keys != total || st.Keys > maxKeys || st.Evictions+st.Expired == 0 {
		t.Fatalf("stats %+v, %d held", st, total)
	}
}

// TestSlotTouchResolution: a decision within touchGrain of the recorded
// last use leaves it (no write to the slot's line), a later one moves it.
func TestSlotTouchResolution(t *testing.T) {
	t.Parallel()
	var sl slot
	sl.used.Store(1000)
	sl.touch(1000 + touchGrain - 1)
	if got := sl.used.Load(); got != 1000 {
		t.Fatalf("used %d after a touch within the grain, want 1000", got)
	}
	sl.touch(1000 + touchGrain)
	if got := sl.used.Load(); got != 1000+touchGrain {
		t.Fatalf("used %d after a touch a grain later, want %d", got, 1000+touchGrain)
	}
	sl.touch(500) // an older time never moves recency back
	if got := sl.used.Load(); got != 1000+touchGrain {
		t.Fatalf("used %d after an older touch", got)
	}
}

// staleDecide decides key k of l's default set on the lock-free path at
// the store time now, as a decision that read the clock before another
// one stored the key's state would.
func staleDecide(t *testing.T, l *Limiter, mem *MemoryStore, k string, cost, now int64) Result {
	t.Helper()
	set := l.def
	h := mem.hash(set, []byte(k))
	sh := &mem.shards[h&mem.mask]
	var res Result
	res.n = 1
	if !mem.decideFast(set, sh.tab.Load(), h, cost, now, &res) {
		t.Fatal("the key should be decided on the lock-free path")
	}
	res.summarize()
	return res
}

// TestMemoryStaleReadingNeverMovesBack decides on the lock-free path with
// a clock reading older than a state another decision stored meanwhile.
// A fixed window's count carries on in the stored window rather than
// restarting in the reading's; a token bucket reports what it would at the
// earliest time its state could have been stored: nothing negative, no
// wait longer than the bucket, and a cost-0 look is never refused.
func TestMemoryStaleReadingNeverMovesBack(t *testing.T) {
	t.Parallel()
	const limit = 10
	ctx := context.Background()
	t.Run("fixed window", func(t *testing.T) {
		clock := newFakeClock()
		mem := newMem(t, MemoryOptions{Clock: clock.Now, SweepInterval: -1})
		l := newLimiter(t, Options{Store: mem, Policies: []Policy{{Name: "fw", Algorithm: FixedWindow, Limit: limit, Period: time.Minute}}})
		clock.Add(59 * time.Second)
		if res, _ := l.Allow(ctx, "k", 1); !res.Allowed {
			t.Fatalf("first request: %+v", res)
		}
		stale := mem.now()
		clock.Add(2 * time.Second) // the next window
		for range 3 {
			if res, _ := l.Allow(ctx, "k", 1); !res.Allowed {
				t.Fatalf("request in the next window: %+v", res)
			}
		}
		before, _ := l.Allow(ctx, "k", 0)
		res := staleDecide(t, l, mem, "k", 1, stale)
		if !res.Allowed || res.Remaining != before.Remaining-1 {
			t.Fatalf("stale decision: allowed %v, remaining %d; want allowed, %d", res.Allowed, res.Remaining, before.Remaining-1)
		}
		if res.ResetAfter <= 0 || res.ResetAfter > time.Minute {
			t.Fatalf("stale decision: reset after %v, want within one period", res.ResetAfter)
		}
		after, _ := l.Allow(ctx, "k", 0)
		if after.Remaining != before.Remaining-1 {
			t.Fatalf("remaining %d after the stale decision, want %d", after.Remaining, before.Remaining-1)
		}
	})
	t.Run("token bucket", func(t *testing.T) {
		// One unit per 6 s, a bucket of 60 s.
		clock := newFakeClock()
		mem := newMem(t, MemoryOptions{Clock: clock.Now, SweepInterval: -1})
		l := newLimiter(t, Options{Store: mem, Policies: []Policy{{Name: "tb", Limit: limit, Period: time.Minute}}})
		clock.Add(100 * time.Second)
		stale := mem.now() - int64(7*time.Second) // more than one unit old
		for i := range limit {
			if res, _ := l.Allow(ctx, "k", 1); !res.Allowed {
				t.Fatalf("request %d: %+v", i, res)
			}
		}
		res := staleDecide(t, l, mem, "k", 1, stale)
		if res.Allowed || res.Remaining != 0 || res.ResetAfter != time.Minute || res.RetryAfter != 6*time.Second {
			t.Fatalf("stale decision on an empty bucket: %+v; want refused, 0 remaining, reset after 1m, retry after 6s", res)
		}
		res = staleDecide(t, l, mem, "k", 0, stale)
		if !res.Allowed || res.Remaining != 0 {
			t.Fatalf("stale cost-0 look: %+v; want allowed, 0 remaining", res)
		}
		if after, _ := l.Allow(ctx, "k", 0); after.Remaining != 0 || after.ResetAfter != time.Minute {
			t.Fatalf("after the stale decisions: %+v; want the bucket as it was", after)
		}
	})
}
