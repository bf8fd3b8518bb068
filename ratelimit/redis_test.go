package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/covetgo/covet/internal/testsvc"
	"github.com/redis/go-redis/v9"
)

// testPrefix returns a key prefix unique to this package and test run, and
// deletes its keys when the test ends.
func testPrefix(t *testing.T, c *redis.Client) string {
	t.Helper()
	return testsvc.RedisKeyPrefix(t, c, "covet_ratelimit_test")
}

func redisClient(t *testing.T, addr string) *redis.Client { return redisClientTB(t, addr) }

func redisClientTB(t testing.TB, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, PoolSize: 64, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func newRedis(t *testing.T, c redis.UniversalClient, prefix string) *RedisStore {
	t.Helper()
	s, err := NewRedisStore(c, RedisOptions{Prefix: prefix, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// topologies returns a client per Redis topology the stores must work on:
// a single node and a three-master Redis Cluster, each with a key prefix
// unique to the test, whose keys are deleted when it ends.
func topologies(t *testing.T) map[string]struct {
	c      redis.UniversalClient
	prefix string
} {
	t.Helper()
	single := redisClient(t, testsvc.RedisAddr(t))
	out := map[string]struct {
		c      redis.UniversalClient
		prefix string
	}{"single": {single, testPrefix(t, single)}}
	cluster := redis.NewClusterClient(&redis.ClusterOptions{Addrs: testsvc.RedisClusterAddrs(t), ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = cluster.Close() })
	prefix := "covet_ratelimit_test:" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		_ = cluster.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
			iter := n.Scan(ctx, 0, prefix+"*", 1000).Iterator()
			for iter.Next(ctx) {
				_ = n.Del(ctx, iter.Val()).Err()
			}
			return nil
		})
	})
	out["cluster"] = struct {
		c      redis.UniversalClient
		prefix string
	}{cluster, prefix}
	return out
}

// TestRedisMatchesMemory runs the same requests through both stores, on a
// single node and on a cluster; with long periods the few milliseconds
// between requests do not matter.
func TestRedisMatchesMemory(t *testing.T) {
	t.Parallel()
	policies := []Policy{
		{Name: "tb", Limit: 5, Period: 24 * time.Hour, Burst: 3},
		{Name: "fw", Algorithm: FixedWindow, Limit: 4, Period: 24 * time.Hour},
		{Name: "sw", Algorithm: SlidingWindow, Limit: 6, Period: 24 * time.Hour},
	}
	costs := []int64{1, 0, 2, 1, 7, 1, 1, 3, 0, 1}
	for topo, rc := range topologies(t) {
		for _, p := range append(policies, Policy{}) {
			name, ps := p.Algorithm.String(), []Policy{p}
			if p.Name == "" {
				// All three in one decision: one script over three keys,
				// which a cluster runs only if they share a slot.
				name, ps = "all", policies
			}
			t.Run(topo+"/"+name, func(t *testing.T) {
				mem := newLimiter(t, Options{Policies: ps})
				red := newLimiter(t, Options{Name: "mm-" + name, Policies: ps, Store: newRedis(t, rc.c, rc.prefix)})
				for i, cost := range costs {
					for _, key := range []string{"same", "other-" + name} {
						a, err := mem.Allow(context.Background(), key, cost)
						if err != nil {
							t.Fatal(err)
						}
						b, err := red.Allow(context.Background(), key, cost)
						if err != nil {
							t.Fatal(err)
						}
						if a.Allowed != b.Allowed || a.Remaining != b.Remaining || a.Limit != b.Limit {
							t.Fatalf("request %d (cost %d): memory %+v, redis %+v", i, cost, a, b)
						}
						if d := a.RetryAfter - b.RetryAfter; d < -time.Second || d > time.Second {
							t.Fatalf("request %d: retry-after memory %v, redis %v", i, a.RetryAfter, b.RetryAfter)
						}
						if d := a.ResetAfter - b.ResetAfter; d < -time.Second || d > time.Second {
							// Windows are aligned to the same epoch on both clocks.
							t.Fatalf("request %d: reset-after memory %v, redis %v", i, a.ResetAfter, b.ResetAfter)
						}
					}
				}
			})
		}
	}
}

