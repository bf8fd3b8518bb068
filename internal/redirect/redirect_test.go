package redirect

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/covetgo/covet/internal/redirect/redirecttest"
)

var base, _ = url.Parse("https://app.test/login/start")

// staysHome reports whether a browser that receives http.Redirect's
// Location for target (as is, and with a decoding proxy in front) stays
// on app.test.
func staysHome(t *testing.T, target string) {
	t.Helper()
	w := httptest.NewRecorder()
	http.Redirect(w, httptest.NewRequest("GET", base.String(), nil), target, http.StatusFound)
	loc := w.Header().Get("Location")
	if host, web := redirecttest.BrowserHost(base, loc); !web || host != "app.test" {
		t.Fatalf("LocalPath accepted %q; http.Redirect sends %q, which a browser resolves to %q", target, loc, host)
	}
	if d, err := url.PathUnescape(loc); err == nil {
		if host, web := redirecttest.BrowserHost(base, d); !web || host != "app.test" {
			t.Fatalf("LocalPath accepted %q; decoded once it is %q, which a browser resolves to %q", target, d, host)
		}
	}
}

func TestLocalPathCorpus(t *testing.T) {
	t.Parallel()
	targets := append(redirecttest.Corpus(), redirecttest.Generated(true)...)
	accepted := 0
	for _, target := range targets {
		if LocalPath(target) {
			accepted++
			staysHome(t, target)
		}
	}
	t.Logf("%d of %d targets accepted, all same-site", accepted, len(targets))
}

func TestLocalPath(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"/", "/dashboard", "/a/b?c=d#e", "/notes/42?tab=edit", "/caf\u00e9", "/a%20b", "/a/../b", "/./x", "/@me", "/a:b", "/?next=//x"} {
		if !LocalPath(ok) {
			t.Errorf("LocalPath(%q) = false, want true", ok)
		}
	}
	for _, bad := range []string{
		"", "x", "//evil.example", `/\evil.example`, `/./\evil.example`, `/..\evil.example`, `/a/../\evil.example`,
		"/%2f/evil.example", "/%5cevil.example", "/\t/evil.example", "/ x", "/\u3000x", "/\uff0fevil.example",
		"https://app.test/", "/\xff", "/" + strings.Repeat("a", MaxLen),
	} {
		if LocalPath(bad) {
			t.Errorf("LocalPath(%q) = true, want false", bad)
		}
	}
}

func FuzzLocalPath(f *testing.F) {
	for _, s := range redirecttest.Handpicked {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, target string) {
		if LocalPath(target) {
			staysHome(t, target)
		}
	})
}
