package session

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/covetgo/covet/errs"
)

func TestNewRefusesInsecureOrInvalidOptions(t *testing.T) {
	t.Parallel()
	short := []byte("short")
	cases := []struct {
		name string
		o    Options
	}{
		{"no hash key", Options{}},
		{"short hash key", Options{HashKeys: [][]byte{short}}},
		{"host prefix with domain", Options{HashKeys: [][]byte{testKey}, CookieName: "__Host-s", Domain: "example.com"}},
		{"host prefix insecure", Options{HashKeys: [][]byte{testKey}, CookieName: "__Host-s", InsecureCookie: true}},
		{"secure prefix insecure", Options{HashKeys: [][]byte{testKey}, CookieName: "__Secure-s", InsecureCookie: true}},
		{"host prefix upper case insecure", Options{HashKeys: [][]byte{testKey}, CookieName: "__HOST-sid", InsecureCookie: true}},
		{"host prefix lower case with domain", Options{HashKeys: [][]byte{testKey}, CookieName: "__host-sid", Domain: "example.com"}},
		{"host prefix mixed case insecure", Options{HashKeys: [][]byte{testKey}, CookieName: "__hOsT-sid", InsecureCookie: true}},
		{"secure prefix lower case insecure", Options{HashKeys: [][]byte{testKey}, CookieName: "__secure-sid", InsecureCookie: true}},
		{"secure prefix upper case insecure", Options{HashKeys: [][]byte{testKey}, CookieName: "__SECURE-sid", InsecureCookie: true}},
		{"samesite none insecure", Options{HashKeys: [][]byte{testKey}, InsecureCookie: true, SameSite: http.SameSiteNoneMode}},
		{"bad cookie name", Options{HashKeys: [][]byte{testKey}, CookieName: "a b;c"}},
		{"bad domain", Options{HashKeys: [][]byte{testKey}, Domain: "ex ample.com; Path=/x"}},
		{"store and stateless", Options{HashKeys: [][]byte{testKey}, Store: NewMemoryStore(MemoryOptions{}), Stateless: &CookieStore{}}},
		{"sub-second idle", Options{HashKeys: [][]byte{testKey}, IdleTimeout: time.Millisecond}},
		{"touch not below idle", Options{HashKeys: [][]byte{testKey}, IdleTimeout: time.Minute, TouchInterval: time.Minute}},
		{"grace too long", Options{HashKeys: [][]byte{testKey}, RenewGrace: time.Hour}},
		{"bad trusted origin", Options{HashKeys: [][]byte{testKey}, CSRF: CSRFOptions{TrustedOrigins: []string{"not a url"}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.o)
			if !errors.Is(err, errs.KindConfiguration) {
				t.Fatalf("New = %v, want a configuration error", err)
			}
		})
	}
}

