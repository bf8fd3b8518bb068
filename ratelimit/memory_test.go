package ratelimit

import (
	"context"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMemoryExactUnderConcurrency(t *testing.T) {
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
		slots += cap(mem.shards[i].ents)
		if n := len(mem.shards[i].ents); n > mem.shards[i].max {
			t.Fatalf("shard %d grew to %d slots, cap %d", i, n, mem.shards[i].max)
		}
	}
	t.Logf("%d shards, %d slots allocated for cap %d, stats %+v", len(mem.shards), slots, maxKeys, st)
}

func TestMemoryEvictsExpiredFirstThenLRU(t *testing.T) {
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
	for i := 0; i < 32; i++ {
		_, _ = long.Allow(ctx, "l"+strconv.Itoa(i), 1)
	}
	for i := 0; i < 32; i++ {
		_, _ = long.Allow(ctx, "new"+strconv.Itoa(i), 1)
	}
	st := mem.Stats()
	if st.Evictions != 0 || st.Expired != 32 || st.Keys != 64 {
		t.Fatalf("stats %+v, want 32 expired reclaimed and no live key evicted", st)
	}
	// Now the store is full of live keys: the least recently used goes.
	// Touch l0 so that l1 is the oldest.
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

func TestMemorySweeperReclaimsExpired(t *testing.T) {
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
	deadline := time.Now().Add(10 * time.Second)
	for mem.Stats().Keys > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("sweeper left %d keys", mem.Stats().Keys)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if st := mem.Stats(); st.Expired != 3000 || st.Evictions != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestMemoryCloseStopsGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	mem, err := NewMemoryStore(MemoryOptions{SweepInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	l, err := New(Options{Policies: []Policy{PerSecond("s", 1)}, OnStoreError: FailLocal, Store: mem})
	if err != nil {
		t.Fatal(err)
	}
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
}
