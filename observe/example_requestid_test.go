package observe_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/covetgo/covet/observe"
)

func ExampleRequestID() {
	h := observe.RequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("handling", observe.RequestIDFrom(r.Context()))
	}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("X-Request-ID", "edge-7f3a")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println("response header", rec.Header().Get("X-Request-ID"))
	// Output:
	// handling edge-7f3a
	// response header edge-7f3a
}