func TestCookieDefaults(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		o    Options
		want []string
		not  []string
	}{
		{"secure default", Options{}, []string{"__Host-session=", "; Path=/", "; HttpOnly", "; Secure", "; SameSite=Lax"}, []string{"Domain=", "Max-Age"}},
		{"strict persistent", Options{SameSite: http.SameSiteStrictMode, Persistent: true}, []string{"SameSite=Strict", "Max-Age=43200"}, nil},
		{"domain", Options{Domain: "example.com"}, []string{"__Secure-session=", "Domain=example.com", "; Secure"}, nil},
		{"insecure development", Options{InsecureCookie: true}, []string{"session=", "; HttpOnly", "SameSite=Lax"}, []string{"Secure", "__Host-"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var logs logBuffer
			tc.o.Logger = logs.logger()
			m := newTestManager(t, tc.o)
			c := newClient(t, m, app)
			line := setCookieHeader(c.get("/set?v=1"), m.CookieName())
			for _, w := range tc.want {
				if !strings.Contains(line, w) {
					t.Errorf("Set-Cookie %q lacks %q", line, w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(line, n) {
					t.Errorf("Set-Cookie %q has %q", line, n)
				}
			}
			warned := strings.Contains(logs.String(), "InsecureCookie")
			if warned != tc.o.InsecureCookie {
				t.Errorf("insecure warning logged = %v, want %v (logs: %s)", warned, tc.o.InsecureCookie, logs.String())
			}
		})
	}
}

func TestLazyLoadAndSaveOnlyOnChange(t *testing.T) {
	t.Parallel()
	clk := newClock()
	st := &countingStore{Store: NewMemoryStore(MemoryOptions{Now: clk.Now})}
	m := newTestManager(t, Options{Store: st, Now: clk.Now, TouchInterval: time.Minute})
	c := newClient(t, m, app)

	c.get("/set?v=a")
	if st.saves.Load() != 1 || c.cookie == "" {
		t.Fatalf("first write: saves = %d, cookie %q", st.saves.Load(), c.cookie)
	}
	cases := []struct {
		name                  string
		path                  string
		advance               time.Duration
		loads, writes, cookie bool
	}{
		{"untouched session", "/noop", 0, false, false, false},
		{"read only", "/get", 0, true, false, false},
		{"read after touch interval", "/get", 2 * time.Minute, true, true, false},
		{"read right after touch", "/get", time.Second, true, false, false},
		{"same value written", "/set?v=b", 0, true, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk.Advance(tc.advance)
			l0, w0, t0 := st.loads.Load(), st.writes(), st.touches.Load()
			rec := c.get(tc.path)
			if got := st.loads.Load() > l0; got != tc.loads {
				t.Errorf("store loaded = %v, want %v", got, tc.loads)
			}
			if got := st.writes() > w0; got != tc.writes {
				t.Errorf("store written = %v, want %v (touches %d→%d)", got, tc.writes, t0, st.touches.Load())
			}
			if got := setCookieHeader(rec, m.CookieName()) != ""; got != tc.cookie {
				t.Errorf("Set-Cookie sent = %v, want %v", got, tc.cookie)
			}
			if tc.loads && rec.Header().Get("Vary") != "Cookie" {
				t.Errorf("Vary = %q, want Cookie", rec.Header().Get("Vary"))
			}
		})
	}
}

func TestTamperedAndTruncatedCookies(t *testing.T) {
	t.Parallel()
	m := newTestManager(t, Options{})
	c := newClient(t, m, app)
	c.get("/set?v=secret")
	good := c.cookie
	raw, _ := base64.URLEncoding.DecodeString(good)
	flipped := []byte(good)
	flipped[len(flipped)/2] ^= 1
	cases := map[string]string{
		"truncated":          good[:len(good)/2],
		"one byte flipped":   string(flipped),
		"not base64":         "%%%%",
		"empty mac":          base64.URLEncoding.EncodeToString(raw[:len(raw)-32]),
		"quoted garbage":     `"abc"`,
		"huge":               strings.Repeat("A", 5000),
		"other cookie names": "",
	}
	for name, v := range cases {
		t.Run(name, func(t *testing.T) {
			bad := newClient(t, m, app)
			bad.cookie = v
			if name == "other cookie names" {
				bad.name = "session"
				bad.cookie = good
			}
			rec := bad.get("/get")
			if rec.Code != http.StatusOK || rec.Body.String() != "" {
				t.Fatalf("status %d body %q: a bad cookie must give a fresh, empty session", rec.Code, rec.Body.String())
			}
			rec = bad.get("/set?v=mine")
			if rec.Code != http.StatusNoContent {
				t.Fatalf("write with a bad cookie: status %d", rec.Code)
			}
			if name != "other cookie names" && (bad.cookie == v || bad.cookie == good) {
				t.Fatalf("bad cookie adopted")
			}
		})
	}
	if got := c.get("/get").Body.String(); got != "secret" {
		t.Fatalf("the real session was disturbed: %q", got)
	}
}

