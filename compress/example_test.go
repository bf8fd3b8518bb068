package compress_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/covetgo/covet/compress"
)

func Example() {
	gz, err := compress.New(compress.Options{})
	if err != nil {
		panic(err)
	}
	page := strings.Repeat("<p>hello</p>", 500)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /docs", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, page)
	})
	mux.HandleFunc("GET /account", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Cache-Control", "no-store") // holds a CSRF token
		fmt.Fprint(w, page)
	})
	h := gz.Handler(mux)
	for _, path := range []string{"/docs", "/account"} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		fmt.Printf("%s %q\n", path, rec.Header().Get("Content-Encoding"))
	}
	// Output:
	// /docs "gzip"
	// /account ""
}
