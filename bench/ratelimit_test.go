package bench

import (
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-chi/httprate"
	"github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/middleware/stdlib"
	"github.com/ulule/limiter/v3/drivers/store/memory"

	"github.com/covetgo/covet/ratelimit"
)

// rlWriter discards the body and keeps the header map for reuse.
type rlWriter struct {
	h      http.Header
	status int
}

func (w *rlWriter) Header() http.Header         { return w.h }
func (w *rlWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *rlWriter) WriteHeader(s int)           { w.status = s }

// rlRequests returns n requests from n distinct client addresses.
func rlRequests(n int) []*http.Request {
	reqs := make([]*http.Request, n)
	for i := range reqs {
		r, _ := http.NewRequest(http.MethodGet, "https://api.test/notes", nil)
		r.RemoteAddr = "10." + strconv.Itoa(i>>16&255) + "." + strconv.Itoa(i>>8&255) + "." + strconv.Itoa(i&255) + ":4711"
		reqs[i] = r
	}
	return reqs
}

// The limit is far above what a benchmark sends, so every library measures
// its allowed path (all of them set their rate-limit headers there).
const rlLimit = 1 << 40

var rlNoop = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })

// rlStages are the compared stages, covet first, the peers last.
var rlStages = []struct {
	name string
	mk   func(b *testing.B) http.Handler
}{
	{"covet", func(b *testing.B) http.Handler {
		l, err := ratelimit.New(ratelimit.Options{
			Store:    mustMemory(b),
			Policies: []ratelimit.Policy{{Name: "api", Algorithm: ratelimit.FixedWindow, Limit: rlLimit, Period: time.Minute}},
		})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = l.Close() })
		return l.Handler(rlNoop)
	}},
	{"covet_gcra", func(b *testing.B) http.Handler {
		l, err := ratelimit.New(ratelimit.Options{
			Store:    mustMemory(b),
			Policies: []ratelimit.Policy{{Name: "api", Limit: 1_000_000, Period: time.Second, Burst: rlLimit}},
		})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = l.Close() })
		return l.Handler(rlNoop)
	}},
	{"ulule", func(b *testing.B) http.Handler {
		lim := limiter.New(memory.NewStore(), limiter.Rate{Period: time.Minute, Limit: rlLimit})
		return stdlib.NewMiddleware(lim).Handler(rlNoop)
	}},
	{"httprate", func(b *testing.B) http.Handler {
		//lint:ignore SA1019 LimitByIP is the peer the comparison names; it keys by RemoteAddr like covet's default.
		return httprate.LimitByIP(rlLimit, time.Minute)(rlNoop)
	}},
}

func BenchmarkRatelimit(b *testing.B) {
	for _, keys := range []int{1, 100_000} {
		name := "HotKey"
		if keys > 1 {
			name = "Keys100k"
		}
		reqs := rlRequests(keys)
		for _, s := range rlStages {
			b.Run(name+"/"+s.name, func(b *testing.B) {
				h := s.mk(b)
				// Warm up: every key exists before timing, so the numbers
				// are the steady state rather than first inserts.
				w := &rlWriter{h: make(http.Header, 4)}
				for _, r := range reqs {
					clear(w.h)
					h.ServeHTTP(w, r)
				}
				var start atomic.Int64
				b.ReportAllocs()
				cpu0 := processCPU()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					w := &rlWriter{h: make(http.Header, 4)}
					i := int(start.Add(7919))
					for pb.Next() {
						clear(w.h)
						w.status = 0
						h.ServeHTTP(w, reqs[i%len(reqs)])
						if w.status != http.StatusOK {
							b.Fatalf("status %d", w.status)
						}
						i++
					}
				})
				b.StopTimer()
				// The machine is shared: CPU time spent by this process
				// (GC included) is steadier than wall time under load.
				b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// processCPU returns the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func mustMemory(b *testing.B) *ratelimit.MemoryStore {
	s, err := ratelimit.NewMemoryStore(ratelimit.MemoryOptions{MaxKeys: 200_000})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

// BenchmarkRatelimit_Paired runs the same stages as BenchmarkRatelimit in
// alternating phases inside one benchmark loop: in each phase every worker
// (one per CPU) serves a block of requests through one stage, and the phase
// lasts until the last worker is done. It reports each stage's median phase
// time per request and covet's ratio to the faster peer, so a busy machine
// moves both sides of the ratio alike. The hot key stays contended: all
// workers hit the same stage at the same time. With 100,000 keys the
// stages' tables evict each other from the CPU caches between phases, so
// that case measures cold-cache lookups, where BenchmarkRatelimit
// measures a table that stays cached.
func BenchmarkRatelimit_Paired(b *testing.B) {
	for _, keys := range []int{1, 100_000} {
		name := "HotKey"
		if keys > 1 {
			name = "Keys100k"
		}
		b.Run(name, func(b *testing.B) {
			reqs := rlRequests(keys)
			var hs []http.Handler
			for _, mk := range rlStages {
				h := mk.mk(b)
				w := &rlWriter{h: make(http.Header, 4)}
				for _, r := range reqs {
					clear(w.h)
					h.ServeHTTP(w, r)
				}
				hs = append(hs, h)
			}
			const block = 2048
			workers := runtime.GOMAXPROCS(0)
			start := make([]chan int, workers)
			var done sync.WaitGroup
			for g := range workers {
				start[g] = make(chan int)
				go func() {
					w := &rlWriter{h: make(http.Header, 4)}
					i := g * 7919
					for s := range start[g] {
						h := hs[s]
						for range block {
							clear(w.h)
							w.status = 0
							h.ServeHTTP(w, reqs[i%len(reqs)])
							if w.status != http.StatusOK {
								panic("ratelimit benchmark: status " + strconv.Itoa(w.status))
							}
							i++
						}
						done.Done()
					}
				}()
			}
			defer func() {
				for _, c := range start {
					close(c)
				}
			}()
			times := make([][]time.Duration, len(hs))
			b.ReportAllocs()
			for b.Loop() {
				for s := range hs {
					t0 := time.Now()
					done.Add(workers)
					for _, c := range start {
						c <- s
					}
					done.Wait()
					times[s] = append(times[s], time.Since(t0))
				}
			}
			med := make([]float64, len(hs))
			for s, d := range times {
				slices.Sort(d)
				med[s] = float64(d[len(d)/2].Nanoseconds()) / float64(block*workers)
				b.ReportMetric(med[s], rlStages[s].name+"-ns/op")
			}
			peer := min(med[2], med[3])
			b.ReportMetric(med[0]/peer, "covet/peer")
			b.ReportMetric(med[1]/peer, "gcra/peer")
		})
	}
}
