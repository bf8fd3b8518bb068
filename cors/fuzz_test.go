package cors

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	rscors "github.com/rs/cors"

	"github.com/covetgo/covet/internal/httpx"
)

var fuzzAllowed = []string{"accept", "authorization", "content-type", "x-request-id"}

// referenceAccepts is the obvious, allocating implementation of
// acceptsRequestHeaders, used as the oracle.
func referenceAccepts(lines []string) bool {
	if len(lines) > maxACRHLines || len(strings.Join(lines, "")) > maxACRHBytes {
		return false
	}
	n := 0
	for _, l := range lines {
		for _, item := range strings.Split(l, ",") {
			item = strings.Trim(item, " \t")
			if item == "" {
				continue
			}
			if n++; n > maxACRHNames || !httpx.IsToken(item) {
				return false
			}
			found := false
			for _, a := range fuzzAllowed {
				if strings.EqualFold(a, item) {
					found = true
				}
			}
			if !found {
				return false
			}
		}
	}
	return true
}

// FuzzRequestHeaders checks the Access-Control-Request-Headers parser
// against a plain reference, and that it accepts everything rs/cors
// accepts (it is meant to be more lenient, never stricter).
func FuzzRequestHeaders(f *testing.F) {
	for _, s := range []string{
		"content-type", "accept,content-type", " Content-Type ,\tX-Request-ID ", ",,", "",
		"content-type;x", "x-evil", "content-type,content-type", "a b", "conten\x00t-type",
		strings.Repeat("accept,", 400),
	} {
		f.Add(s, "")
		f.Add(s, "authorization")
	}
	var s, big headerSet // big holds the same names beyond maxFewHeaders
	for _, a := range fuzzAllowed {
		s.add(a)
		big.add(a)
	}
	for i := range maxFewHeaders {
		big.add(fmt.Sprintf("x-filler-%d", i))
	}
	rs := rscors.New(rscors.Options{AllowedOrigins: []string{"https://a.test"}, AllowedMethods: []string{"PUT"}, AllowedHeaders: fuzzAllowed})
	rsHandler := rs.Handler(http.NotFoundHandler())
	f.Fuzz(func(t *testing.T, line1, line2 string) {
		lines := []string{line1}
		if line2 != "" {
			lines = append(lines, line2)
		}
		got := s.acceptsRequestHeaders(lines)
		if want := referenceAccepts(lines); got != want {
			t.Fatalf("accepts(%q) = %v, reference says %v", lines, got, want)
		}
		if !strings.Contains(strings.ToLower(line1+line2), "x-filler") && big.acceptsRequestHeaders(lines) != got {
			t.Fatalf("accepts(%q) differs between a small and a large set", lines)
		}
		if len(strings.Join(lines, "")) > maxACRHBytes || strings.ContainsAny(line1+line2, "\r\n\x00") {
			return
		}
		r := httptest.NewRequest("OPTIONS", "/", nil)
		r.Header.Set("Origin", "https://a.test")
		r.Header.Set("Access-Control-Request-Method", "PUT")
		r.Header["Access-Control-Request-Headers"] = lines
		rec := httptest.NewRecorder()
		rsHandler.ServeHTTP(rec, r)
		if rec.Header().Get("Access-Control-Allow-Origin") != "" && !got {
			t.Fatalf("rs/cors accepts %q, this parser refuses it", lines)
		}
	})
}

// FuzzOrigin checks that only well-formed origins of the configured shapes
// match, whatever the Origin header holds.
func FuzzOrigin(f *testing.F) {
	for _, s := range []string{
		"https://app.example.com", "https://a.example.org", "https://example.org", "https://evilexample.org",
		"http://localhost:3000", "http://localhost", "http://localhost:", "https://api.example.net:8443",
		"null", "https://a.example.org.evil.com", "https://[::1]:80", "https://a..example.org", "://", "https://",
	} {
		f.Add(s)
	}
	m := newMatcher(mustPatterns(f, "https://app.example.com", "https://*.example.org", "http://localhost:*", "https://api.example.net:8443"))
	f.Fuzz(func(t *testing.T, origin string) {
		if !m.allowed(origin) {
			return
		}
		u, err := url.Parse(origin)
		if err != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil || u.Opaque != "" {
			t.Fatalf("matched %q, which is not a bare origin (%v)", origin, err)
		}
		if origin != strings.ToLower(origin) {
			t.Fatalf("matched %q, which is not lowercase", origin)
		}
		if !fuzzPatternAllows(origin, u) {
			t.Fatalf("matched %q, which no pattern allows", origin)
		}
	})
}

// fuzzPatternAllows is FuzzOrigin's patterns, written with net/url.
func fuzzPatternAllows(origin string, u *url.URL) bool {
	host := u.Hostname()
	switch {
	case origin == "https://app.example.com", origin == "https://api.example.net:8443":
		return true
	case u.Scheme == "https" && u.Port() == "" && strings.HasSuffix(host, ".example.org") && len(host) > len(".example.org"):
		return true
	default:
		return u.Scheme == "http" && host == "localhost"
	}
}

