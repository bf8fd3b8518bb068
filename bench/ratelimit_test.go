package bench

import (
	"net/http"
	"strconv"
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

func BenchmarkRatelimit(b *testing.B) {
	noop := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	stages := []struct {
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
			return l.Handler(noop)
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
			return l.Handler(noop)
		}},
		{"ulule", func(b *testing.B) http.Handler {
			lim := limiter.New(memory.NewStore(), limiter.Rate{Period: time.Minute, Limit: rlLimit})
			return stdlib.NewMiddleware(lim).Handler(noop)
		}},
		{"httprate", func(b *testing.B) http.Handler {
			//lint:ignore SA1019 LimitByIP is the peer the comparison names; it keys by RemoteAddr like covet's default.
			return httprate.LimitByIP(rlLimit, time.Minute)(noop)
		}},
	}
	for _, keys := range []int{1, 100_000} {
		name := "HotKey"
		if keys > 1 {
			name = "Keys100k"
		}
		reqs := rlRequests(keys)
		for _, s := range stages {
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
