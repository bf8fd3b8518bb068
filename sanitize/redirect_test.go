package sanitize

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/covetgo/covet/internal/redirect/redirecttest"
)

func TestRedirects(t *testing.T) {
	t.Parallel()
	rd, err := NewRedirects(RedirectOptions{AllowedHosts: []string{"accounts.example.com", "app.example.com:8443"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		target string
		ok     bool
	}{
		{"/inbox", true},
		{"/inbox?tab=2#top", true},
		{"/", true},
		{"/a/b%20c", true},
		{"https://accounts.example.com/login", true},
		{"https://ACCOUNTS.example.com/", true},
		{"https://app.example.com:8443/x", true},

		{"", false},
		{"inbox", false},
		{"//evil.com", false},
		{"///evil.com", false},
		{`/\evil.com`, false},
		{`\\evil.com`, false},
		{`/\/evil.com`, false},
		{"/%2f/evil.com", false},
		{"/%2F%2Fevil.com", false},
		{"/%5cevil.com", false},
		{"/\t/evil.com", false},
		{"/\n/evil.com", false},
		{" /inbox", false},
		{"/inbox ", false},
		{"https:evil.com", false},
		{"https:/evil.com", false},
		{"http://accounts.example.com/", false},
		{"HTTPS://accounts.example.com/", false},
		{"javascript:alert(1)", false},
		{"JaVaScRiPt:alert(1)", false},
		{"java\tscript:alert(1)", false},
		{"data:text/html,<script>alert(1)</script>", false},
		{"vbscript:msgbox", false},
		{"https://evil.com", false},
		{"https://accounts.example.com.evil.com/", false},
		{"https://evil.com/https://accounts.example.com", false},
		{"https://accounts.example.com@evil.com/", false},
		{"https://user:pass@accounts.example.com/", false},
		{"https://evil.com\\@accounts.example.com/", false},
		{"https://evil.com#@accounts.example.com", false},
		{"https://app.example.com/x", false},
		{"/x\x00", false},
		{"/\u00a0/evil.com", false},
		{"/\u3000/evil.com", false},
		{"/\xff", false},
		{"/" + strings.Repeat("a", 3000), false},
	} {
		got, err := rd.Check(tc.target)
		if tc.ok != (err == nil) {
			t.Errorf("Check(%q) = %q, %v; want ok=%v", tc.target, got, err, tc.ok)
		}
	}
	if _, err := NewRedirects(RedirectOptions{AllowedHosts: []string{"*.example.com"}}); err == nil {
		t.Error("wildcard host accepted")
	}
	if _, err := NewRedirects(RedirectOptions{AllowedHosts: []string{"example.com/path"}}); err == nil {
		t.Error("host with path accepted")
	}
	local, _ := NewRedirects(RedirectOptions{AllowHTTP: true, AllowedHosts: []string{"a.test"}})
	if _, err := local.Check("http://a.test/"); err != nil {
		t.Errorf("AllowHTTP: %v", err)
	}

	rec := httptest.NewRecorder()
	rd.Redirect(rec, httptest.NewRequest("GET", "/login", nil), "//evil.com", "/", 303)
	if rec.Code != 303 || rec.Header().Get("Location") != "/" {
		t.Errorf("Redirect to unsafe target: %d %q", rec.Code, rec.Header().Get("Location"))
	}
}

// browserHost approximates how a browser resolves a Location value against
// https://app.test/: it strips tabs and newlines and reads backslashes as
// slashes, as the WHATWG URL parser does for special schemes.
func browserHost(target string) (string, bool) {
	t := strings.NewReplacer("\t", "", "\n", "", "\r", "", `\`, "/").Replace(strings.TrimSpace(target))
	base, _ := url.Parse("https://app.test/")
	u, err := base.Parse(t)
	if err != nil {
		return "", false
	}
	return strings.ToLower(u.Host), u.Scheme == "https" || u.Scheme == "http"
}

func FuzzRedirect(f *testing.F) {
	for _, s := range []string{"/a", "//evil.com", `/\evil.com`, "https:evil.com", "https://good.test/x", "https://good.test@evil.com", "/%2f%2fevil", "javascript:x"} {
		f.Add(s)
	}
	rd, _ := NewRedirects(RedirectOptions{AllowedHosts: []string{"good.test"}})
	f.Fuzz(func(t *testing.T, target string) {
		if _, err := rd.Check(target); err != nil {
			return
		}
		host, web := browserHost(target)
		if !web || (host != "app.test" && host != "good.test") {
			t.Fatalf("accepted %q, which a browser sends to %q (web scheme %v)", target, host, web)
		}
		if d, err := url.PathUnescape(target); err == nil && strings.HasPrefix(target, "/") {
			if h, _ := browserHost(d); h != "app.test" {
				t.Fatalf("accepted %q, which decodes to %q, a redirect to %q", target, d, h)
			}
		}
	})
}

// TestRedirectsCorpus holds Check against the project's corpus of
// open-redirect shapes: whatever it accepts, once written by
// http.Redirect, keeps a browser on the site or an allowed host.
func TestRedirectsCorpus(t *testing.T) {
	t.Parallel()
	rd, _ := NewRedirects(RedirectOptions{AllowedHosts: []string{"good.test"}})
	base, _ := url.Parse("https://app.test/login/start")
	for _, target := range append(redirecttest.Corpus(), redirecttest.Generated(true)...) {
		if _, err := rd.Check(target); err != nil {
			continue
		}
		w := httptest.NewRecorder()
		rd.Redirect(w, httptest.NewRequest("GET", base.String(), nil), target, "/", 302)
		loc := w.Header().Get("Location")
		if host, web := redirecttest.BrowserHost(base, loc); !web || (host != "app.test" && host != "good.test") {
			t.Errorf("Check accepted %q; the browser follows Location %q to %q", target, loc, host)
		}
	}
}