func TestHashKeyRotation(t *testing.T) {
	t.Parallel()
	oldKey, newKey := []byte(strings.Repeat("o", 32)), []byte(strings.Repeat("n", 32))
	st := NewMemoryStore(MemoryOptions{})
	m1 := newTestManager(t, Options{Store: st, HashKeys: [][]byte{oldKey}})
	c := newClient(t, m1, app)
	c.get("/set?v=kept")
	m2 := newTestManager(t, Options{Store: st, HashKeys: [][]byte{newKey, oldKey}})
	c2 := newClient(t, m2, app)
	c2.cookie = c.cookie
	if got := c2.get("/get").Body.String(); got != "kept" {
		t.Fatalf("a cookie signed by the old key was refused after rotation: %q", got)
	}
	m3 := newTestManager(t, Options{Store: st, HashKeys: [][]byte{newKey}})
	c3 := newClient(t, m3, app)
	c3.cookie = c.cookie
	if got := c3.get("/get").Body.String(); got != "" {
		t.Fatalf("a cookie signed by a retired key was accepted")
	}
}

func TestTypedValuesAndFlash(t *testing.T) {
	t.Parallel()
	m := newTestManager(t, Options{Store: NewMemoryStore(MemoryOptions{})})
	runSteps(t, m, typedSet, typedGet, typedPopped, typedCleared)
}

type prefs struct {
	Theme string `json:"theme"`
	Size  int    `json:"size"`
}

func typedSet(t *testing.T, s *Session) {
	s.Set("n", 42)
	s.Set("p", prefs{"dark", 3})
	s.Set("tags", []string{"a", "b"})
	if n, ok := Get[int](s, "n"); !ok || n != 42 {
		t.Errorf("Get in the same request = %v, %v", n, ok)
	}
	s.AddFlash("info", "saved")
	s.AddFlash("warn", "twice")
}

func typedGet(t *testing.T, s *Session) {
	if n, ok := Get[int](s, "n"); !ok || n != 42 {
		t.Errorf("Get[int] = %v, %v", n, ok)
	}
	if n, ok := Get[int64](s, "n"); !ok || n != 42 {
		t.Errorf("Get[int64] = %v, %v", n, ok)
	}
	if p, ok := Get[prefs](s, "p"); !ok || p != (prefs{"dark", 3}) {
		t.Errorf("Get[prefs] = %v, %v", p, ok)
	}
	if tags, ok := Get[[]string](s, "tags"); !ok || len(tags) != 2 {
		t.Errorf("Get[[]string] = %v, %v", tags, ok)
	}
	if _, ok := Get[string](s, "n"); ok {
		t.Errorf("Get[string] of a number succeeded")
	}
	if _, ok := Get[int](s, "missing"); ok {
		t.Errorf("Get of a missing key succeeded")
	}
	typedKeysAndFlashes(t, s)
}

func typedKeysAndFlashes(t *testing.T, s *Session) {
	if got := s.Keys(); strings.Join(got, ",") != "n,p,tags" {
		t.Errorf("Keys = %v (reserved keys must be hidden)", got)
	}
	f := s.Flashes()
	if len(f) != 2 || f[0] != (Flash{"info", "saved"}) || f[1].Kind != "warn" {
		t.Errorf("Flashes = %v", f)
	}
	if v, ok := Pop[int](s, "n"); !ok || v != 42 {
		t.Errorf("Pop = %v, %v", v, ok)
	}
}

func typedPopped(t *testing.T, s *Session) {
	if f := s.Flashes(); len(f) != 0 {
		t.Errorf("flashes shown twice: %v", f)
	}
	if s.Has("n") {
		t.Errorf("popped key still there")
	}
	s.Clear()
}

func typedCleared(t *testing.T, s *Session) {
	if len(s.Keys()) != 0 {
		t.Errorf("Clear kept %v", s.Keys())
	}
}

