package ratelimit

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"testing"
	"time"

	ululememory "github.com/ulule/limiter/v3/drivers/store/memory"

	"github.com/covetgo/covet/errs"
)

// step is one request in an arithmetic scenario: advance the clock, then
// ask for cost units and compare the (single-policy) result.
type step struct {
	advance   time.Duration
	cost      int64
	allowed   bool
	remaining int64
	reset     time.Duration
	retry     time.Duration
}

func runSteps(t *testing.T, p Policy, steps []step) {
	t.Helper()
	clock := newFakeClock()
	mem := newMem(t, MemoryOptions{Clock: clock.Now, SweepInterval: -1})
	l := newLimiter(t, Options{Policies: []Policy{p}, Store: mem})
	for i, s := range steps {
		clock.Add(s.advance)
		res, err := l.Allow(context.Background(), "k", s.cost)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if res.Allowed != s.allowed || res.Remaining != s.remaining || res.ResetAfter != s.reset || res.RetryAfter != s.retry {
			t.Fatalf("step %d (cost %d after +%v): got allowed=%v remaining=%d reset=%v retry=%v, want %v %d %v %v",
				i, s.cost, s.advance, res.Allowed, res.Remaining, res.ResetAfter, res.RetryAfter, s.allowed, s.remaining, s.reset, s.retry)
		}
	}
}