func mustPatterns(tb testing.TB, raw ...string) []pattern {
	ps := make([]pattern, len(raw))
	for i, s := range raw {
		p, err := parsePattern(s)
		if err != nil {
			tb.Fatal(err)
		}
		ps[i] = p
	}
	return ps
}

// canonicalACRH is the form of Access-Control-Request-Headers that rs/cors
// accepts: lowercase, sorted, unique, comma-separated, no whitespace.
func canonicalACRH(v string) string {
	var names []string
	for item := range strings.SplitSeq(v, ",") {
		if item = strings.ToLower(strings.Trim(item, " \t")); item != "" {
			names = append(names, item)
		}
	}
	slices.Sort(names)
	return strings.Join(slices.Compact(names), ",")
}

// FuzzAgainstRSCors runs the stage and plain rs/cors, configured alike
// with exact origins, on the same request. Where the two differ, the
// difference must be one this package makes on purpose: it accepts request
// headers rs/cors refuses for their order, case or padding, and it refuses
// origins that are not lowercase, which rs/cors lowercases.
func FuzzAgainstRSCors(f *testing.F) {
	for _, s := range [][4]string{
		{"https://app.example.com", "", "", ""},
		{"https://app.example.com", "PUT", "content-type,x-token", "OPTIONS"},
		{"https://app.example.com", "PUT", "X-Token, Content-Type", "OPTIONS"},
		{"https://APP.example.com", "DELETE", "", "OPTIONS"},
		{"https://other.example.com", "PUT", "", "OPTIONS"},
		{"https://api.example.net:8443", "GET", "content-type", "OPTIONS"},
		{"https://app.example.com", "PATCH", "", "OPTIONS"},
		{"https://app.example.com", "", "", "DELETE"},
		{"", "PUT", "", "OPTIONS"},
		{"null", "PUT", "", "OPTIONS"},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	origins := []string{"https://app.example.com", "https://api.example.net:8443"}
	methods := []string{"PUT", "DELETE"}
	headers := []string{"Content-Type", "X-Token"}
	var called bool
	next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true })
	covet := Must(Options{AllowedOrigins: origins, AllowedMethods: methods, AllowedHeaders: headers, AllowCredentials: true, MaxAge: 10 * time.Minute}).Handler(next)
	plain := rscors.New(rscors.Options{AllowedOrigins: origins, AllowedMethods: append([]string{"GET", "HEAD", "POST"}, methods...), AllowedHeaders: headers, AllowCredentials: true, MaxAge: 600}).Handler(next)
	run := func(h http.Handler, origin, acrm, acrh, method string) (*httptest.ResponseRecorder, bool) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Method = method
		if origin != "" {
			r.Header["Origin"] = []string{origin}
		}
		if acrm != "" {
			r.Header["Access-Control-Request-Method"] = []string{acrm}
		}
		if acrh != "" {
			r.Header["Access-Control-Request-Headers"] = []string{acrh}
		}
		called = false
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec, called
	}
	f.Fuzz(func(t *testing.T, origin, acrm, acrh, method string) {
		if method == "" {
			method = "GET"
		}
		c, cNext := run(covet, origin, acrm, acrh, method)
		p, pNext := run(plain, origin, acrm, acrh, method)
		cAllowed := c.Header().Get("Access-Control-Allow-Origin") != ""
		pAllowed := p.Header().Get("Access-Control-Allow-Origin") != ""
		preflight := method == "OPTIONS" && acrm != "" && origin != ""
		switch {
		case cAllowed && !pAllowed:
			if !preflight || acrh == canonicalACRH(acrh) {
				t.Fatalf("allowed here, refused by rs/cors (origin %q, method %q, ACRM %q, ACRH %q)", origin, method, acrm, acrh)
			}
			return
		case pAllowed && !cAllowed:
			if origin == strings.ToLower(origin) && len(acrh) <= maxACRHBytes {
				t.Fatalf("refused here, allowed by rs/cors (origin %q, method %q, ACRM %q, ACRH %q)", origin, method, acrm, acrh)
			}
			return
		case !cAllowed:
			return
		}
		if cNext != pNext || (!preflight && !cNext) {
			t.Fatalf("next called: here %v, rs/cors %v", cNext, pNext)
		}
		for _, k := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Allow-Methods", "Access-Control-Max-Age", "Access-Control-Expose-Headers", "Vary"} {
			if a, b := strings.Join(c.Header()[k], "|"), strings.Join(p.Header()[k], "|"); a != b {
				t.Fatalf("%s: here %q, rs/cors %q (origin %q, method %q, ACRM %q, ACRH %q)", k, a, b, origin, method, acrm, acrh)
			}
		}
		if preflight && c.Code != p.Code {
			t.Fatalf("preflight status: here %d, rs/cors %d", c.Code, p.Code)
		}
	})
}
