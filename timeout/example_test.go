package timeout_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/covetgo/covet/timeout"
)

func Example() {
	t, err := timeout.New(timeout.Options{Timeout: 50 * time.Millisecond})
	if err != nil {
		panic(err)
	}
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(time.Second): // work that honours the context
			fmt.Fprintln(w, "done")
		case <-r.Context().Done():
		}
	})
	rec := httptest.NewRecorder()
	t.Handler(slow).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/report", nil))
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	// Output: 503 application/problem+json
}
