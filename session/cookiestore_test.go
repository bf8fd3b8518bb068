package session

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"
)

var (
	aeadKey1 = bytes.Repeat([]byte{1}, 32)
	aeadKey2 = bytes.Repeat([]byte{2}, 32)
)

func newCookieStore(t testing.TB, o CookieStoreOptions) *CookieStore {
	t.Helper()
	if o.Keys == nil {
		o.Keys = [][]byte{aeadKey1}
	}
	cs, err := NewCookieStore(o)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func TestNewCookieStoreValidates(t *testing.T) {
	t.Parallel()
	cases := map[string]CookieStoreOptions{
		"no keys":       {},
		"short key":     {Keys: [][]byte{[]byte("short")}},
		"repeated key":  {Keys: [][]byte{aeadKey1, aeadKey1}},
		"max too big":   {Keys: [][]byte{aeadKey1}, MaxSize: 10000},
		"max too small": {Keys: [][]byte{aeadKey1}, MaxSize: 10},
	}
	for name, o := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := NewCookieStore(o); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestCookieStoreSessions(t *testing.T) {
	t.Parallel()
	clk := newClock()
	versions := NewMemoryVersions()
	cs := newCookieStore(t, CookieStoreOptions{Versions: versions})
	m := newTestManager(t, Options{Stateless: cs, Now: clk.Now, IdleTimeout: 30 * time.Minute, AbsoluteTimeout: 2 * time.Hour})
	f := &cookieSessions{clk: clk, versions: versions, cs: cs, m: m, c: newClient(t, m, app)}

	f.c.get("/set?v=hello")
	if got := f.c.get("/get").Body.String(); got != "hello" {
		t.Fatalf("round trip = %q", got)
	}
	if raw, _ := base64.RawURLEncoding.DecodeString(f.c.cookie); len(raw) == 0 || raw[0] != envelopeVersion ||
		bytes.Contains(raw, []byte("hello")) {
		t.Fatalf("cookie is not a versioned, encrypted envelope")
	}
	t.Run("tampered and truncated", f.tampered)
	t.Run("key rotation", f.keyRotation)
	t.Run("expiry", f.expiry)
	t.Run("revocation by user version", f.revocation)
	t.Run("destroy", f.destroy)
	t.Run("no listing", f.noListing)
}

// cookieSessions is the fixture of TestCookieStoreSessions: a stateless
// manager and a client holding a session with v = "hello".
type cookieSessions struct {
	clk      *fakeClock
	versions *MemoryVersions
	cs       *CookieStore
	m        *Manager
	c        *client
}

func (f *cookieSessions) tampered(t *testing.T) {
	raw, _ := base64.RawURLEncoding.DecodeString(f.c.cookie)
	variants := map[string][]byte{
		"flipped ciphertext": func() []byte { b := bytes.Clone(raw); b[len(b)-1] ^= 1; return b }(),
		"flipped key id":     func() []byte { b := bytes.Clone(raw); b[2] ^= 1; return b }(),
		"other version":      func() []byte { b := bytes.Clone(raw); b[0] = 2; return b }(),
		"truncated":          raw[:len(raw)-5],
		"header only":        raw[:envelopeHeader],
		"short":              raw[:3],
	}
	for name, b := range variants {
		bad := newClient(t, f.m, app)
		bad.cookie = base64.RawURLEncoding.EncodeToString(b)
		if rec := bad.get("/get"); rec.Code != 200 || rec.Body.String() != "" {
			t.Errorf("%s: %d %q", name, rec.Code, rec.Body.String())
		}
	}
	// Bound to the cookie name through the associated data.
	if _, err := f.cs.open("other", f.c.cookie); err == nil {
		t.Errorf("envelope accepted under another cookie name")
	}
}

func (f *cookieSessions) keyRotation(t *testing.T) {
	rotated := newCookieStore(t, CookieStoreOptions{Keys: [][]byte{aeadKey2, aeadKey1}, Versions: f.versions})
	m2 := newTestManager(t, Options{Stateless: rotated, Now: f.clk.Now})
	c2 := newClient(t, m2, app)
	c2.cookie = f.c.cookie
	if got := c2.get("/get").Body.String(); got != "hello" {
		t.Fatalf("old-key cookie refused after rotation: %q", got)
	}
	c2.get("/set?v=new")
	only2 := newCookieStore(t, CookieStoreOptions{Keys: [][]byte{aeadKey2}})
	if _, err := only2.open(f.m.CookieName(), c2.cookie); err != nil {
		t.Fatalf("new cookies are not sealed with the first key: %v", err)
	}
	only1 := newCookieStore(t, CookieStoreOptions{Keys: [][]byte{aeadKey1}})
	if _, err := only1.open(f.m.CookieName(), c2.cookie); err == nil {
		t.Fatalf("a retired key still opens new cookies")
	}
}

func (f *cookieSessions) expiry(t *testing.T) {
	e := newClient(t, f.m, app)
	e.get("/set?v=x")
	f.clk.Advance(31 * time.Minute)
	if got := e.get("/get").Body.String(); got != "" {
		t.Fatalf("idle cookie session still alive: %q", got)
	}
	e.get("/set?v=y")
	for range 6 {
		f.clk.Advance(20 * time.Minute)
		e.get("/get")
	}
	f.clk.Advance(time.Minute)
	if got := e.get("/get").Body.String(); got != "" {
		t.Fatalf("absolute timeout not enforced on cookie sessions: %q", got)
	}
}

func (f *cookieSessions) revocation(t *testing.T) {
	a, b := newClient(t, f.m, app), newClient(t, f.m, app)
	a.get("/login?u=erin")
	b.get("/login?u=erin")
	if a.get("/user").Body.String() != "erin" {
		t.Fatal("login failed")
	}
	stolen := a.cookie
	if _, err := f.m.DestroyUser(context.Background(), "erin"); err != nil {
		t.Fatal(err)
	}
	for _, cl := range []*client{a, b} {
		if got := cl.get("/user").Body.String(); got != "" {
			t.Fatalf("cookie session survived revocation: %q", got)
		}
	}
	a.get("/login?u=erin")
	if a.get("/user").Body.String() != "erin" {
		t.Fatal("cannot log in again after revocation")
	}
	replay := newClient(t, f.m, app)
	replay.cookie = stolen
	if got := replay.get("/user").Body.String(); got != "" {
		t.Fatalf("stolen pre-revocation cookie works: %q", got)
	}
}

func (f *cookieSessions) destroy(t *testing.T) {
	d := newClient(t, f.m, app)
	d.get("/set?v=z")
	d.get("/logout")
	if d.cookie != "" {
		t.Fatal("cookie not expired on destroy")
	}
}

func (f *cookieSessions) noListing(t *testing.T) {
	if _, err := f.m.UserSessions(context.Background(), "erin"); err == nil {
		t.Fatal("a stateless manager listed sessions")
	}
}

func TestCookieStoreOverflow(t *testing.T) {
	t.Parallel()
	m := newTestManager(t, Options{Stateless: newCookieStore(t, CookieStoreOptions{})})
	cases := []struct {
		name string
		size int
		want int
	}{
		{"fits", 2000, http.StatusOK},
		{"overflows", 4000, http.StatusInternalServerError},
		{"far over", 1 << 16, http.StatusInternalServerError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var logs logBuffer
			m.log = logs.logger()
			c := newClient(t, m, func(w http.ResponseWriter, r *http.Request) {
				From(r).Set("blob", strings.Repeat("x", tc.size))
				_, _ = w.Write([]byte("ok"))
			})
			rec := c.get("/")
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d", rec.Code, tc.want)
			}
			if tc.want == http.StatusOK {
				if line := setCookieHeader(rec, m.CookieName()); len(line) == 0 {
					t.Fatal("no cookie")
				}
				return
			}
			if !strings.Contains(rec.Body.String(), "session_cookie_too_large") || setCookieHeader(rec, m.CookieName()) != "" {
				t.Fatalf("overflow: %s %v", rec.Body.String(), rec.Header())
			}
			if !strings.Contains(logs.String(), "outgrew its cookie") {
				t.Fatalf("overflow not logged: %s", logs.String())
			}
		})
	}
}
