package ratelimit

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	fuzzOnce sync.Once
	fuzzLim  *Limiter
	fuzzMem  *MemoryStore
)

const fuzzMaxKeys = 512

// FuzzHandler sends requests with arbitrary client addresses, API keys,
// forwarding headers, principals and costs through the stage: the answer is
// always 200, 400 or 429 with well-formed headers, nothing of the request is
// echoed, and the store never holds more than its cap.
func FuzzHandler(f *testing.F) {
	f.Add("192.0.2.1:1234", "key-1", "203.0.113.1", "alice", "1", "/api")
	f.Add("[2001:db8::1]:80", "", "", "", "0", "")
	f.Add("not-an-addr", strings.Repeat("k", 2000), "1.1.1.1, 2.2.2.2", "bob", "-5", "/x")
	f.Add("[fe80::1%eth0]:1", "\x00\xff", "<script>", "\"quoted\"", "999999999999999999999", "{route}")
	f.Add("1.2.3.4", " \t ", "unknown", "", "9223372036854775807", "/")
	f.Fuzz(func(t *testing.T, remote, apiKey, xff, principal, cost, route string) {
		fuzzOnce.Do(func() {
			var err error
			fuzzMem, err = NewMemoryStore(MemoryOptions{MaxKeys: fuzzMaxKeys, Shards: 1})
			if err != nil {
				t.Fatal(err)
			}
			fuzzLim, err = New(Options{
				Store: fuzzMem,
				Key: ByAPIKey("").And(ByIP()).And(ByPrincipal(func(r *http.Request) (string, bool) {
					p := r.Header.Get("X-Test-User")
					return p, p != ""
				})).And(ByRoute(func(r *http.Request) string { return r.Header.Get("X-Test-Route") })),
				Cost: func(r *http.Request) int64 {
					var n int64
					for _, c := range r.Header.Get("X-Test-Cost") {
						if c < '0' || c > '9' || n > 1<<40 {
							return n
						}
						n = n*10 + int64(c-'0')
					}
					return n
				},
				LegacyHeaders: true,
				Policies: []Policy{
					PerSecond("burst", 3),
					{Name: "fw", Algorithm: FixedWindow, Limit: 5, Period: time.Minute},
					{Name: "sw", Algorithm: SlidingWindow, Limit: 7, Period: time.Minute},
				},
			})
			if err != nil {
				t.Fatal(err)
			}
		})
		r := httptest.NewRequest(http.MethodGet, "/fuzz", nil)
		r.RemoteAddr = remote
		for k, v := range map[string]string{"X-Api-Key": apiKey, "X-Forwarded-For": xff, "X-Test-User": principal, "X-Test-Cost": cost, "X-Test-Route": route} {
			r.Header[k] = []string{v}
		}
		w := httptest.NewRecorder()
		fuzzLim.Handler(okHandler).ServeHTTP(w, r)
		switch w.Code {
		case http.StatusOK, http.StatusTooManyRequests:
			rl := w.Header().Get("RateLimit")
			if !strings.HasPrefix(rl, `"burst";r=`) || strings.Count(rl, ";t=") != 3 {
				t.Fatalf("RateLimit %q", rl)
			}
			if w.Code == 429 && w.Header().Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		case http.StatusBadRequest:
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		for _, in := range []string{apiKey, xff, principal, route} {
			if len(in) < 6 || strings.Contains("/fuzz application/problem+json nosniff no-store rate_limited Too many requests. Retry after the number of seconds in the Retry-After header. about:blank", in) {
				continue
			}
			if strings.Contains(w.Body.String(), in) {
				t.Fatalf("request value %q echoed in %s", in, w.Body)
			}
			for _, vs := range w.Header() {
				for _, v := range vs {
					if strings.Contains(v, in) {
						t.Fatalf("request value %q echoed in header %q", in, v)
					}
				}
			}
		}
		if n := fuzzMem.Stats().Keys; n > fuzzMaxKeys {
			t.Fatalf("%d keys, cap %d", n, fuzzMaxKeys)
		}
	})
}

// FuzzAlgorithms drives every algorithm with arbitrary clock steps and
// costs and checks the invariants: remaining never negative nor above
// capacity, a refusal always says when to retry, a window never admits more
// than its limit, and a bucket never more than its burst plus its refill.
func FuzzAlgorithms(f *testing.F) {
	f.Add([]byte{1, 0, 1, 0, 1, 200, 3, 7, 0, 0, 255, 1})
	f.Add([]byte{5, 5, 5, 5, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, ops []byte) {
		policies := []Policy{
			{Name: "tb", Limit: 4, Period: time.Second, Burst: 6},
			{Name: "fw", Algorithm: FixedWindow, Limit: 5, Period: time.Second},
			{Name: "sw", Algorithm: SlidingWindow, Limit: 5, Period: time.Second},
		}
		for _, p := range policies {
			c, err := compilePolicy(p)
			if err != nil {
				t.Fatal(err)
			}
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
			start := now
			var st state
			perWindow := map[int64]int64{}
			var total int64
			for i := 0; i+1 < len(ops); i += 2 {
				now += int64(ops[i]) * int64(7*time.Millisecond)
				cost := int64(ops[i+1] % 9)
				var d Decision
				next, _ := c.step(st, now, cost, &d)
				if d.Remaining < 0 || d.Remaining > c.burst {
					t.Fatalf("%s: remaining %d", p.Name, d.Remaining)
				}
				if !d.Allowed && d.RetryAfter <= 0 {
					t.Fatalf("%s: refusal without retry: %+v", p.Name, d)
				}
				if d.Allowed {
					st = next
					total += cost
					perWindow[now/c.periodNS] += cost
				}
			}
			switch p.Algorithm {
			case TokenBucket:
				if refill := (now-start)/c.interval + c.burst; total > refill {
					t.Fatalf("bucket admitted %d, at most %d", total, refill)
				}
			default:
				for w, n := range perWindow {
					if n > p.Limit {
						t.Fatalf("%s admitted %d in window %d", p.Name, n, w)
					}
				}
			}
		}
	})
}
