package observe_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"

	"github.com/covetgo/covet/observe"
)

// The default stage gives every request a fresh ID: a client cannot choose
// the ID its requests are logged under.
func ExampleRequestID() {
	h := observe.RequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("fresh:", observe.RequestIDFrom(r.Context()) != "client-chosen")
	}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("X-Request-ID", "client-chosen")
	h.ServeHTTP(httptest.NewRecorder(), req)
	// Output:
	// fresh: true
}

// Behind a gateway that sets X-Request-ID, trust the gateway's address. To
// share the trust of a clientip.Resolver instead, pass
// TrustIncoming: func(r *http.Request) bool {
// return resolver.Trusted(clientip.ParseRemoteAddr(r.RemoteAddr)) }.
func ExampleNewRequestID_trustedProxies() {
	ids, err := observe.NewRequestID(observe.RequestIDOptions{
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
	})
	if err != nil {
		panic(err)
	}
	h := ids.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("handling", observe.RequestIDFrom(r.Context()))
	}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.RemoteAddr = "10.0.0.7:52000" // the gateway
	req.Header.Set("X-Request-ID", "edge-7f3a")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	fmt.Println("response header", rec.Header().Get("X-Request-ID"))
	// Output:
	// handling edge-7f3a
	// response header edge-7f3a
}
