package session_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/covetgo/covet/session"
)

// A login renews the session (a new ID, so a planted or stolen pre-login
// ID is worthless) and binds it to the user; a logout destroys it.
func Example() {
	m, err := session.New(session.Options{
		// In production: 32+ random bytes from configuration, the same on
		// every instance. Store defaults to memory; use NewRedisStore or
		// NewSQLStore when there is more than one instance.
		HashKeys: [][]byte{bytes.Repeat([]byte("k"), 32)},
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		// ... check the password first ...
		if err := session.Renew(r); err != nil {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		s := session.From(r)
		s.SetUserID("alice")
		s.AddFlash("info", "Welcome back")
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		for _, f := range s.Flashes() {
			fmt.Fprintf(w, "[%s] %s; ", f.Kind, f.Message)
		}
		fmt.Fprintf(w, "user=%q", s.UserID())
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		_ = session.Destroy(r)
		w.WriteHeader(http.StatusNoContent)
	})
	h := m.Handler(mux)

	// A browser: the same-origin header passes CSRF protection, the cookie
	// jar is a string.
	var cookie string
	do := func(method, path string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, "https://example.com"+path, nil)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		for _, c := range rec.Result().Cookies() {
			cookie = c.Name + "=" + c.Value
			if c.MaxAge < 0 {
				cookie = ""
			}
		}
		return rec
	}

	rec := do("POST", "/login")
	fmt.Println("login:", rec.Code, strings.HasPrefix(rec.Header().Get("Set-Cookie"), "__Host-session="))
	fmt.Println(do("GET", "/me").Body.String())
	fmt.Println(do("GET", "/me").Body.String())
	do("POST", "/logout")
	fmt.Println("after logout:", do("GET", "/me").Body.String())

	// A cross-site form post is refused: with the session cookie before any
	// handler runs; without it (as here) once it tries to start a session,
	// so another site cannot log the browser in to an account it chose.
	req := httptest.NewRequest("POST", "https://example.com/login", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println("cross-site:", rec.Code, rec.Header().Get("Content-Type"))
	// Output:
	// login: 204 true
	// [info] Welcome back; user="alice"
	// user="alice"
	// after logout: user=""
	// cross-site: 403 application/problem+json
}

// Typed values: Get decodes into the type asked for, no type assertions.
func ExampleGet() {
	type cart struct {
		Items []string `json:"items"`
	}
	m, _ := session.New(session.Options{HashKeys: [][]byte{bytes.Repeat([]byte("k"), 32)}})
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		c, _ := session.Get[cart](s, "cart")
		c.Items = append(c.Items, "book")
		s.Set("cart", c)
		visits, _ := session.Get[int](s, "visits")
		s.Set("visits", visits+1)
		fmt.Println(len(c.Items), visits+1)
	}))
	var cookie string
	for range 2 {
		req := httptest.NewRequest("GET", "/", nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if c := rec.Result().Cookies(); len(c) > 0 {
			cookie = c[0].Name + "=" + c[0].Value
		}
	}
	// Output:
	// 1 1
	// 2 2
}
