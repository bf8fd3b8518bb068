package session

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// benchWriter is a ResponseWriter that allocates nothing per request.
type benchWriter struct{ h http.Header }

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *benchWriter) WriteHeader(int)             {}

var okBody = []byte("ok")

func readHandler(w http.ResponseWriter, r *http.Request) {
	if v, _ := Get[string](From(r), "user"); v == "" {
		panic("session not loaded")
	}
	_, _ = w.Write(okBody)
}

func writeHandler(w http.ResponseWriter, r *http.Request) {
	From(r).Set("counter", "x")
	_, _ = w.Write(okBody)
}

// benchSession runs h with a request carrying a live session cookie.
func benchSession(b *testing.B, m *Manager, h http.HandlerFunc) {
	seed := newClient(b, m, func(w http.ResponseWriter, r *http.Request) { From(r).Set("user", "alice") })
	seed.get("/")
	if seed.cookie == "" {
		b.Fatal("no cookie")
	}
	handler := m.Handler(h)
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Cookie", m.CookieName()+"="+seed.cookie)
	w := &benchWriter{h: make(http.Header, 4)}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		clear(w.h)
		handler.ServeHTTP(w, req)
	}
}

func BenchmarkUntouched(b *testing.B) {
	m := newTestManager(b, Options{})
	benchSession(b, m, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(okBody) })
}

func BenchmarkRead_Memory(b *testing.B) {
	st := &countingStore{Store: NewMemoryStore(MemoryOptions{})}
	m := newTestManager(b, Options{Store: st})
	benchSession(b, m, readHandler)
	if st.touches.Load() > 1 || st.saves.Load() > 1 {
		b.Fatalf("read-only requests wrote to the store: %d saves, %d touches", st.saves.Load(), st.touches.Load())
	}
}

func BenchmarkWrite_Memory(b *testing.B) {
	m := newTestManager(b, Options{})
	benchSession(b, m, writeHandler)
}

func BenchmarkNewSession_Memory(b *testing.B) {
	// Room for every session the loop creates: a full store would measure
	// its refusal instead.
	store := NewMemoryStore(MemoryOptions{MaxEntries: 1 << 30})
	m := newTestManager(b, Options{Store: store})
	handler := m.Handler(http.HandlerFunc(writeHandler))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	w := &benchWriter{h: make(http.Header, 4)}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		handler.ServeHTTP(w, req)
	}
}

func BenchmarkRead_Stateless(b *testing.B) {
	m := newTestManager(b, Options{Stateless: newCookieStore(b, CookieStoreOptions{})})
	benchSession(b, m, readHandler)
}

func BenchmarkWrite_Stateless(b *testing.B) {
	m := newTestManager(b, Options{Stateless: newCookieStore(b, CookieStoreOptions{})})
	benchSession(b, m, writeHandler)
}

func benchRedis(b *testing.B, h http.HandlerFunc) {
	c, prefix := testRedis(b)
	st, _ := NewRedisStore(c, RedisOptions{Prefix: prefix})
	m := newTestManager(b, Options{Store: st, TouchInterval: time.Minute})
	benchSession(b, m, h)
}

func BenchmarkRead_Redis(b *testing.B)  { benchRedis(b, readHandler) }
func BenchmarkWrite_Redis(b *testing.B) { benchRedis(b, writeHandler) }

var _ redis.Hook = (*roundTrips)(nil)
