package ratelimit

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/covetgo/covet/internal/testsvc"
)

// benchWriter is a ResponseWriter that keeps nothing, so benchmarks
// measure the stage rather than a recorder.
type benchWriter struct {
	h    http.Header
	code int
}

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *benchWriter) WriteHeader(code int)        { w.code = code }

func benchRequests(n int) []*http.Request {
	reqs := make([]*http.Request, n)
	for i := range reqs {
		r := httptest.NewRequest(http.MethodGet, "/api/notes", nil)
		r.RemoteAddr = "10." + strconv.Itoa(i>>16&255) + "." + strconv.Itoa(i>>8&255) + "." + strconv.Itoa(i&255) + ":4711"
		reqs[i] = r
	}
	return reqs
}

// runHandler serves reqs round-robin from parallel goroutines and fails if
// any request was refused (the benchmarks measure the allowed path).
func runHandler(b *testing.B, h http.Handler, reqs []*http.Request) {
	b.Helper()
	// Warm up: every key exists before timing.
	warm := &benchWriter{h: make(http.Header, 4)}
	for _, r := range reqs {
		clear(warm.h)
		h.ServeHTTP(warm, r)
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := &benchWriter{h: make(http.Header, 4)}
		i := int(next.Add(7919)) // goroutines start at different keys
		for pb.Next() {
			clear(w.h)
			w.code = 0
			h.ServeHTTP(w, reqs[i%len(reqs)])
			if w.code != http.StatusOK {
				b.Fatalf("status %d", w.code)
			}
			i++
		}
	})
}

var benchPolicies = []Policy{{Name: "api", Limit: 1_000_000, Period: time.Second, Burst: 1 << 40}}

func BenchmarkHandlerMemory(b *testing.B) {
	for _, n := range []int{1, 100_000} {
		name := "HotKey"
		if n > 1 {
			name = "Keys100k"
		}
		b.Run(name, func(b *testing.B) {
			mem := newMem(b, MemoryOptions{MaxKeys: 200_000})
			l := newLimiter(b, Options{Store: mem, Policies: benchPolicies})
			runHandler(b, l.Handler(okHandler), benchRequests(n))
		})
	}
}

func BenchmarkHandlerMemoryTwoPoliciesLegacy(b *testing.B) {
	mem := newMem(b, MemoryOptions{})
	l := newLimiter(b, Options{Store: mem, LegacyHeaders: true, Policies: []Policy{
		benchPolicies[0], {Name: "day", Algorithm: SlidingWindow, Limit: 1 << 40, Period: 24 * time.Hour},
	}})
	runHandler(b, l.Handler(okHandler), benchRequests(1000))
}

// BenchmarkMemoryDecide is the store decision alone, per algorithm.
func BenchmarkMemoryDecide(b *testing.B) {
	for _, alg := range []Algorithm{TokenBucket, SlidingWindow, FixedWindow} {
		b.Run(alg.String(), func(b *testing.B) {
			mem := newMem(b, MemoryOptions{})
			p := Policy{Name: "p", Algorithm: alg, Limit: 1 << 40, Period: time.Hour}
			if alg == TokenBucket {
				p = benchPolicies[0]
			}
			set, err := compileSet("", []Policy{p})
			if err != nil {
				b.Fatal(err)
			}
			keys := make([][]byte, 1024)
			for i := range keys {
				keys[i] = []byte("client-" + strconv.Itoa(i))
			}
			ctx := context.Background()
			var warm Result
			for _, k := range keys {
				_ = mem.decide(ctx, set, k, 1, &warm)
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var res Result
				i := 0
				for pb.Next() {
					_ = mem.decide(ctx, set, keys[i&1023], 1, &res)
					i++
				}
			})
		})
	}
}

func BenchmarkHandlerRedis(b *testing.B) {
	addr := testsvc.RedisAddr(b)
	c := redisClientTB(b, addr)
	store, err := NewRedisStore(c, RedisOptions{Prefix: "covet_ratelimit_bench:", Timeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	l := newLimiter(b, Options{Store: store, Policies: []Policy{
		{Name: "api", Limit: 1_000_000, Period: time.Second, Burst: 1 << 40},
		{Name: "day", Algorithm: FixedWindow, Limit: 1 << 40, Period: time.Hour},
	}})
	runHandler(b, l.Handler(okHandler), benchRequests(1000))
}

// TestAllocations pins the allocation budget: none in a memory-store
// decision, at most two per allowed request through the whole stage.
func TestAllocations(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts")
	}
	mem := newMem(t, MemoryOptions{})
	l := newLimiter(t, Options{Store: mem, Policies: []Policy{benchPolicies[0], {Name: "day", Algorithm: SlidingWindow, Limit: 1 << 40, Period: 24 * time.Hour}}})
	key := []byte("client")
	var res Result
	if n := testing.AllocsPerRun(1000, func() { _ = mem.decide(context.Background(), l.def, key, 1, &res) }); n != 0 {
		t.Errorf("store decision: %v allocs, want 0", n)
	}
	h := l.Handler(okHandler)
	r := benchRequests(1)[0]
	w := &benchWriter{h: make(http.Header, 4)}
	for _, legacy := range []bool{false, true} {
		l.legacy = legacy
		n := testing.AllocsPerRun(1000, func() {
			clear(w.h)
			h.ServeHTTP(w, r)
		})
		if n > 2 || w.code != http.StatusOK {
			t.Errorf("legacy=%v: %v allocs per allowed request (status %d), want at most 2", legacy, n, w.code)
		}
	}
}

// BenchmarkMemoryDecideKeys is the lock-free decision over many keys,
// where the cost is mostly the table's cache misses.
func BenchmarkMemoryDecideKeys(b *testing.B) {
	for _, n := range []int{1000, 100_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			mem := newMem(b, MemoryOptions{MaxKeys: 2 * n})
			set, err := compileSet("", []Policy{{Name: "p", Algorithm: FixedWindow, Limit: 1 << 40, Period: time.Hour}})
			if err != nil {
				b.Fatal(err)
			}
			hs := make([]uint64, n)
			for i := range hs {
				hs[i] = mem.hashAddr(set, netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
			}
			var res Result
			for _, h := range hs {
				mem.decideHash(set, h, 1, &res)
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var res Result
				i := int(rand.Uint64() % uint64(n))
				for pb.Next() {
					mem.decideHash(set, hs[i], 1, &res)
					if i++; i == n {
						i = 0
					}
				}
			})
		})
	}
}
