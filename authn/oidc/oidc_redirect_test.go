package oidc

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/covetgo/covet/authn"
	"github.com/covetgo/covet/internal/redirect/redirecttest"
)

// loginReturn runs a whole login through the test provider with returnTo
// and returns the path Callback hands back.
func loginReturn(t *testing.T, p *testProvider, o *Client, returnTo string) string {
	t.Helper()
	authURL, cookie := startLogin(t, o, returnTo)
	code, state := p.authorize(t, authURL, "alice")
	_, ret, err := callback(o, "code="+code+"&state="+state, cookie)
	if err != nil {
		t.Fatalf("login with return path %q: %v (%s)", returnTo, err, authn.Reason(err))
	}
	return ret
}

// TestOIDCReturnToCorpus sends every corpus target through a real login
// round trip; whatever Callback returns, once written by http.Redirect,
// must keep a browser on the application's origin.
func TestOIDCReturnToCorpus(t *testing.T) {
	t.Parallel()
	p := newTestProvider(t)
	o := newTestOIDC(t, p)
	base, _ := url.Parse("https://app.test/callback")
	kept := 0
	for _, target := range redirecttest.Corpus() {
		ret := loginReturn(t, p, o, target)
		if ret == "" {
			continue
		}
		kept++
		if ret != target {
			t.Errorf("return path %q came back as %q", target, ret)
		}
		w := httptest.NewRecorder()
		http.Redirect(w, httptest.NewRequest("GET", base.String(), nil), ret, http.StatusFound)
		loc := w.Header().Get("Location")
		if host, web := redirecttest.BrowserHost(base, loc); !web || host != "app.test" {
			t.Errorf("return path %q kept; http.Redirect writes Location %q, which a browser follows to %q", target, loc, host)
		}
	}
	if kept == 0 {
		t.Fatal("no return path kept at all")
	}
	for _, good := range []string{"/dashboard", "/a/b?c=d#e", "/caf\u00e9"} {
		if ret := loginReturn(t, p, o, good); ret != good {
			t.Errorf("return path %q came back as %q", good, ret)
		}
	}
}
