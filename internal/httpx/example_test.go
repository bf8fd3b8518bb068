package httpx_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/covetgo/covet/internal/httpx"
)

// stamp adds a header at the last moment before the response starts, as
// a session stage sets its cookie.
type stamp struct{}

func (stamp) BeforeStart(w http.ResponseWriter, code int) error {
	w.Header().Set("X-Started-With", fmt.Sprint(code))
	return nil
}

// A stage wraps the writer, hands it to the handler, and reads the
// numbers once the handler has returned.
func Example() {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "hello")
	})
	stage := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tw := httpx.Acquire(w, stamp{})
			defer tw.Release()
			next.ServeHTTP(tw, r)
			fmt.Println("status", tw.Status(), "bytes", tw.Bytes())
		})
	}
	rec := httptest.NewRecorder()
	stage(handler).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	fmt.Println("header", rec.Header().Get("X-Started-With"))
	// Output:
	// status 200 bytes 5
	// header 200
}
