package bodylimit_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/covetgo/covet/bodylimit"
)

func Example() {
	limit, err := bodylimit.New(bodylimit.Options{MaxBytes: 16})
	if err != nil {
		panic(err)
	}
	h := limit.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return // the stage answers 413
		}
		fmt.Fprintf(w, "got %d bytes", len(b))
	}))

	for _, body := range []string{"short note", strings.Repeat("x", 100)} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/notes", strings.NewReader(body)))
		fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	}
	// Output:
	// 200 text/plain; charset=utf-8
	// 413 application/problem+json
}