func TestTokenBucketArithmetic(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	// 10 per second, burst 5: one token every 100 ms, five at most.
	p := Policy{Name: "tb", Limit: 10, Period: time.Second, Burst: 5}
	tests := []struct {
		name  string
		steps []step
	}{
		{"burst drains then refuses", []step{
			{0, 1, true, 4, 100 * ms, 0},
			{0, 1, true, 3, 200 * ms, 0},
			{0, 1, true, 2, 300 * ms, 0},
			{0, 1, true, 1, 400 * ms, 0},
			{0, 1, true, 0, 500 * ms, 0},
			{0, 1, false, 0, 500 * ms, 100 * ms},
		}},
		{"refill one token at the exact interval", []step{
			{0, 5, true, 0, 500 * ms, 0},
			{99 * ms, 1, false, 0, 401 * ms, 1 * ms},
			{1 * ms, 1, true, 0, 500 * ms, 0},
		}},
		{"idle bucket is full again, never more than burst", []step{
			{0, 5, true, 0, 500 * ms, 0},
			{time.Hour, 1, true, 4, 100 * ms, 0},
		}},
		{"cost above burst is always refused", []step{
			{0, 6, false, 5, 0, 500 * ms},
			{time.Hour, 6, false, 5, 0, 500 * ms},
			{0, 5, true, 0, 500 * ms, 0},
		}},
		{"refused request consumes nothing", []step{
			{0, 4, true, 1, 400 * ms, 0},
			{0, 3, false, 1, 400 * ms, 200 * ms},
			{0, 1, true, 0, 500 * ms, 0},
		}},
		{"zero cost reads without taking", []step{
			{0, 0, true, 5, 0, 0},
			{0, 2, true, 3, 200 * ms, 0},
			{0, 0, true, 3, 200 * ms, 0},
		}},
		{"negative cost counts as one", []step{
			{0, -7, true, 4, 100 * ms, 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { runSteps(t, p, tt.steps) })
	}
}

func TestFixedWindowArithmetic(t *testing.T) {
	t.Parallel()
	ms := time.Millisecond
	p := Policy{Name: "fw", Algorithm: FixedWindow, Limit: 3, Period: time.Minute}
	tests := []struct {
		name  string
		steps []step
	}{
		{"limit per window", []step{
			{0, 1, true, 2, time.Minute, 0},
			{0, 1, true, 1, time.Minute, 0},
			{0, 1, true, 0, time.Minute, 0},
			{0, 1, false, 0, time.Minute, time.Minute},
		}},
		{"window edge", []step{
			{0, 3, true, 0, time.Minute, 0},
			{time.Minute - ms, 1, false, 0, ms, ms},
			{ms, 1, true, 2, time.Minute, 0},
		}},
		{"window aligned to the epoch, not the first hit", []step{
			{30 * time.Second, 3, true, 0, 30 * time.Second, 0},
			{30 * time.Second, 3, true, 0, time.Minute, 0},
		}},
		{"cost above limit waits past the next window and is refused", []step{
			{0, 4, false, 3, time.Minute, 2 * time.Minute},
		}},
		{"refused request consumes nothing", []step{
			{0, 2, true, 1, time.Minute, 0},
			{0, 2, false, 1, time.Minute, time.Minute},
			{0, 1, true, 0, time.Minute, 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { runSteps(t, p, tt.steps) })
	}
}

func TestSlidingWindowArithmetic(t *testing.T) {
	t.Parallel()
	s := time.Second
	p := Policy{Name: "sw", Algorithm: SlidingWindow, Limit: 10, Period: time.Minute}
	tests := []struct {
		name  string
		steps []step
	}{
		{"full window then the previous one decays", []step{
			{0, 10, true, 0, time.Minute, 0},
			// curr=10: wait for the next window until 10*(60-e)/60 <= 9, e = 6 s.
			{0, 1, false, 0, time.Minute, 66 * s},
			{time.Minute, 1, false, 0, time.Minute, 6 * s},
			{6*s - time.Millisecond, 1, false, 0, 54*s + time.Millisecond, time.Millisecond},
			{time.Millisecond, 1, true, 0, 54 * s, 0},
		}},
		{"half-way through the next window half the previous count remains", []step{
			{0, 10, true, 0, time.Minute, 0},
			{90 * s, 5, true, 0, 30 * s, 0},
			{0, 1, false, 0, 30 * s, 6 * s},
		}},
		{"two idle windows forget everything", []step{
			{0, 10, true, 0, time.Minute, 0},
			{2 * time.Minute, 10, true, 0, time.Minute, 0},
		}},
		{"cost above limit is refused", []step{
			{0, 11, false, 10, time.Minute, 2 * time.Minute},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { runSteps(t, p, tt.steps) })
	}
}

func TestClockNeverMovesBackwards(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	mem := newMem(t, MemoryOptions{Clock: clock.Now, SweepInterval: -1, Shards: 1})
	l := newLimiter(t, Options{Store: mem, Policies: []Policy{{Name: "fw", Algorithm: FixedWindow, Limit: 2, Period: time.Minute}}})
	ctx := context.Background()
	clock.Add(30 * time.Second)
	for range 2 {
		if res, _ := l.Allow(ctx, "k", 1); !res.Allowed {
			t.Fatal("first two refused")
		}
	}
	// A jump back into the previous window must not open a fresh one.
	clock.Add(-time.Hour)
	if res, _ := l.Allow(ctx, "k", 1); res.Allowed {
		t.Fatal("clock jumping backwards reset the window")
	}
	// Back to real time plus a jump forward: a new window.
	clock.Add(time.Hour + time.Minute)
	if res, _ := l.Allow(ctx, "k", 1); !res.Allowed || res.Remaining != 1 {
		t.Fatalf("after a jump forward: %+v", res)
	}
}

func TestAllOrNothing(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	mem := newMem(t, MemoryOptions{Clock: clock.Now, SweepInterval: -1})
	l := newLimiter(t, Options{Store: mem, Policies: []Policy{
		PerSecond("burst", 3),
		{Name: "hour", Algorithm: FixedWindow, Limit: 5, Period: time.Hour},
		{Name: "slide", Algorithm: SlidingWindow, Limit: 4, Period: time.Minute},
	}})
	ctx := context.Background()
	var admitted int64
	for range 10 {
		res, err := l.Allow(ctx, "k", 1)
		if err != nil {
			t.Fatal(err)
		}
		if res.Allowed {
			admitted++
		} else if res.Policy != "burst" || res.RetryAfter <= 0 {
			t.Fatalf("refusal should name the burst policy with a retry: %+v", res)
		}
	}
	if admitted != 3 {
		t.Fatalf("admitted %d, want 3 (the burst)", admitted)
	}
	// The refusals took nothing from the other policies.
	res, _ := l.Allow(ctx, "k", 0)
	for _, d := range res.Decisions() {
		want := map[string]int64{"burst": 0, "hour": 2, "slide": 1}[d.Policy]
		if d.Remaining != want {
			t.Errorf("%s remaining %d, want %d", d.Policy, d.Remaining, want)
		}
	}
	// One more second: the burst refills but the sliding window (4/min)
	// now refuses after one, and the burst keeps its token.
	clock.Add(time.Second + time.Millisecond)
	if res, _ := l.Allow(ctx, "k", 1); !res.Allowed {
		t.Fatalf("fourth request refused: %+v", res)
	}
	res, _ = l.Allow(ctx, "k", 1)
	if res.Allowed || res.Policy != "slide" {
		t.Fatalf("want refusal by the sliding window: %+v", res)
	}
	for _, d := range res.Decisions() {
		if d.Policy == "burst" && (!d.Allowed || d.Remaining != 2) {
			t.Fatalf("burst should still allow with 2 left: %+v", d)
		}
	}
}

func TestPolicyValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ps   []Policy
	}{
		{"none", nil},
		{"zero limit", []Policy{{Name: "a", Period: time.Second}}},
		{"negative limit", []Policy{{Name: "a", Limit: -1, Period: time.Second}}},
		{"limit overflow", []Policy{{Name: "a", Limit: MaxLimit + 1, Period: time.Hour}}},
		{"zero period", []Policy{{Name: "a", Limit: 1}}},
		{"negative period", []Policy{{Name: "a", Limit: 1, Period: -time.Second}}},
		{"period too short", []Policy{{Name: "a", Limit: 1, Period: time.Microsecond}}},
		{"period too long", []Policy{{Name: "a", Limit: 1, Period: MaxPeriod + 1}}},
		{"faster than a microsecond", []Policy{{Name: "a", Limit: 2_000_000, Period: time.Second}}},
		{"negative burst", []Policy{{Name: "a", Limit: 1, Period: time.Second, Burst: -1}}},
		{"bucket too slow to fill", []Policy{{Name: "a", Limit: 1, Period: MaxPeriod, Burst: 2}}},
		{"burst on a window", []Policy{{Name: "a", Algorithm: FixedWindow, Limit: 1, Period: time.Second, Burst: 5}}},
		{"unknown algorithm", []Policy{{Name: "a", Algorithm: 9, Limit: 1, Period: time.Second}}},
		{"empty name", []Policy{{Limit: 1, Period: time.Second}}},
		{"name with quote", []Policy{{Name: `a"b`, Limit: 1, Period: time.Second}}},
		{"upper-case name", []Policy{{Name: "Api", Limit: 1, Period: time.Second}}},
		{"duplicate names", []Policy{PerSecond("a", 1), PerHour("a", 5)}},
		{"too many", []Policy{PerSecond("a", 1), PerSecond("b", 1), PerSecond("c", 1), PerSecond("d", 1), PerSecond("e", 1), PerSecond("f", 1), PerSecond("g", 1), PerSecond("h", 1), PerSecond("i", 1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := New(Options{Policies: tt.ps})
			if err == nil {
				_ = l.Close()
				t.Fatal("New accepted an invalid policy")
			}
			if !errors.Is(err, errs.KindConfiguration) {
				t.Fatalf("want a configuration error, got %v", err)
			}
		})
	}
}

func TestOptionsValidation(t *testing.T) {
	t.Parallel()
	ok := []Policy{PerSecond("a", 1)}
	tests := []struct {
		name string
		opts Options
	}{
		{"bad name", Options{Name: "Bad Name", Policies: ok}},
		{"unknown failure policy", Options{Policies: ok, OnStoreError: 7}},
		{"unknown no-key policy", Options{Policies: ok, NoKey: 7}},
		{"plans without chooser", Options{Policies: ok, Plans: map[string][]Policy{"pro": ok}}},
		{"invalid plan", Options{Policies: ok, Plan: func(*http.Request) string { return "" }, Plans: map[string][]Policy{"pro": {{Name: "a"}}}}},
		{"nil principal func", Options{Policies: ok, Key: ByPrincipal(nil)}},
		{"bad API key header", Options{Policies: ok, Key: ByAPIKey("X Bad")}},
		{"invalid exempt prefix", Options{Policies: ok, ExemptIPs: []netip.Prefix{{}}}},
		{"empty exempt key", Options{Policies: ok, ExemptKeys: []string{""}}},
		{"sliding window on a ulule store", Options{Store: LimiterStore(ululememory.NewStore()), Policies: []Policy{{Name: "a", Algorithm: SlidingWindow, Limit: 1, Period: time.Second}}}},
		{"token bucket on a ulule store", Options{Store: LimiterStore(ululememory.NewStore()), Policies: ok}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := New(tt.opts)
			if err == nil {
				_ = l.Close()
				t.Fatal("New accepted invalid options")
			}
			if !errors.Is(err, errs.KindConfiguration) {
				t.Fatalf("want a configuration error, got %v", err)
			}
		})
	}
	for _, bad := range []MemoryOptions{{MaxKeys: -1}, {Shards: -1}} {
		if _, err := NewMemoryStore(bad); !errors.Is(err, errs.KindConfiguration) {
			t.Errorf("NewMemoryStore(%+v): %v", bad, err)
		}
	}
}
