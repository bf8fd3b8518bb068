package bodylimit_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// The 413 that replaces a handler's answer is the stage's own response: it
// keeps what the stages outside had set (security headers, CORS, Vary) and
// none of what the handler or a stage inside set for the answer it meant to
// send (a renewed session cookie, a redirect, a download name, a validator,
// a cache policy).
func TestReplacedResponseDropsHandlerHeaders(t *testing.T) {
	t.Parallel()
	outer := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("X-Frame-Options", "DENY")
			h.Set("Access-Control-Allow-Origin", "https://app.example")
			h.Set("Vary", "Origin")
			next.ServeHTTP(w, r)
		})
	}
	setHandlerHeaders := func(w http.ResponseWriter) {
		h := w.Header()
		h.Add("Set-Cookie", "sid=renewed; Path=/; HttpOnly")
		h.Set("Location", "/notes/7")
		h.Set("Content-Disposition", `attachment; filename="notes.csv"`)
		h.Set("ETag", `"v7"`)
		h.Set("Cache-Control", "public, max-age=3600")
		h.Set("X-Frame-Options", "SAMEORIGIN")
		h.Add("Vary", "Cookie")
	}
	handlers := map[string]http.HandlerFunc{
		"sets headers, reads, answers 201": func(w http.ResponseWriter, r *http.Request) {
			setHandlerHeaders(w)
			_, _ = io.ReadAll(r.Body)
			w.WriteHeader(http.StatusCreated)
		},
		"reads, sets headers, writes a body": func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.ReadAll(r.Body)
			setHandlerHeaders(w)
			_, _ = w.Write([]byte("created"))
		},
		"sets headers, reads, writes nothing": func(w http.ResponseWriter, r *http.Request) {
			setHandlerHeaders(w)
			_, _ = io.ReadAll(r.Body)
		},
	}
	s := newStage(t, 16)
	for name, h := range handlers {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(outer(s.Handler(h)))
			defer srv.Close()
			req, _ := http.NewRequest("POST", srv.URL, io.MultiReader(strings.NewReader(strings.Repeat("z", 100))))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			checkTooLarge(t, resp.StatusCode, resp.Header, body, 16)
			for _, k := range []string{"Set-Cookie", "Location", "Content-Disposition", "Etag"} {
				if v, ok := resp.Header[k]; ok {
					t.Errorf("413 carries the handler's %s: %q", k, v)
				}
			}
			if got := resp.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", got)
			}
			if got := resp.Header.Get("X-Frame-Options"); got != "DENY" {
				t.Errorf("X-Frame-Options %q, want the outer stage's DENY", got)
			}
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "https://app.example" {
				t.Errorf("Access-Control-Allow-Origin %q, want the outer stage's", got)
			}
			if got := resp.Header.Values("Vary"); !slices.Equal(got, []string{"Origin"}) {
				t.Errorf("Vary %q, want the outer stage's [Origin]", got)
			}
		})
	}
}
