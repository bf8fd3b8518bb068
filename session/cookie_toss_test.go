package session

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// tossRequest sends one request with the Cookie header given, returning
// the response.
func tossRequest(t *testing.T, m *Manager, method, path, cookie string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	req.Header.Set("Cookie", cookie)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	m.Handler(http.HandlerFunc(app)).ServeHTTP(rec, req)
	return rec
}

// signedUnknown returns a validly signed cookie value for an ID the store
// has never seen.
func signedUnknown(t *testing.T, m *Manager) string {
	t.Helper()
	v, err := m.codecs[0].Encode(m.name, bytes.Repeat([]byte{0x42}, idLen))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

type tossCase struct {
	name, cookie string
	user         string // what /user answers
	expire       bool   // whether the response expires the cookie
}

// A cookie planted beside the session cookie (cookie tossing: a sibling
// subdomain sets a cookie of the same name for the parent domain, which
// the browser sends first) neither hides the session nor makes the stage
// expire the session cookie: the stage uses the first cookie of its name
// whose signature verifies, and expires the cookie only when doing so
// cannot remove a valid cookie it did not use.
func TestCookieTossing(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"stored", "stateless"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			o := Options{InsecureCookie: true, Logger: slog.New(slog.DiscardHandler)}
			if mode == "stateless" {
				cs, err := NewCookieStore(CookieStoreOptions{Keys: [][]byte{testKey}})
				if err != nil {
					t.Fatal(err)
				}
				o.Stateless = cs
			}
			m := newTestManager(t, o)
			c := newClient(t, m, app)
			c.get("/login?u=alice")
			valid := c.cookie
			if valid == "" {
				t.Fatal("login set no cookie")
			}
			otherValid := ""
			if mode == "stored" {
				otherValid = signedUnknown(t, m)
			} else {
				// Another live session, sealed by the same keys.
				other := newClient(t, m, app)
				other.get("/login?u=mallory")
				otherValid = other.cookie
			}
			name := m.CookieName()
			tests := []tossCase{
				{"garbage first", name + "=garbage; " + name + "=" + valid, "alice", false},
				{"empty first", name + "=; " + name + "=" + valid, "alice", false},
				{"quoted empty first", name + `=""; ` + name + "=" + valid, "alice", false},
				{"oversized first", name + "=" + strings.Repeat("x", maxCookieValue+1) + "; " + name + "=" + valid, "alice", false},
				{"three planted", name + "=a; other=1; " + name + "=b; " + name + "=c; " + name + "=" + valid, "alice", false},
				{"garbage after", name + "=" + valid + "; " + name + "=garbage", "alice", false},
				{"split headers", name + "=garbage\x00" + name + "=" + valid, "alice", false},
				{"only garbage", name + "=garbage; " + name + "=junk", "", true},
				{"one garbage", name + "=garbage", "", true},
				{"beyond the bound", name + "=a; " + name + "=b; " + name + "=c; " + name + "=d; " + name + "=" + valid, "", true},
			}
			if mode == "stored" {
				tests = append(tests,
					// The first verified cookie is used; its session is
					// unknown, but the cookie is not expired, as that
					// could remove the valid one.
					tossCase{"signed unknown first", name + "=" + otherValid + "; " + name + "=" + valid, "", false},
					tossCase{"signed unknown alone", name + "=" + otherValid, "", true})
			} else {
				tests = append(tests, tossCase{"other session first", name + "=" + otherValid + "; " + name + "=" + valid, "mallory", false})
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					req := httptest.NewRequest(http.MethodGet, "/user", nil)
					for _, line := range strings.Split(tt.cookie, "\x00") {
						req.Header.Add("Cookie", line)
					}
					rec := httptest.NewRecorder()
					m.Handler(http.HandlerFunc(app)).ServeHTTP(rec, req)
					if got := rec.Body.String(); got != tt.user {
						t.Errorf("user = %q, want %q", got, tt.user)
					}
					set := setCookieHeader(rec, name)
					expired := strings.Contains(set, "Max-Age=0")
					if expired != tt.expire {
						t.Errorf("Set-Cookie = %q; want expiry %v", set, tt.expire)
					}
					if !tt.expire && set != "" {
						t.Errorf("Set-Cookie = %q, want none", set)
					}
				})
			}
		})
	}
}

// A session cookie hidden behind a planted one still makes the request
// one with a session for CSRF: a cross-site POST is refused, not passed
// as a cookieless request whose session the handler then reads.
func TestCookieTossingCSRF(t *testing.T) {
	t.Parallel()
	m := newTestManager(t, Options{InsecureCookie: true, Logger: slog.New(slog.DiscardHandler)})
	c := newClient(t, m, app)
	c.get("/login?u=alice")
	name := m.CookieName()
	for _, planted := range []string{"", `""`, strings.Repeat("x", maxCookieValue+1), "garbage"} {
		cookie := name + "=" + planted + "; " + name + "=" + c.cookie
		rec := tossRequest(t, m, http.MethodPost, "/user", cookie, "Sec-Fetch-Site", "cross-site")
		if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "csrf_cross_origin") {
			t.Errorf("cross-site POST with %.20q planted: %d %s, want 403 csrf_cross_origin", planted, rec.Code, rec.Body.String())
		}
	}
}

// A header with thousands of cookies of the session's name costs at most
// maxSessionCookies verifications: later ones are not looked at.
func TestCookieValuesBounded(t *testing.T) {
	t.Parallel()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Cookie", strings.Repeat("session=x; ", 10000)+"session=last")
	vals, n := cookieValues(req, "session")
	if n != maxSessionCookies {
		t.Fatalf("n = %d, want %d", n, maxSessionCookies)
	}
	for _, v := range vals[:n] {
		if v != "x" {
			t.Fatalf("values = %q", vals[:n])
		}
	}
}

func TestCookieValuesAllocs(t *testing.T) {
	one := httptest.NewRequest(http.MethodGet, "/", nil)
	one.Header.Set("Cookie", "a=1; __Host-session=abcdef; b=2")
	tossed := httptest.NewRequest(http.MethodGet, "/", nil)
	tossed.Header.Set("Cookie", "__Host-session=x; __Host-session=\"abcdef\"; __Host-session=y")
	for name, req := range map[string]*http.Request{"one": one, "tossed": tossed} {
		var n int
		allocs := testing.AllocsPerRun(100, func() { _, n = cookieValues(req, DefaultCookieName) })
		if allocs != 0 || n == 0 {
			t.Errorf("%s: %v allocations, %d values; want 0 allocations", name, allocs, n)
		}
	}
}

func BenchmarkCookieValues(b *testing.B) {
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Cookie", "_ga=GA1.2.3; theme=dark; __Host-session=MTcwMDAwMDAwMHxhYmNkZWZ8c2lnbmF0dXJl; lang=en")
	b.ReportAllocs()
	for b.Loop() {
		if _, n := cookieValues(req, DefaultCookieName); n != 1 {
			b.Fatal(n)
		}
	}
}
