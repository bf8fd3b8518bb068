package ratelimit

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/covetgo/covet/clientip"
	"github.com/covetgo/covet/internal/testsvc"
	"github.com/ulule/limiter/v3"
	ululememory "github.com/ulule/limiter/v3/drivers/store/memory"
	uluredis "github.com/ulule/limiter/v3/drivers/store/redis"
)

func frozenLimiter(t *testing.T, opts Options) (*Limiter, *fakeClock) {
	t.Helper()
	clock := newFakeClock()
	if opts.Store == nil {
		opts.Store = newMem(t, MemoryOptions{Clock: clock.Now, SweepInterval: -1})
	}
	return newLimiter(t, opts), clock
}

func TestHeaders(t *testing.T) {
	t.Parallel()
	l, clock := frozenLimiter(t, Options{Policies: []Policy{
		{Name: "burst", Limit: 2, Period: 1500 * time.Millisecond},
		{Name: "hour", Algorithm: FixedWindow, Limit: 100, Period: time.Hour},
	}})
	clock.Add(10 * time.Minute)
	h := l.Handler(okHandler)
	w := serve(h, "192.0.2.1:1")
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	if got, want := w.Header().Get("RateLimit-Policy"), `"burst";q=2;w=2, "hour";q=100;w=3600`; got != want {
		t.Errorf("RateLimit-Policy %q, want %q", got, want)
	}
	// 750 ms to refill one token rounds up to 1 s; 50 minutes left in the hour.
	if got, want := w.Header().Get("RateLimit"), `"burst";r=1;t=1, "hour";r=99;t=3000`; got != want {
		t.Errorf("RateLimit %q, want %q", got, want)
	}
	for _, k := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After"} {
		if v := w.Header().Values(k); len(v) != 0 {
			t.Errorf("%s set without being asked: %v", k, v)
		}
	}
	serve(h, "192.0.2.1:1")
	w = serve(h, "192.0.2.1:1")
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("third request: %d", w.Code)
	}
	var prob map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &prob); err != nil {
		t.Fatalf("body %q: %v", w.Body, err)
	}
	checks := map[string]string{
		"Content-Type":  "application/problem+json",
		"Cache-Control": "no-store",
		// The next token is 750 ms away: rounded up, never earlier.
		"Retry-After": "1",
		"RateLimit":   `"burst";r=0;t=2, "hour";r=98;t=3000`,
	}
	for k, want := range checks {
		if got := w.Header().Get(k); got != want {
			t.Errorf("%s %q, want %q", k, got, want)
		}
	}
	if prob["code"] != "rate_limited" || prob["status"] != float64(429) {
		t.Errorf("problem %v", prob)
	}
	// Retry-After is honest: after it the request passes.
	clock.Add(time.Second)
	if w := serve(h, "192.0.2.1:1"); w.Code != http.StatusOK {
		t.Fatalf("after Retry-After: %d", w.Code)
	}
}

func TestRetryAfterRoundsUp(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		retry time.Duration
		want  string
	}{
		{"sub-second", time.Millisecond, "1"},
		{"exact", 2 * time.Second, "2"},
		{"just over", 2*time.Second + time.Nanosecond, "3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := seconds(max(tt.retry, time.Second)); got != tt.want {
				t.Fatalf("%v → %s, want %s", tt.retry, got, tt.want)
			}
		})
	}
	// And through the stage: fixed window with 1.2 s left → 2.
	l, clock := frozenLimiter(t, Options{Policies: []Policy{{Name: "fw", Algorithm: FixedWindow, Limit: 1, Period: time.Minute}}})
	clock.Add(time.Minute - 1200*time.Millisecond)
	h := l.Handler(okHandler)
	serve(h, "192.0.2.1:1")
	if got := serve(h, "192.0.2.1:1").Header().Get("Retry-After"); got != "2" {
		t.Fatalf("Retry-After %q, want 2", got)
	}
}