// redisTime returns the server's time.
func redisTime(t *testing.T, c *redis.Client) time.Time {
	t.Helper()
	tm, err := c.Time(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// TestRedisDistributed: two limiter instances with their own clients (one
// with its local clock skewed by minutes) share one policy; thousands of
// concurrent requests admit exactly the limit.
func TestRedisDistributed(t *testing.T) {
	t.Parallel()
	addr := testsvc.RedisAddr(t)
	admin := redisClient(t, addr)
	prefix := testPrefix(t, admin)
	const limit = 150
	const perInstance = 1100 // 2,200 requests in all
	skewed := func() time.Time { return time.Now().Add(7 * time.Minute) }
	policies := []Policy{
		{Name: "tb", Limit: limit, Period: 24 * time.Hour},
		{Name: "fw", Algorithm: FixedWindow, Limit: limit, Period: 24 * time.Hour},
		{Name: "sw", Algorithm: SlidingWindow, Limit: limit, Period: 24 * time.Hour},
	}
	for _, p := range policies {
		t.Run(p.Algorithm.String(), func(t *testing.T) {
			var instances [2]http.Handler
			var limiters [2]*Limiter
			for i := range instances {
				opts := Options{Name: "dist", Policies: []Policy{p}, Store: newRedis(t, redisClient(t, addr), prefix)}
				if i == 1 {
					opts.Clock = skewed
				}
				limiters[i] = newLimiter(t, opts)
				instances[i] = limiters[i].Handler(okHandler)
			}
			start := redisTime(t, admin)
			var admitted, refused atomic.Int64
			var wg sync.WaitGroup
			gate := make(chan struct{})
			for i := 0; i < 2*perInstance; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-gate
					w := serve(instances[i%2], "198.51.100.7:4000")
					switch w.Code {
					case http.StatusOK:
						admitted.Add(1)
					case http.StatusTooManyRequests:
						refused.Add(1)
					default:
						t.Errorf("status %d: %s", w.Code, w.Body)
					}
				}()
			}
			close(gate)
			wg.Wait()
			end := redisTime(t, admin)
			for _, l := range limiters {
				if st := l.Stats(); st.StoreErrors != 0 {
					t.Fatalf("store errors: %+v", st)
				}
			}
			got := admitted.Load()
			if got+refused.Load() != 2*perInstance {
				t.Fatalf("%d admitted + %d refused != %d", got, refused.Load(), 2*perInstance)
			}
			per := int64(p.Period)
			sameWindow := start.UnixNano()/per == end.UnixNano()/per
			switch {
			case p.Algorithm == TokenBucket || sameWindow:
				// A token every 576 s: no refill during the test, and no
				// window edge crossed.
				if got != limit {
					t.Fatalf("admitted %d, want exactly %d", got, limit)
				}
			default:
				// The test straddled a window edge (a chance of about one in
				// 80,000): each window admits at most the limit.
				if got < limit || got > 2*limit {
					t.Fatalf("admitted %d across a window edge, want %d to %d", got, limit, 2*limit)
				}
			}
			t.Logf("%s: %d admitted of %d", p.Algorithm, got, 2*perInstance)
		})
	}
}

// countingHook counts the commands a client sends (a round trip each, as
// nothing here pipelines).
type countingHook struct {
	mu   sync.Mutex
	cmds []string
}

func (h *countingHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *countingHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.mu.Lock()
		h.cmds = append(h.cmds, cmd.Name())
		h.mu.Unlock()
		return next(ctx, cmd)
	}
}
func (h *countingHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.mu.Lock()
		h.cmds = append(h.cmds, "pipeline")
		h.mu.Unlock()
		return next(ctx, cmds)
	}
}

func (h *countingHook) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.cmds
	h.cmds = nil
	return out
}

func TestRedisOneRoundTripPerDecision(t *testing.T) {
	t.Parallel()
	addr := testsvc.RedisAddr(t)
	c := redisClient(t, addr)
	prefix := testPrefix(t, c)
	hook := &countingHook{}
	c.AddHook(hook)
	l := newLimiter(t, Options{Store: newRedis(t, c, prefix), Policies: []Policy{
		PerSecond("burst", 50),
		{Name: "hour", Algorithm: FixedWindow, Limit: 1000, Period: time.Hour},
		{Name: "day", Algorithm: SlidingWindow, Limit: 5000, Period: 24 * time.Hour},
	}})
	h := l.Handler(okHandler)
	serve(h, "203.0.113.9:1") // warm up: the script may need loading once
	hook.take()
	const n = 200
	for i := 0; i < n; i++ {
		serve(h, "203.0.113."+strconv.Itoa(i%50)+":1")
	}
	cmds := hook.take()
	if len(cmds) != n {
		t.Fatalf("%d commands for %d decisions of 3 policies: %v", len(cmds), n, cmds[:min(len(cmds), 10)])
	}
	for _, name := range cmds {
		if name != "evalsha" {
			t.Fatalf("unexpected command %q", name)
		}
	}
}

