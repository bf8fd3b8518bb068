package ratelimit

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/covetgo/covet/internal/testsvc"
	"github.com/redis/go-redis/v9"
)

// TestRedisOutage: with its Redis paused (SIGSTOP: connections stay open,
// nothing answers) or killed (connections refused), a FailClosed limiter
// answers every request with 503 problem+json and Retry-After within about
// a second, however the client's own timeouts and retries are set, and
// recovers by itself once Redis is back.
func TestRedisOutage(t *testing.T) {
	for _, mode := range []string{"paused", "killed"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			srv := testsvc.StartRedis(t)
			// go-redis defaults (5 s dial timeout, 3 s read timeout, three
			// retries): only the store's own deadline bounds a call.
			c := redis.NewClient(&redis.Options{Addr: srv.Addr(), ContextTimeoutEnabled: true})
			t.Cleanup(func() { _ = c.Close() })
			store, err := NewRedisStore(c, RedisOptions{Prefix: "covet_ratelimit_outage:"})
			if err != nil {
				t.Fatal(err)
			}
			l := newLimiter(t, Options{Store: store, StoreRetry: -1, Policies: []Policy{PerSecond("s", 100)}})
			h := l.Handler(okHandler)
			if w := serve(h, "192.0.2.20:1"); w.Code != http.StatusOK {
				t.Fatalf("with Redis up: %d", w.Code)
			}
			if mode == "paused" {
				srv.Pause()
			} else {
				srv.Kill()
			}
			lat := make([]time.Duration, 0, 20)
			for range 20 {
				began := time.Now()
				w := serve(h, "192.0.2.20:1")
				lat = append(lat, time.Since(began))
				if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" ||
					!strings.HasPrefix(w.Header().Get("Content-Type"), "application/problem+json") {
					t.Fatalf("store %s: %d %v %s", mode, w.Code, w.Header(), w.Body)
				}
			}
			p50, worst := percentiles(lat)
			t.Logf("ratelimit, Redis %s: p50 %v, max %v over %d requests", mode, p50, worst, len(lat))
			if worst > time.Second {
				t.Fatalf("a request with Redis %s took %v", mode, worst)
			}
			if mode == "paused" {
				srv.Resume()
			} else {
				srv.Restart()
			}
			deadline := time.Now().Add(5 * time.Second)
			for serve(h, "192.0.2.20:1").Code != http.StatusOK {
				if time.Now().After(deadline) {
					t.Fatal("the limiter did not recover after Redis came back")
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// percentiles returns the median and the maximum of lat.
func percentiles(lat []time.Duration) (p50, worst time.Duration) {
	s := slices.Clone(lat)
	slices.Sort(s)
	return s[len(s)/2], s[len(s)-1]
}