func TestLegacyHeaders(t *testing.T) {
	t.Parallel()
	l, _ := frozenLimiter(t, Options{LegacyHeaders: true, Policies: []Policy{
		PerSecond("burst", 5),
		{Name: "min", Algorithm: FixedWindow, Limit: 3, Period: time.Minute},
	}})
	w := serve(l.Handler(okHandler), "192.0.2.1:1")
	// The deciding policy is the one with the fewest units left.
	want := map[string]string{"X-RateLimit-Limit": "3", "X-RateLimit-Remaining": "2", "X-RateLimit-Reset": "60"}
	for k, v := range want {
		if got := w.Header().Get(k); got != v {
			t.Errorf("%s %q, want %q", k, got, v)
		}
	}
	// Header.Add on the shared values must not write into another response.
	w.Header().Add("RateLimit-Policy", "x")
	if w2 := serve(l.Handler(okHandler), "192.0.2.2:1"); len(w2.Header().Values("RateLimit-Policy")) != 1 {
		t.Fatalf("RateLimit-Policy shared between responses: %v", w2.Header().Values("RateLimit-Policy"))
	}
}

func TestKeys(t *testing.T) {
	t.Parallel()
	principal := func(r *http.Request) (string, bool) {
		u := r.Header.Get("X-Test-User")
		return u, u != ""
	}
	one := []Policy{{Name: "fw", Algorithm: FixedWindow, Limit: 1, Period: time.Hour}}
	type req struct {
		remote string
		hdr    []string
		code   int
	}
	tests := []struct {
		name string
		opts Options
		reqs []req
	}{
		{"IPv4 per address", Options{}, []req{
			{"192.0.2.1:1", nil, 200}, {"192.0.2.1:2", nil, 429}, {"192.0.2.2:1", nil, 200},
		}},
		{"IPv6 per /64", Options{}, []req{
			{"[2001:db8:1:2::1]:1", nil, 200},
			{"[2001:db8:1:2:ffff::9]:1", nil, 429},
			{"[2001:db8:1:3::1]:1", nil, 200},
		}},
		{"IPv4-mapped IPv6 is the IPv4 client", Options{}, []req{
			{"192.0.2.9:1", nil, 200}, {"[::ffff:192.0.2.9]:1", nil, 429},
		}},
		{"forwarding headers are not believed without a resolver", Options{}, []req{
			{"192.0.2.1:1", []string{"X-Forwarded-For", "203.0.113.1"}, 200},
			{"192.0.2.1:1", []string{"X-Forwarded-For", "203.0.113.2"}, 429},
		}},
		{"unparsable address shares the no-key bucket", Options{}, []req{
			{"not an address", nil, 200}, {"", nil, 429}, {"192.0.2.1:1", nil, 200},
		}},
		{"unparsable address denied", Options{NoKey: NoKeyDeny}, []req{
			{"garbage:port", nil, 400},
		}},
		{"principal", Options{Key: ByPrincipal(principal)}, []req{
			{"192.0.2.1:1", []string{"X-Test-User", "alice"}, 200},
			{"192.0.2.2:1", []string{"X-Test-User", "alice"}, 429},
			{"192.0.2.1:1", []string{"X-Test-User", "bob"}, 200},
		}},
		{"anonymous requests share one bucket", Options{Key: ByPrincipal(principal)}, []req{
			{"192.0.2.1:1", nil, 200}, {"192.0.2.2:1", nil, 429},
		}},
		{"anonymous requests denied", Options{Key: ByPrincipal(principal), NoKey: NoKeyDeny}, []req{
			{"192.0.2.1:1", nil, 400}, {"192.0.2.1:1", []string{"X-Test-User", "alice"}, 200},
		}},
		{"API key", Options{Key: ByAPIKey("")}, []req{
			{"192.0.2.1:1", []string{"X-API-Key", "k1"}, 200},
			{"192.0.2.2:1", []string{"X-API-Key", " k1 "}, 429},
			{"192.0.2.1:1", []string{"X-API-Key", "k2"}, 200},
		}},
		{"oversized API key has no key", Options{Key: ByAPIKey(""), NoKey: NoKeyDeny}, []req{
			{"192.0.2.1:1", []string{"X-API-Key", strings.Repeat("k", MaxAPIKeyLength+1)}, 400},
		}},
		{"custom API key header", Options{Key: ByAPIKey("authorization")}, []req{
			{"192.0.2.1:1", []string{"Authorization", "Bearer a"}, 200},
			{"192.0.2.1:1", []string{"Authorization", "Bearer a"}, 429},
			{"192.0.2.1:1", []string{"Authorization", "Bearer b"}, 200},
		}},
		{"route and IP", Options{Key: ByRoute(func(r *http.Request) string { return r.Header.Get("X-Test-Route") }).And(ByIP())}, []req{
			{"192.0.2.1:1", []string{"X-Test-Route", "/a"}, 200},
			{"192.0.2.1:1", []string{"X-Test-Route", "/b"}, 200},
			{"192.0.2.2:1", []string{"X-Test-Route", "/a"}, 200},
			{"192.0.2.1:1", []string{"X-Test-Route", "/a"}, 429},
		}},
		{"no route pattern is no key", Options{Key: ByRoute(nil), NoKey: NoKeyDeny}, []req{
			{"192.0.2.1:1", nil, 400},
		}},
		{"long principals are hashed, still distinct", Options{Key: ByPrincipal(principal)}, []req{
			{"192.0.2.1:1", []string{"X-Test-User", strings.Repeat("a", 1000)}, 200},
			{"192.0.2.1:1", []string{"X-Test-User", strings.Repeat("a", 999) + "b"}, 200},
			{"192.0.2.1:1", []string{"X-Test-User", strings.Repeat("a", 1000)}, 429},
		}},
		{"combination parts cannot be confused", Options{Key: ByFunc(func(r *http.Request) (string, bool) { return r.Header.Get("X-A"), true }).And(ByFunc(func(r *http.Request) (string, bool) { return r.Header.Get("X-B"), true }))}, []req{
			{"192.0.2.1:1", []string{"X-A", "ab", "X-B", "c"}, 200},
			{"192.0.2.1:1", []string{"X-A", "a", "X-B", "bc"}, 200},
		}},
		{"exempt networks", Options{ExemptIPs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}}, []req{
			{"10.1.2.3:1", nil, 200}, {"10.1.2.3:1", nil, 200},
			{"[2001:db8::1]:1", nil, 200}, {"[2001:db8::1]:1", nil, 200},
			{"192.0.2.1:1", nil, 200}, {"192.0.2.1:1", nil, 429},
		}},
		{"exempt principals and API keys", Options{Key: ByPrincipal(principal).And(ByAPIKey("")), ExemptKeys: []string{"admin", "internal-key"}}, []req{
			{"192.0.2.1:1", []string{"X-Test-User", "admin", "X-API-Key", "x"}, 200},
			{"192.0.2.1:1", []string{"X-Test-User", "admin", "X-API-Key", "x"}, 200},
			{"192.0.2.1:1", []string{"X-Test-User", "eve", "X-API-Key", "internal-key"}, 200},
			{"192.0.2.1:1", []string{"X-Test-User", "eve", "X-API-Key", "internal-key"}, 200},
			{"192.0.2.1:1", []string{"X-Test-User", "eve", "X-API-Key", "x"}, 200},
			{"192.0.2.1:1", []string{"X-Test-User", "eve", "X-API-Key", "x"}, 429},
		}},
		{"exempt function", Options{Exempt: func(r *http.Request) bool { return r.Header.Get("X-Test-Health") == "1" }}, []req{
			{"192.0.2.1:1", []string{"X-Test-Health", "1"}, 200},
			{"192.0.2.1:1", nil, 200},
			{"192.0.2.1:1", []string{"X-Test-Health", "1"}, 200},
			{"192.0.2.1:1", nil, 429},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Policies = one
			l, _ := frozenLimiter(t, tt.opts)
			h := l.Handler(okHandler)
			for i, rq := range tt.reqs {
				w := serve(h, rq.remote, rq.hdr...)
				if w.Code != rq.code {
					t.Fatalf("request %d (%s %v): %d, want %d: %s", i, rq.remote, rq.hdr, w.Code, rq.code, w.Body)
				}
				if w.Code == 400 && !strings.Contains(w.Body.String(), `"code":"rate_limit_key_missing"`) {
					t.Fatalf("400 without the machine code: %s", w.Body)
				}
			}
		})
	}
}