func TestRedisAfterScriptFlush(t *testing.T) {
	t.Parallel()
	addr := testsvc.RedisAddr(t)
	c := redisClient(t, addr)
	prefix := testPrefix(t, c)
	hook := &countingHook{}
	c.AddHook(hook)
	l := newLimiter(t, Options{Store: newRedis(t, c, prefix), Policies: []Policy{{Name: "fw", Algorithm: FixedWindow, Limit: 3, Period: time.Hour}}})
	ctx := context.Background()
	if res, err := l.Allow(ctx, "k", 1); err != nil || !res.Allowed {
		t.Fatalf("%+v %v", res, err)
	}
	if err := c.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	hook.take()
	res, err := l.Allow(ctx, "k", 1)
	if err != nil || !res.Allowed || res.Remaining != 1 {
		t.Fatalf("after SCRIPT FLUSH: %+v %v", res, err)
	}
	if cmds := hook.take(); strings.Join(cmds, ",") != "evalsha,eval" {
		t.Fatalf("after SCRIPT FLUSH: commands %v, want evalsha then eval", cmds)
	}
	if _, err := l.Allow(ctx, "k", 1); err != nil {
		t.Fatal(err)
	}
	if cmds := hook.take(); strings.Join(cmds, ",") != "evalsha" {
		t.Fatalf("script not cached again: %v", cmds)
	}
}

func TestRedisKeysAndTTLs(t *testing.T) {
	t.Parallel()
	addr := testsvc.RedisAddr(t)
	c := redisClient(t, addr)
	prefix := testPrefix(t, c)
	l := newLimiter(t, Options{Name: "ttl", Store: newRedis(t, c, prefix), Key: ByAPIKey(""), Policies: []Policy{
		// Periods long enough that a loaded machine still finds every key
		// (a bucket's key lives Period/Limit after one request), short
		// enough to watch them expire.
		{Name: "tb", Limit: 2, Period: 2 * time.Second},
		{Name: "fw", Algorithm: FixedWindow, Limit: 2, Period: 2 * time.Second},
		{Name: "sw", Algorithm: SlidingWindow, Limit: 2, Period: 2 * time.Second},
	}})
	h := l.Handler(okHandler)
	const secret = "sk_live_do_not_store_me"
	if w := serve(h, "192.0.2.1:1", "X-API-Key", secret); w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	ctx := context.Background()
	keys, err := c.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 3 {
		t.Fatalf("keys %v, want one per policy", keys)
	}
	tag := ""
	for _, k := range keys {
		if strings.Contains(k, secret) {
			t.Fatalf("API key stored in clear: %q", k)
		}
		open, end := strings.IndexByte(k, '{'), strings.IndexByte(k, '}')
		if !strings.HasPrefix(k, prefix+"{ttl:") || open < 0 || end < open {
			t.Fatalf("key %q lacks the prefix and hash tag", k)
		}
		if tag == "" {
			tag = k[open : end+1]
		} else if k[open:end+1] != tag {
			t.Fatalf("keys of one decision have different hash tags: %v", keys)
		}
		ttl, err := c.PTTL(ctx, k).Result()
		if err != nil || ttl <= 0 || ttl > 4*time.Second {
			t.Fatalf("key %q TTL %v (%v)", k, ttl, err)
		}
	}
	// Idle keys expire by themselves (a real Redis, so real time).
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := c.Exists(ctx, keys...).Result()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d keys still there", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestRedisStoreOptions(t *testing.T) {
	t.Parallel()
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	defer c.Close()
	noCtx := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer noCtx.Close()
	if _, err := NewRedisStore(noCtx, RedisOptions{}); err == nil {
		t.Error("NewRedisStore accepted a client that ignores context deadlines")
	}
	for _, o := range []RedisOptions{{Prefix: "a{b"}, {Prefix: "x}"}, {Timeout: -1}} {
		if _, err := NewRedisStore(c, o); err == nil {
			t.Errorf("NewRedisStore accepted %+v", o)
		}
	}
	if _, err := NewRedisStore(nil, RedisOptions{}); err == nil {
		t.Error("NewRedisStore accepted a nil client")
	}
}

