package errs

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The 500 that replaces the answer of a handler that panicked is not that
// answer: it carries none of the headers the handler set for it (a cookie
// of a login that did not finish, a redirect, hints, a download name), and
// keeps what the stages outside set.
func TestRecoverDropsHandlerHeaders(t *testing.T) {
	t.Parallel()
	rd := renderer(t, Options{Mode: Production, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	h := rd.Recover(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: "logged-in"})
		h.Set("Location", "/account")
		h.Set("Content-Location", "/account/7")
		h.Set("Refresh", "0; url=/account")
		h.Set("Link", "</app.css>; rel=preload; as=style")
		h.Set("Content-Disposition", `attachment; filename="a.csv"`)
		panic("boom")
	}))
	outer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Vary", "Origin")
		h.ServeHTTP(w, r)
	})
	srv := httptest.NewServer(outer)
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for _, k := range []string{"Set-Cookie", "Location", "Content-Location", "Refresh", "Link", "Content-Disposition"} {
		if v, ok := resp.Header[k]; ok {
			t.Errorf("500 carries the handler's %s: %q", k, v)
		}
	}
	if resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("Vary") != "Origin" {
		t.Errorf("500 lost the outer stage's headers: %v", resp.Header)
	}
}