func TestNilSessionIsSafe(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	s := From(r)
	if s != nil {
		t.Fatal("From without the middleware returned a session")
	}
	s.Set("a", 1)
	s.Delete("a")
	s.Clear()
	s.AddFlash("a", "b")
	if _, ok := Get[int](s, "a"); ok || s.Has("a") || s.UserID() != "" || s.Flashes() != nil || s.Keys() != nil || !s.IsNew() {
		t.Fatal("nil session returned data")
	}
	if Renew(r) == nil || Destroy(r) == nil || s.Err() == nil {
		t.Fatal("Renew/Destroy/Err on a request without a session must fail")
	}
	if _, err := CSRFToken(r); err == nil {
		t.Fatal("CSRFToken without a session must fail")
	}
}

func TestChangeAfterHeaders(t *testing.T) {
	t.Parallel()
	for _, mode := range []errs.Mode{errs.Production, errs.Development} {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			var logs logBuffer
			st := &countingStore{Store: NewMemoryStore(MemoryOptions{})}
			m := newTestManager(t, Options{Store: st, Logger: logs.logger()})
			c := newClient(t, m, func(w http.ResponseWriter, r *http.Request) {
				s := From(r)
				_, _ = w.Write([]byte("body"))
				s.Set("late", "value")
			})
			c.h = testRenderer(t, mode, nil).Handler(c.h)
			rec := c.get("/")
			if st.saves.Load() != 0 {
				t.Errorf("a change after the headers was saved")
			}
			if !strings.Contains(logs.String(), "session changed after the response headers were sent") ||
				!strings.Contains(logs.String(), "key=late") {
				t.Errorf("no error logged: %s", logs.String())
			}
			if !strings.Contains(logs.String(), "TestChangeAfterHeaders") {
				t.Errorf("log does not name the caller: %s", logs.String())
			}
			switch mode {
			case errs.Development:
				if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "session_changed_after_headers") {
					t.Errorf("Development: status %d body %s, want 500 session_changed_after_headers", rec.Code, rec.Body.String())
				}
			default:
				if rec.Code != http.StatusOK || rec.Body.String() != "body" {
					t.Errorf("Production: status %d body %q", rec.Code, rec.Body.String())
				}
			}
		})
	}
}

func TestDevelopmentHoldKeepsResponse(t *testing.T) {
	t.Parallel()
	m := newTestManager(t, Options{})
	c := newClient(t, m, func(w http.ResponseWriter, r *http.Request) {
		From(r).Set("a", 1)
		w.Header().Set("X-Before", "1")
		w.WriteHeader(http.StatusCreated)
		w.Header().Set("X-After", "ignored")
		_, _ = w.Write([]byte("held"))
	})
	c.h = testRenderer(t, errs.Development, nil).Handler(c.h)
	rec := c.get("/")
	if rec.Code != http.StatusCreated || rec.Body.String() != "held" || rec.Header().Get("X-Before") != "1" ||
		rec.Header().Get("X-After") != "" || c.cookie == "" {
		t.Fatalf("held response altered: %d %q %v", rec.Code, rec.Body.String(), rec.Header())
	}
}

// hijackRecorder is an httptest.ResponseRecorder that can be hijacked.
type hijackRecorder struct {
	*httptest.ResponseRecorder
	hijacked bool
}

func (h *hijackRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h.hijacked = true
	a, b := net.Pipe()
	_ = b.Close()
	return a, bufio.NewReadWriter(bufio.NewReader(a), bufio.NewWriter(a)), nil
}

