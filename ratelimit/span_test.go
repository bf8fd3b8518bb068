package ratelimit

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// recordingSpan is a span that records the attributes set on it, built on
// the API's no-op span so no SDK is needed.
type recordingSpan struct {
	noop.Span
	mu    sync.Mutex
	attrs map[attribute.Key]attribute.Value
}

func (s *recordingSpan) IsRecording() bool { return true }

func (s *recordingSpan) SetAttributes(kv ...attribute.KeyValue) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.attrs == nil {
		s.attrs = make(map[attribute.Key]attribute.Value)
	}
	for _, a := range kv {
		s.attrs[a.Key] = a.Value
	}
}

// serveTraced serves one request to h with a recording span in its
// context and returns the span.
func serveTraced(h http.Handler, remote string, hdr ...string) (*recordingSpan, int) {
	span := &recordingSpan{}
	r := httptest.NewRequest(http.MethodGet, "/api/notes", nil)
	r = r.WithContext(trace.ContextWithSpan(r.Context(), span))
	r.RemoteAddr = remote
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Add(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return span, w.Code
}

func TestSpanRecordsDecision(t *testing.T) {
	t.Parallel()
	l, _ := frozenLimiter(t, Options{Name: "api", Policies: []Policy{{Name: "burst", Limit: 2, Period: time.Minute}}})
	h := l.Handler(okHandler)
	want := []struct {
		allowed   bool
		remaining int64
		code      int
	}{{true, 1, 200}, {true, 0, 200}, {false, 0, 429}}
	for i, w := range want {
		span, code := serveTraced(h, "192.0.2.7:1")
		got := span.attrs
		if code != w.code ||
			got["covet.ratelimit.policy"].AsString() != "burst" ||
			got["covet.ratelimit.allowed"].AsBool() != w.allowed ||
			got["covet.ratelimit.remaining"].AsInt64() != w.remaining ||
			got["covet.ratelimit.limiter"].AsString() != "api" ||
			got["covet.ratelimit.key_kind"].AsString() != "ip" ||
			got["covet.ratelimit.outcome"].AsString() != "decided" {
			t.Fatalf("request %d: code %d, attributes %v", i, code, got)
		}
	}
}

// TestSpanNeverHoldsTheKey checks that an API key, a principal and an
// address reach the span only as the key's kind.
func TestSpanNeverHoldsTheKey(t *testing.T) {
	t.Parallel()
	principal := func(r *http.Request) (string, bool) { return "user-4711@example.com", true }
	l := newLimiter(t, Options{
		Key:      ByAPIKey("").And(ByPrincipal(principal)).And(ByIP()),
		Policies: []Policy{PerMinute("m", 100)},
	})
	span, code := serveTraced(l.Handler(okHandler), "198.51.100.23:1", "X-API-Key", "sk_live_secret")
	if code != 200 || span.attrs["covet.ratelimit.key_kind"].AsString() != "api_key+principal+ip" {
		t.Fatalf("code %d, attributes %v", code, span.attrs)
	}
	for k, v := range span.attrs {
		s := v.String()
		for _, secret := range []string{"sk_live_secret", "user-4711", "198.51.100"} {
			if strings.Contains(s, secret) {
				t.Errorf("attribute %s = %q holds %q", k, s, secret)
			}
		}
	}
}

func TestSpanRecordsRefusalsWithoutDecision(t *testing.T) {
	t.Parallel()
	deny := newLimiter(t, Options{Key: ByAPIKey(""), NoKey: NoKeyDeny, Policies: []Policy{PerMinute("m", 1)}})
	span, code := serveTraced(deny.Handler(okHandler), "192.0.2.1:1")
	if code != http.StatusBadRequest || span.attrs["covet.ratelimit.outcome"].AsString() != "key_missing" {
		t.Fatalf("no key: code %d, attributes %v", code, span.attrs)
	}
	if _, ok := span.attrs["covet.ratelimit.allowed"]; ok {
		t.Fatalf("no key: a decision was recorded: %v", span.attrs)
	}
	exempt := newLimiter(t, Options{Exempt: func(*http.Request) bool { return true }, Policies: []Policy{PerMinute("m", 1)}})
	span, code = serveTraced(exempt.Handler(okHandler), "192.0.2.1:1")
	if code != http.StatusOK || span.attrs["covet.ratelimit.outcome"].AsString() != "exempt" {
		t.Fatalf("exempt: code %d, attributes %v", code, span.attrs)
	}
}

func TestSpanNotRecordingCostsNoAllocation(t *testing.T) {
	l := newLimiter(t, Options{Policies: []Policy{PerMinute("m", 1)}})
	var res Result
	res.n = 1
	ctx := trace.ContextWithSpan(context.Background(), noop.Span{})
	allocs := testing.AllocsPerRun(100, func() {
		l.record(ctx, verdictDecided, &res)
		l.record(context.Background(), verdictDecided, &res)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations without a recording span", allocs)
	}
}

func TestSpanRecordsStoreOutage(t *testing.T) {
	t.Parallel()
	// Nothing listens on port 1: every decision fails at once.
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = c.Close() })
	store, err := NewRedisStore(c, RedisOptions{Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	l := newLimiter(t, Options{Store: store, Policies: []Policy{PerMinute("m", 5)}, Logger: slog.New(slog.DiscardHandler)})
	span, code := serveTraced(l.Handler(okHandler), "192.0.2.1:1")
	if code != http.StatusServiceUnavailable || span.attrs["covet.ratelimit.outcome"].AsString() != "store_unavailable" {
		t.Fatalf("code %d, attributes %v", code, span.attrs)
	}
	if _, ok := span.attrs["covet.ratelimit.remaining"]; ok {
		t.Fatalf("a decision was recorded for a store that did not answer: %v", span.attrs)
	}
}
