package session

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/covetgo/covet/errs"
)

var testKey = bytes.Repeat([]byte("k"), 32)

// fakeClock is a settable clock shared by a Manager and its store.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Now().Truncate(time.Millisecond)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// countingStore wraps a real Store and counts the calls that reach it.
type countingStore struct {
	Store
	loads, saves, touches, deletes atomic.Int64
}

func (c *countingStore) Load(ctx context.Context, k Key) (Record, error) {
	c.loads.Add(1)
	return c.Store.Load(ctx, k)
}

func (c *countingStore) Save(ctx context.Context, k Key, r Record, ttl time.Duration) error {
	c.saves.Add(1)
	return c.Store.Save(ctx, k, r, ttl)
}

func (c *countingStore) Touch(ctx context.Context, k Key, t time.Time, ttl time.Duration) error {
	c.touches.Add(1)
	return c.Store.Touch(ctx, k, t, ttl)
}

func (c *countingStore) Delete(ctx context.Context, k Key) error {
	c.deletes.Add(1)
	return c.Store.Delete(ctx, k)
}

func (c *countingStore) writes() int64 { return c.saves.Load() + c.touches.Load() + c.deletes.Load() }

// logBuffer collects log output for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// client keeps the session cookie between requests, like a browser.
type client struct {
	t      testing.TB
	h      http.Handler
	name   string
	cookie string
}

func newClient(t testing.TB, m *Manager, h http.HandlerFunc) *client {
	return &client{t: t, h: m.Handler(h), name: m.CookieName()}
}

func (c *client) do(method, target string, hdr ...string) *httptest.ResponseRecorder {
	c.t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if c.cookie != "" {
		req.Header.Set("Cookie", c.name+"="+c.cookie)
	}
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, req)
	for _, ck := range (&http.Response{Header: rec.Header()}).Cookies() {
		if ck.Name != c.name {
			continue
		}
		if ck.MaxAge < 0 || ck.Value == "" {
			c.cookie = ""
		} else {
			c.cookie = ck.Value
		}
	}
	return rec
}

func (c *client) get(target string) *httptest.ResponseRecorder { return c.do(http.MethodGet, target) }

// setCookieHeader returns the Set-Cookie line for the session cookie, or "".
func setCookieHeader(rec *httptest.ResponseRecorder, name string) string {
	for _, v := range rec.Header().Values("Set-Cookie") {
		if strings.HasPrefix(v, name+"=") {
			return v
		}
	}
	return ""
}

// app is a small handler that exercises the session by path.
func app(w http.ResponseWriter, r *http.Request) {
	s := From(r)
	switch r.URL.Path {
	case "/set":
		s.Set("v", r.URL.Query().Get("v"))
	case "/get":
		v, _ := Get[string](s, "v")
		_, _ = w.Write([]byte(v))
		return
	case "/login":
		if err := s.Renew(); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		s.SetUserID(r.URL.Query().Get("u"))
	case "/logout":
		_ = s.Destroy()
	case "/user":
		_, _ = w.Write([]byte(s.UserID()))
		return
	case "/handle":
		_, _ = w.Write([]byte(s.Handle()))
		return
	case "/noop":
	}
	w.WriteHeader(http.StatusNoContent)
}

func newTestManager(t testing.TB, o Options) *Manager {
	t.Helper()
	if o.HashKeys == nil && o.Stateless == nil {
		o.HashKeys = [][]byte{testKey}
	}
	m, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m
}

// runSteps sends one request per step, from one client, each step seeing
// the request's session.
func runSteps(t *testing.T, m *Manager, steps ...func(*testing.T, *Session)) {
	t.Helper()
	step := 0
	c := newClient(t, m, func(w http.ResponseWriter, r *http.Request) {
		steps[step](t, From(r))
		step++
	})
	for range steps {
		c.get("/")
	}
}

// testRenderer returns an errs Renderer in mode, auditing to audit when it
// is not nil, for tests that mount it in front of the session stage.
func testRenderer(t testing.TB, mode errs.Mode, audit *slog.Logger) *errs.Renderer {
	t.Helper()
	rd, err := errs.NewRenderer(errs.Options{Mode: mode, Logger: slog.New(slog.DiscardHandler), AuditLogger: audit})
	if err != nil {
		t.Fatal(err)
	}
	return rd
}