func TestResponseWriterInterfaces(t *testing.T) {
	t.Parallel()
	st := &countingStore{Store: NewMemoryStore(MemoryOptions{})}
	m := newTestManager(t, Options{Store: st})
	cases := []struct {
		name string
		fn   func(w http.ResponseWriter) error
	}{
		{"flush", func(w http.ResponseWriter) error { return http.NewResponseController(w).Flush() }},
		{"hijack", func(w http.ResponseWriter) error {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				_ = conn.Close()
			}
			return err
		}},
		{"read from", func(w http.ResponseWriter) error {
			rf, ok := w.(io.ReaderFrom)
			if !ok {
				return errors.New("no ReadFrom")
			}
			_, err := rf.ReadFrom(strings.NewReader("copied"))
			return err
		}},
		{"unwrap", func(w http.ResponseWriter) error {
			u, ok := w.(interface{ Unwrap() http.ResponseWriter })
			if !ok {
				return errors.New("no Unwrap")
			}
			if _, ok := u.Unwrap().(*hijackRecorder); !ok {
				return errors.New("Unwrap does not return the original writer")
			}
			return nil
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			saves := st.saves.Load()
			h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				From(r).Set("k", tc.name)
				if err := tc.fn(w); err != nil {
					t.Errorf("%s: %v", tc.name, err)
				}
				if tc.name != "unwrap" && st.saves.Load() != saves+1 {
					t.Errorf("session not saved before %s reached the client", tc.name)
				}
			}))
			rec := &hijackRecorder{ResponseRecorder: httptest.NewRecorder()}
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			if tc.name == "hijack" && !rec.hijacked {
				t.Errorf("Hijack did not reach the original writer")
			}
			if tc.name == "flush" && !rec.Flushed {
				t.Errorf("Flush did not reach the original writer")
			}
			if tc.name == "read from" && rec.Body.String() != "copied" {
				t.Errorf("ReadFrom body = %q", rec.Body.String())
			}
		})
	}
}

// failingStore is a store whose server is down.
type failingStore struct{ *MemoryStore }

var errDown = errors.New("connection refused")

func (*failingStore) Load(context.Context, Key) (Record, error)                  { return Record{}, errDown }
func (*failingStore) Save(context.Context, Key, Record, time.Duration) error     { return errDown }
func (*failingStore) Touch(context.Context, Key, time.Time, time.Duration) error { return errDown }

func TestStoreFailure(t *testing.T) {
	t.Parallel()
	m := newTestManager(t, Options{Store: &failingStore{NewMemoryStore(MemoryOptions{})}})
	c := newClient(t, m, func(w http.ResponseWriter, r *http.Request) {
		From(r).Set("a", 1)
		w.Header().Set("X-Handler", "1")
		_, err := w.Write([]byte("handler output"))
		if err == nil {
			t.Errorf("write after a failed save succeeded")
		}
	})
	rec := c.get("/")
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "session_store_unavailable") ||
		strings.Contains(rec.Body.String(), "handler output") {
		t.Fatalf("store failure: %d %s %v", rec.Code, rec.Body.String(), rec.Header())
	}

	// The 503 replaces the handler's answer: its cookie and redirect do not
	// go out, and neither does a session cookie; the headers of the stages
	// outside (CORS, security headers, Vary) do, so a browser can read it.
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		From(r).Set("a", 1)
		http.SetCookie(w, &http.Cookie{Name: "step", Value: "2"})
		w.Header().Set("Location", "/next")
		w.WriteHeader(http.StatusSeeOther)
	}))
	rec = httptest.NewRecorder()
	outer := map[string]string{"Access-Control-Allow-Origin": "https://app.example", "X-Frame-Options": "DENY", "Vary": "Origin"}
	for k, v := range outer {
		rec.Header().Set(k, v)
	}
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("store failure: %d", rec.Code)
	}
	for _, k := range []string{"Set-Cookie", "Location"} {
		if v := rec.Header().Values(k); len(v) > 0 {
			t.Errorf("the 503 carries %s %q", k, v)
		}
	}
	for k, v := range outer {
		if got := rec.Header().Get(k); !strings.Contains(got, v) {
			t.Errorf("an outer stage's %s = %q was dropped (now %q)", k, v, got)
		}
	}
	// A session that failed to load never overwrites the store.
	c.cookie = "x"
	s := &Session{m: m, r: httptest.NewRequest(http.MethodGet, "/", nil), ctx: context.Background()}
	s.r.Header.Set("Cookie", m.CookieName()+"=abc")
	if s.Err() != nil {
		t.Fatalf("an invalid cookie is not a store error: %v", s.Err())
	}
}