func TestClientIPResolver(t *testing.T) {
	t.Parallel()
	res, err := clientip.New(clientip.Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, Header: "X-Forwarded-For"})
	if err != nil {
		t.Fatal(err)
	}
	one := []Policy{{Name: "fw", Algorithm: FixedWindow, Limit: 1, Period: time.Hour}}
	l, _ := frozenLimiter(t, Options{Policies: one, ClientIP: res})
	h := l.Handler(okHandler)
	steps := []struct {
		remote, xff string
		code        int
	}{
		{"10.0.0.1:1", "203.0.113.5", 200},
		{"10.0.0.2:1", "203.0.113.5", 429},           // same client through another proxy
		{"10.0.0.1:1", "203.0.113.5, 10.9.9.9", 429}, // trusted hops are skipped
		{"10.0.0.1:1", "198.51.100.1", 200},
		{"192.0.2.66:1", "203.0.113.77", 200}, // untrusted peer: header ignored, keyed by peer
		{"192.0.2.66:1", "203.0.113.78", 429},
	}
	for i, s := range steps {
		if w := serve(h, s.remote, "X-Forwarded-For", s.xff); w.Code != s.code {
			t.Fatalf("step %d: %d, want %d", i, w.Code, s.code)
		}
	}
	// Without Options.ClientIP, the address stored by the resolver's own
	// stage is used.
	l2, _ := frozenLimiter(t, Options{Policies: one})
	h2 := res.Handler(l2.Handler(okHandler))
	if w := serve(h2, "10.0.0.1:1", "X-Forwarded-For", "203.0.113.5"); w.Code != 200 {
		t.Fatal(w.Code)
	}
	if w := serve(h2, "10.0.0.3:1", "X-Forwarded-For", "203.0.113.5"); w.Code != 429 {
		t.Fatal(w.Code)
	}
}

