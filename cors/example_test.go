package cors_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/covetgo/covet/cors"
)

func Example() {
	policy, err := cors.New(cors.Options{
		AllowedOrigins:   []string{"https://app.example.com", "https://*.example.com"},
		AllowedMethods:   []string{http.MethodGet, http.MethodPut},
		AllowedHeaders:   []string{"Content-Type", "Authorization"},
		AllowCredentials: true,
		MaxAge:           2 * time.Hour, // Chromium's cap
	})
	if err != nil {
		panic(err)
	}
	api := http.NewServeMux()
	api.HandleFunc("PUT /api/notes/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "saved")
	})
	// Outside method routing, so the preflight is answered before the mux
	// would refuse OPTIONS with 405.
	h := policy.Handler(api)

	pre := httptest.NewRequest(http.MethodOptions, "/api/notes/7", nil)
	pre.Header.Set("Origin", "https://app.example.com")
	pre.Header.Set("Access-Control-Request-Method", "PUT")
	pre.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, pre)
	fmt.Println(rec.Code, rec.Header().Get("Access-Control-Allow-Origin"), rec.Header().Get("Access-Control-Allow-Methods"))

	put := httptest.NewRequest(http.MethodPut, "/api/notes/7", nil)
	put.Header.Set("Origin", "https://evil.example.net")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, put)
	fmt.Printf("%d %q %s", rec.Code, rec.Header().Get("Access-Control-Allow-Origin"), rec.Body)
	// Output:
	// 204 https://app.example.com PUT
	// 200 "" saved
}

// An origin function extends the static list, for origins that are only
// known at run time, such as one subdomain per tenant on a domain the
// tenants do not control. What it allows is the caller's responsibility;
// it only ever sees single, well-formed, lowercase origins.
func ExampleOptions_allowOriginFunc() {
	tenants := map[string]bool{"https://acme.shop.example": true}
	policy := cors.Must(cors.Options{
		AllowedOrigins: []string{"https://app.example.com"},
		AllowOriginFunc: func(r *http.Request, origin string) bool {
			return tenants[origin] // a lookup, never a reflection
		},
		AllowCredentials:      true,
		DisablePreflightCache: true, // tenants come and go
	})
	h := policy.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for _, origin := range []string{"https://acme.shop.example", "https://ACME.shop.example", "https://evil.example"} {
		pre := httptest.NewRequest(http.MethodOptions, "/cart", nil)
		pre.Header.Set("Origin", origin)
		pre.Header.Set("Access-Control-Request-Method", "POST")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, pre)
		fmt.Printf("%s: %q max-age %q\n", origin, rec.Header().Get("Access-Control-Allow-Origin"), rec.Header().Get("Access-Control-Max-Age"))
	}
	// Output:
	// https://acme.shop.example: "https://acme.shop.example" max-age "0"
	// https://ACME.shop.example: "" max-age ""
	// https://evil.example: "" max-age ""
}
