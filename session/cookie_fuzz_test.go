package session

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzCookieValues checks the allocation-free scan for every cookie of the
// session's name against net/http's parser: within its bound, it finds
// every value net/http finds, in order (it is more lenient about the bytes
// of a value, which the signature check judges anyway).
func FuzzCookieValues(f *testing.F) {
	const name = "session"
	f.Add("session=garbage; session=valid")
	f.Add("a=1; session=\"q\"; session=; session=x")
	f.Add(";;session=;session=" + strings.Repeat("v", maxCookieValue+1) + ";session=ok")
	f.Add("session=a; session=b; session=c; session=d; session=e")
	f.Add("session=a\x00session=b")
	f.Fuzz(func(t *testing.T, header string) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header["Cookie"] = strings.Split(header, "\x00")
		vals, n := cookieValues(req, name)
		if n < 0 || n > maxSessionCookies {
			t.Fatalf("n = %d", n)
		}
		for _, v := range vals[:n] {
			if v == "" || len(v) > maxCookieValue || !strings.Contains(header, v) {
				t.Fatalf("cookieValues(%q) = %q", header, vals[:n])
			}
		}
		for _, v := range vals[n:] {
			if v != "" {
				t.Fatalf("cookieValues(%q) = %q, %d: value past n", header, vals, n)
			}
		}
		if first, ok := cookieValue(req, name); ok != (n > 0) || first != vals[0] {
			t.Fatalf("cookieValue(%q) = %q, %v; cookieValues: %q", header, first, ok, vals[:n])
		}
		if !plainCookieHeader(header) {
			return
		}
		var want []string
		for _, c := range req.CookiesNamed(name) {
			if c.Value != "" && len(c.Value) <= maxCookieValue {
				want = append(want, c.Value)
			}
		}
		if n == maxSessionCookies {
			return
		}
		got := vals[:n]
		for _, w := range want {
			for len(got) > 0 && got[0] != w {
				got = got[1:]
			}
			if len(got) == 0 {
				t.Fatalf("cookieValues(%q) = %q; net/http finds %q", header, vals[:n], want)
			}
			got = got[1:]
		}
	})
}

// plainCookieHeader reports whether h is printable ASCII with no space
// next to '=', where net/http's and the stage's trimming agree.
func plainCookieHeader(h string) bool {
	for i := 0; i < len(h); i++ {
		if c := h[i]; c != 0 && (c < ' ' || c >= 0x7f) {
			return false
		}
	}
	return !strings.Contains(h, " =") && !strings.Contains(h, "= ")
}
