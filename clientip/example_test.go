package clientip_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/covetgo/covet/clientip"
)

// A service behind a load balancer in 10.0.0.0/8 that appends to
// X-Forwarded-For. Headers from anyone else are ignored.
func Example() {
	proxies, err := clientip.ParsePrefixes("10.0.0.0/8")
	if err != nil {
		panic(err)
	}
	resolver, err := clientip.New(clientip.Options{TrustedProxies: proxies})
	if err != nil {
		panic(err)
	}
	h := resolver.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("client:", clientip.FromRequest(r))
	}))

	viaProxy := httptest.NewRequest(http.MethodGet, "/", nil)
	viaProxy.RemoteAddr = "10.0.0.7:41000"
	viaProxy.Header.Set("X-Forwarded-For", "6.6.6.6, 198.51.100.7")
	h.ServeHTTP(httptest.NewRecorder(), viaProxy)

	spoofer := httptest.NewRequest(http.MethodGet, "/", nil)
	spoofer.RemoteAddr = "203.0.113.5:50000"
	spoofer.Header.Set("X-Forwarded-For", "1.1.1.1")
	h.ServeHTTP(httptest.NewRecorder(), spoofer)
	// Output:
	// client: 198.51.100.7
	// client: 203.0.113.5
}