func TestCostAndPlans(t *testing.T) {
	t.Parallel()
	cost := func(r *http.Request) int64 {
		n, _ := strconv.ParseInt(r.Header.Get("X-Test-Cost"), 10, 64)
		return n
	}
	plan := func(r *http.Request) string { return r.Header.Get("X-Test-Plan") }
	l, _ := frozenLimiter(t, Options{
		Policies: []Policy{{Name: "free", Algorithm: FixedWindow, Limit: 5, Period: time.Hour}},
		Plans:    map[string][]Policy{"pro": {{Name: "pro", Algorithm: FixedWindow, Limit: 50, Period: time.Hour}}},
		Plan:     plan,
		Cost:     cost,
	})
	h := l.Handler(okHandler)
	steps := []struct {
		cost, plan string
		code       int
		rl         string
	}{
		{"3", "", 200, `"free";r=2;t=3600`},
		{"0", "", 200, `"free";r=2;t=3600`},
		{"3", "", 429, `"free";r=2;t=3600`},
		{"-4", "", 200, `"free";r=1;t=3600`}, // negative counts as 1
		{"40", "pro", 200, `"pro";r=10;t=3600`},
		{"40", "gold", 429, `"free";r=1;t=3600`}, // unknown plan: the default policies
		{"99", "pro", 429, `"pro";r=10;t=3600`},  // above the limit: always refused
	}
	for i, s := range steps {
		w := serve(h, "192.0.2.1:1", "X-Test-Cost", s.cost, "X-Test-Plan", s.plan)
		if w.Code != s.code || w.Header().Get("RateLimit") != s.rl {
			t.Fatalf("step %d: %d %q, want %d %q", i, w.Code, w.Header().Get("RateLimit"), s.code, s.rl)
		}
	}
	if _, err := l.AllowPlan(context.Background(), "nope", "k", 1); err != ErrUnknownPlan {
		t.Fatalf("AllowPlan with an unknown plan: %v", err)
	}
	if res, err := l.AllowPlan(context.Background(), "pro", "k", 1); err != nil || res.Limit != 50 {
		t.Fatalf("AllowPlan: %+v %v", res, err)
	}
}

func TestNothingEchoed(t *testing.T) {
	t.Parallel()
	l, _ := frozenLimiter(t, Options{Key: ByAPIKey(""), Policies: []Policy{{Name: "fw", Algorithm: FixedWindow, Limit: 1, Period: time.Hour}}})
	h := l.Handler(okHandler)
	evil := "<script>alert(1)</script>\"';--"
	for range 2 {
		w := serve(h, "192.0.2.1:1", "X-API-Key", evil, "X-Forwarded-For", evil, "User-Agent", evil)
		for k, vs := range w.Header() {
			for _, v := range vs {
				if strings.Contains(v, "script") || strings.Contains(k, "script") {
					t.Fatalf("request data echoed in %s: %q", k, v)
				}
			}
		}
		if strings.Contains(w.Body.String(), "script") {
			t.Fatalf("request data echoed in body: %s", w.Body)
		}
	}
}