func TestUnencodableValue(t *testing.T) {
	t.Parallel()
	m := newTestManager(t, Options{})
	c := newClient(t, m, func(w http.ResponseWriter, r *http.Request) {
		From(r).Set("ch", make(chan int))
	})
	rec := c.get("/")
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "session_value_unencodable") {
		t.Fatalf("unencodable value: %d %s", rec.Code, rec.Body.String())
	}
}

func TestStoreDownAtLoad(t *testing.T) {
	t.Parallel()
	mem := NewMemoryStore(MemoryOptions{})
	good := newTestManager(t, Options{Store: mem})
	c := newClient(t, good, app)
	c.get("/set?v=1")

	down := newTestManager(t, Options{Store: &failingStore{mem}})
	var loadErr error
	reader := &client{t: t, name: down.CookieName(), cookie: c.cookie, h: down.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := From(r)
		if _, ok := Get[string](s, "v"); ok {
			t.Error("a failed load returned data")
		}
		loadErr = s.Err()
		if r.URL.Path == "/write" {
			s.Set("v", "overwrite")
		}
	}))}
	if rec := reader.get("/read"); rec.Code != http.StatusOK || loadErr == nil {
		t.Fatalf("read with the store down: %d, Err = %v", rec.Code, loadErr)
	}
	if rec := reader.get("/write"); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("write with the store down: %d, want 503", rec.Code)
	}
	if got := c.get("/get").Body.String(); got != "1" {
		t.Fatalf("the outage overwrote the session: %q", got)
	}
}

func TestConcurrentUseWithinARequest(t *testing.T) {
	t.Parallel()
	m := newTestManager(t, Options{})
	c := newClient(t, m, func(w http.ResponseWriter, r *http.Request) {
		s := From(r)
		done := make(chan struct{})
		for i := range 8 {
			go func() {
				defer func() { done <- struct{}{} }()
				key := string(rune('a' + i))
				s.Set(key, i)
				_, _ = Get[int](s, key)
				s.AddFlash("n", key)
				_ = s.Keys()
			}()
		}
		for range 8 {
			<-done
		}
	})
	c.get("/")
	n := 0
	check := newClient(t, m, func(w http.ResponseWriter, r *http.Request) {
		n = len(From(r).Keys())
		if f := From(r).Flashes(); len(f) != 8 {
			t.Errorf("flashes = %d, want 8", len(f))
		}
	})
	check.cookie = c.cookie
	check.get("/")
	if n != 8 {
		t.Fatalf("keys after concurrent sets = %d, want 8", n)
	}
}

func TestPersistentCookieNeverOutlivesTheSession(t *testing.T) {
	t.Parallel()
	clk := newClock()
	m := newTestManager(t, Options{Persistent: true, Now: clk.Now, IdleTimeout: 2 * time.Hour, AbsoluteTimeout: 12 * time.Hour})
	c := newClient(t, m, app)
	if line := setCookieHeader(c.get("/set?v=1"), m.CookieName()); !strings.Contains(line, "Max-Age=43200") {
		t.Fatalf("fresh session cookie: %q", line)
	}
	clk.Advance(time.Hour)
	line := setCookieHeader(c.get("/login?u=x"), m.CookieName())
	if !strings.Contains(line, "Max-Age=39600") {
		t.Fatalf("renewed cookie must carry the remaining 11h, got %q", line)
	}
}

// TestVaryIsTheResponsesOwn edits a response's Vary in place after the
// session committed it: the next response must still say Cookie, so no
// Vary slice is shared between responses.
func TestVaryIsTheResponsesOwn(t *testing.T) {
	t.Parallel()
	m := newTestManager(t, Options{})
	h := m.Handler(http.HandlerFunc(app))
	for i := range 3 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/set?v=a", nil))
		v := rec.Header()["Vary"]
		if len(v) != 1 || v[0] != "Cookie" {
			t.Fatalf("response %d: Vary = %q, want [Cookie]", i, v)
		}
		v[0] = "edited"
	}
}
