package sanitize_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/sanitize"
)

func Example() {
	screen, err := sanitize.NewScreen(sanitize.ScreenOptions{MaxQueryParams: 20})
	if err != nil {
		panic(err)
	}
	headers, err := sanitize.NewHeaders(sanitize.HeadersOptions{
		CSP: sanitize.NewCSP().
			Add("default-src", "'self'").
			Add("script-src", "'self'", sanitize.Nonce),
	})
	if err != nil {
		panic(err)
	}
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nonce := sanitize.NonceFrom(r.Context())
		fmt.Fprintf(w, `<script nonce="%s">start()</script>`, nonce)
	})
	h := headers.Handler(screen.Handler(page))

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "https://app.test/files/%2e%2e/etc/passwd", nil))
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"), rec.Header().Get("X-Frame-Options"))

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "https://app.test/", nil))
	fmt.Println(rec.Code, len(rec.Header().Get("Content-Security-Policy")) > 0)
	// Output:
	// 400 application/problem+json DENY
	// 200 true
}

func ExampleRedirects() {
	rd, err := sanitize.NewRedirects(sanitize.RedirectOptions{AllowedHosts: []string{"accounts.example.com"}})
	if err != nil {
		panic(err)
	}
	for _, next := range []string{"/inbox", "//evil.com", "/\\evil.com", "https://accounts.example.com/done", "javascript:alert(1)"} {
		_, err := rd.Check(next)
		fmt.Println(next, err == nil)
	}
	// Output:
	// /inbox true
	// //evil.com false
	// /\evil.com false
	// https://accounts.example.com/done true
	// javascript:alert(1) false
}

func ExampleIdentifiers_OrderBy() {
	sorts, err := sanitize.NewIdentifiers(map[string]string{"created": "created_at", "title": "title"})
	if err != nil {
		panic(err)
	}
	ob, err := sorts.OrderBy("-created,title") // from ?sort=-created,title
	fmt.Println(len(ob.Columns), ob.Columns[0].Column.Name, ob.Columns[0].Desc, err)
	_, err = sorts.OrderBy("created_at; DROP TABLE notes")
	fmt.Println(errs.From(err).Code(), errs.From(err).Status())
	// db.Clauses(dbkit.OrderBy(ob)).Find(&notes) with github.com/covetgo/covet/dbkit
	// Output:
	// 2 created_at true <nil>
	// bad_sort 400
}

// Comments from strangers: formatting and links stay, ids and images from
// unknown hosts go.
func ExampleNewHTML_userContent() {
	h, err := sanitize.NewHTML(sanitize.HTMLOptions{
		Preset:       sanitize.PresetUserContent,
		ImageOrigins: []string{"https://img.example.com"},
	})
	if err != nil {
		panic(err)
	}
	out, _ := h.Sanitize(`<p id="config"><b>Hi</b> <a href="https://example.org/">see</a>` +
		`<img src="https://tracker.test/p.gif"><img src="https://img.example.com/cat.png" alt="cat"></p>`)
	fmt.Println(out)
	// Output:
	// <p><b>Hi</b> <a href="https://example.org/" rel="nofollow noreferrer">see</a><img src="https://img.example.com/cat.png" alt="cat"></p>
}