func TestStageNeverPanicsOnOddRequests(t *testing.T) {
	t.Parallel()
	l, _ := frozenLimiter(t, Options{Key: ByAPIKey("").And(ByIP()).And(ByRoute(nil)), Policies: []Policy{PerSecond("s", 5)}})
	h := l.Handler(okHandler)
	reqs := []*http.Request{
		httptest.NewRequest(http.MethodGet, "/", nil),
		{Method: "GET", URL: nil, Header: http.Header{}, RemoteAddr: "[::1"},
		{Method: "GET", Header: http.Header{"X-Api-Key": {"", "x"}}, RemoteAddr: "1.2.3.4:5"},
		{Method: "GET", Header: nil, RemoteAddr: "1.2.3.4:5"},
	}
	for i, r := range reqs {
		if r.Header == nil {
			r.Header = http.Header{}
		}
		r = r.WithContext(context.Background())
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("request %d: %d", i, w.Code)
		}
	}
}

func TestUluleStores(t *testing.T) {
	t.Parallel()
	stores := map[string]func(t *testing.T) limiter.Store{
		"memory": func(t *testing.T) limiter.Store { return ululememory.NewStore() },
		"redis": func(t *testing.T) limiter.Store {
			c := redisClient(t, testsvc.RedisAddr(t))
			s, err := uluredis.NewStoreWithOptions(c, limiter.StoreOptions{Prefix: testPrefix(t, c) + "ulule"})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	}
	for name, mk := range stores {
		t.Run(name, func(t *testing.T) {
			rate, err := limiter.NewRateFromFormatted("3-M")
			if err != nil {
				t.Fatal(err)
			}
			l := newLimiter(t, Options{Store: LimiterStore(mk(t)), Policies: []Policy{
				FromRate("minute", rate),
				{Name: "hour", Algorithm: FixedWindow, Limit: 5, Period: time.Hour},
			}})
			ctx := context.Background()
			got := ""
			for _, cost := range []int64{2, 2, 1, 1, 0} {
				res, err := l.Allow(ctx, "client", cost)
				if err != nil {
					t.Fatal(err)
				}
				got += strconv.FormatBool(res.Allowed) + "/" + strconv.FormatInt(res.Remaining, 10) + " "
			}
			// 2 ok (1 left in the minute), 2 refused (nothing taken from
			// the hour), 1 ok (minute spent), 1 refused, peek.
			if want := "true/1 false/1 true/0 false/0 true/0 "; got != want {
				t.Fatalf("got %q, want %q", got, want)
			}
			res, _ := l.Allow(ctx, "client", 0)
			for _, d := range res.Decisions() {
				if d.Policy == "hour" && d.Remaining != 2 {
					t.Fatalf("refused requests took from the hour: %+v", d)
				}
			}
		})
	}
}

func TestChainedLimitersAddFieldLines(t *testing.T) {
	t.Parallel()
	perIP, _ := frozenLimiter(t, Options{Name: "ip", Policies: []Policy{PerSecond("ip", 5)}})
	perRoute, _ := frozenLimiter(t, Options{Name: "route", Key: ByRoute(func(*http.Request) string { return "/api" }), Policies: []Policy{PerMinute("route", 100)}})
	w := serve(perIP.Handler(perRoute.Handler(okHandler)), "192.0.2.1:1")
	if got := w.Header().Values("RateLimit-Policy"); len(got) != 2 || got[0] != `"ip";q=5;w=1` || got[1] != `"route";q=100;w=60` {
		t.Fatalf("RateLimit-Policy %q", got)
	}
	if got := w.Header().Values("RateLimit"); len(got) != 2 || !strings.HasPrefix(got[0], `"ip";r=4`) || !strings.HasPrefix(got[1], `"route";r=99`) {
		t.Fatalf("RateLimit %q", got)
	}
}

// TestHeaderValuesEveryBlock formats RateLimit values of every length
// class, with and without the legacy fields, and compares them with a
// plain rendering.
func TestHeaderValuesEveryBlock(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 6))
	for _, legacy := range []bool{false, true} {
		for n := 1; n <= MaxPolicies; n++ {
			for nameLen := 1; nameLen <= 32; nameLen += 7 {
				ps := make([]Policy, n)
				for i := range ps {
					ps[i] = Policy{Name: strings.Repeat("n", nameLen-1) + string(rune('a'+i)), Algorithm: FixedWindow, Limit: 1 + rng.Int64N(MaxLimit), Period: time.Minute}
				}
				set, err := compileSet("", ps)
				if err != nil {
					t.Fatal(err)
				}
				l := &Limiter{legacy: legacy}
				for range 20 {
					res := Result{n: n}
					var want []string
					for i := range n {
						d := Decision{Policy: ps[i].Name, Allowed: true, Limit: ps[i].Limit,
							Remaining: rng.Int64N(ps[i].Limit+1) >> rng.IntN(50), ResetAfter: time.Duration(rng.Int64N(int64(MaxPeriod)) >> rng.IntN(60))}
						res.d[i] = d
						want = append(want, `"`+d.Policy+`";r=`+strconv.FormatInt(d.Remaining, 10)+";t="+strconv.FormatInt(ceilSeconds(d.ResetAfter), 10))
					}
					res.summarize()
					h := http.Header{}
					l.setHeaders(h, set, &res)
					if got := h.Values("RateLimit"); len(got) != 1 || got[0] != strings.Join(want, ", ") {
						t.Fatalf("RateLimit %q, want %q", got, strings.Join(want, ", "))
					}
					if got := h.Get("RateLimit-Policy"); got != set.header[0] {
						t.Fatalf("RateLimit-Policy %q, want %q", got, set.header[0])
					}
					if legacy {
						for k, v := range map[string]int64{"X-RateLimit-Limit": res.Limit, "X-RateLimit-Remaining": res.Remaining, "X-RateLimit-Reset": ceilSeconds(res.ResetAfter)} {
							if got := h.Get(k); got != strconv.FormatInt(v, 10) {
								t.Fatalf("%s %q, want %d", k, got, v)
							}
						}
					}
				}
			}
		}
	}
}