func TestRedisRestartAndFailurePolicies(t *testing.T) {
	srv := testsvc.StartRedis(t)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1, DialTimeout: 200 * time.Millisecond, ContextTimeoutEnabled: true})
	defer c.Close()
	store, err := NewRedisStore(c, RedisOptions{Prefix: "covet_ratelimit_restart:", Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	policies := []Policy{{Name: "fw", Algorithm: FixedWindow, Limit: 2, Period: time.Hour}}
	mk := func(f FailurePolicy) (*Limiter, http.Handler) {
		l := newLimiter(t, Options{Name: strings.ReplaceAll(f.String(), "_", "-"), Store: store, Policies: policies, OnStoreError: f, StoreRetry: -1})
		return l, l.Handler(okHandler)
	}
	closedL, closedH := mk(FailClosed)
	openL, openH := mk(FailOpen)
	localL, localH := mk(FailLocal)
	for _, h := range []http.Handler{closedH, openH, localH} {
		if w := serve(h, "192.0.2.10:1"); w.Code != http.StatusOK {
			t.Fatalf("with Redis up: %d", w.Code)
		}
	}

	srv.Kill()
	began := time.Now()
	w := serve(closedH, "192.0.2.10:1")
	if took := time.Since(began); took > 2*time.Second {
		t.Fatalf("a decision with Redis down took %v", took)
	}
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), `"code":"rate_limit_unavailable"`) {
		t.Fatalf("fail closed: %d %v %s", w.Code, w.Header(), w.Body)
	}
	for i := 0; i < 5; i++ {
		if w := serve(openH, "192.0.2.10:1"); w.Code != http.StatusOK || w.Header().Get("RateLimit") != "" {
			t.Fatalf("fail open: %d %v", w.Code, w.Header())
		}
	}
	codes := []int{}
	for i := 0; i < 3; i++ {
		codes = append(codes, serve(localH, "192.0.2.10:1").Code)
	}
	if fmt.Sprint(codes) != "[200 200 429]" {
		t.Fatalf("local fallback: %v, want [200 200 429]", codes)
	}
	if st := closedL.Stats(); st.StoreErrors != 1 || st.FailedClosed != 1 {
		t.Fatalf("closed stats %+v", st)
	}
	if st := openL.Stats(); st.FailedOpen != 5 {
		t.Fatalf("open stats %+v", st)
	}
	if st := localL.Stats(); st.FailedLocal != 3 {
		t.Fatalf("local stats %+v", st)
	}

	// Restart: a fresh server with an empty script cache and no keys.
	srv.Restart()
	var res Result
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err = closedL.Allow(context.Background(), "after", 1)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no decision after the restart: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !res.Allowed || res.Remaining != 1 {
		t.Fatalf("after restart: %+v", res)
	}
}

// TestRedisNoHang: a server that accepts connections and never answers
// costs a decision its deadline, not a hang.
func TestRedisNoHang(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns sync.WaitGroup
	// The server holds every connection, silent, until the test is over.
	over := make(chan struct{})
	defer close(over)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() { defer conns.Done(); <-over; c.Close() }()
		}
	}()
	c := redis.NewClient(&redis.Options{Addr: ln.Addr().String(), MaxRetries: -1, ContextTimeoutEnabled: true})
	defer c.Close()
	store, err := NewRedisStore(c, RedisOptions{Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	l := newLimiter(t, Options{Store: store, Policies: []Policy{PerSecond("s", 5)}, StoreRetry: time.Minute})
	began := time.Now()
	_, err = l.Allow(context.Background(), "k", 1)
	if took := time.Since(began); took > time.Second {
		t.Fatalf("decision took %v", took)
	}
	if !errors.Is(err, ErrStore) {
		t.Fatalf("want ErrStore, got %v", err)
	}
	// During StoreRetry the store is not asked again.
	if _, err := l.Allow(context.Background(), "k", 1); !errors.Is(err, ErrStore) || err != errStoreDown {
		t.Fatalf("second decision asked the store again: %v", err)
	}
	rec := httptest.NewRecorder()
	l.Handler(okHandler).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "60" {
		t.Fatalf("fail closed: %d %v", rec.Code, rec.Header())
	}
	_ = c.Close()
	ln.Close()
}

func TestRedisAllOrNothing(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	policies := []Policy{
		{Name: "tb", Limit: 3, Period: day},
		{Name: "fw", Algorithm: FixedWindow, Limit: 5, Period: day},
		{Name: "sw", Algorithm: SlidingWindow, Limit: 4, Period: day},
	}
	limiters := map[string]*Limiter{"memory": newLimiter(t, Options{Policies: policies})}
	for topo, rc := range topologies(t) {
		limiters["redis-"+topo] = newLimiter(t, Options{Store: newRedis(t, rc.c, rc.prefix), Policies: policies})
	}
	for name, l := range limiters {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			admitted := 0
			for range 10 {
				res, err := l.Allow(ctx, "k", 1)
				if err != nil {
					t.Fatal(err)
				}
				if res.Allowed {
					admitted++
				} else if res.Policy != "tb" {
					t.Fatalf("refused by %q, want tb: %+v", res.Policy, res)
				}
			}
			if admitted != 3 {
				t.Fatalf("admitted %d, want 3", admitted)
			}
			res, err := l.Allow(ctx, "k", 1)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]int64{}
			for _, d := range res.Decisions() {
				got[d.Policy] = d.Remaining
			}
			// Refusals took nothing from the windows, and policies that had
			// room report their quota as it stays.
			if got["tb"] != 0 || got["fw"] != 2 || got["sw"] != 1 {
				t.Fatalf("remaining %v, want tb 0, fw 2, sw 1", got)
			}
		})
	}
}