// TestByIPHashKeepsClientsApart checks the address hash of ByIP keys:
// distinct IPv4 clients and IPv6 networks never share a bucket, the same
// network always does, and limiters with other policies are kept apart.
func TestByIPHashKeepsClientsApart(t *testing.T) {
	t.Parallel()
	mem := newMem(t, MemoryOptions{SweepInterval: -1})
	a, err := compileSet("", []Policy{PerMinute("a", 1)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := compileSet("", []Policy{PerMinute("b", 1)})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uint64]string{}
	add := func(set *policySet, name string, addr netip.Addr) {
		h := mem.hashAddr(set, addr)
		if prev, ok := seen[h]; ok && prev != name {
			t.Fatalf("%s and %s share a hash", prev, name)
		}
		seen[h] = name
	}
	for i := range 1 << 16 {
		v4 := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		add(a, "a "+v4.String(), v4)
		add(b, "b "+v4.String(), v4)
		add(a, "a "+v4.String(), netip.AddrFrom16(v4.As16())) // v4-mapped
		var b16 [16]byte
		b16[0], b16[1], b16[6], b16[7], b16[15] = 0x20, 0x01, byte(i>>8), byte(i), 1
		v6 := netip.AddrFrom16(b16)
		add(a, "a "+v6.String()+"/64", v6)
		b16[15], b16[9] = 7, 3 // same /64
		add(a, "a "+v6.String()+"/64", netip.AddrFrom16(b16))
	}
}

// TestHeadersEditedInPlaceParallel has handlers overwrite every RateLimit
// header value in place while other requests are served: each response
// must own its slices, so the race detector sees nothing and every
// response still carries the policy.
func TestHeadersEditedInPlaceParallel(t *testing.T) {
	t.Parallel()
	for _, legacy := range []bool{false, true} {
		l := newLimiter(t, Options{LegacyHeaders: legacy, Policies: []Policy{PerMinute("m", 1_000_000)}})
		edit := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for _, k := range []string{"RateLimit-Policy", "RateLimit", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} {
				if v := w.Header()[http.CanonicalHeaderKey(k)]; len(v) > 0 {
					v[0] = "edited"
				}
			}
		})
		h := l.Handler(edit)
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 50 {
					w := serve(h, "192.0.2."+strconv.Itoa(g+1)+":"+strconv.Itoa(i+1))
					if got := w.Header().Get("RateLimit-Policy"); got != "edited" {
						t.Errorf("RateLimit-Policy %q after the handler's edit", got)
					}
				}
			}()
		}
		wg.Wait()
		if got := serve(l.Handler(okHandler), "192.0.2.9:1").Header().Get("RateLimit-Policy"); got != `"m";q=1000000;w=60` {
			t.Fatalf("a later response's RateLimit-Policy %q: an earlier handler's edit reached it", got)
		}
	}
}
