package ratelimit_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/covetgo/covet/ratelimit"
	"github.com/go-chi/chi/v5"
)

// Two policies on a chi route group: a burst of 2 per second and 1,000 per
// hour, both counted per client IP. The third request in the same second
// is refused with 429 and takes nothing from the hourly quota.
func Example() {
	limit, err := ratelimit.New(ratelimit.Options{
		Policies: []ratelimit.Policy{
			ratelimit.PerSecond("burst", 2),
			ratelimit.PerHour("hour", 1000),
		},
	})
	if err != nil {
		panic(err)
	}
	defer limit.Close()

	r := chi.NewRouter()
	r.Group(func(r chi.Router) {
		r.Use(limit.Handler)
		r.Get("/api/notes", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintln(w, "notes")
		})
	})
	r.Get("/healthz", func(w http.ResponseWriter, r *http.Request) {}) // not limited

	for range 3 {
		req := httptest.NewRequest(http.MethodGet, "/api/notes", nil)
		req.RemoteAddr = "192.0.2.10:51234"
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		fmt.Println(w.Code, w.Header().Get("RateLimit"), "retry:"+w.Header().Get("Retry-After"))
	}
	fmt.Println(limit.Policies()[1].Limit, "per", limit.Policies()[1].Period)
	// Output:
	// 200 "burst";r=1;t=1, "hour";r=999;t=4 retry:
	// 200 "burst";r=0;t=1, "hour";r=998;t=8 retry:
	// 429 "burst";r=0;t=1, "hour";r=998;t=8 retry:1
	// 1000 per 1h0m0s
}

// Allow is the decision API without HTTP, for example for WebSocket
// messages: take 3 units for a key from every policy at once.
func ExampleLimiter_Allow() {
	limit, err := ratelimit.New(ratelimit.Options{
		Policies: []ratelimit.Policy{{Name: "msgs", Algorithm: ratelimit.FixedWindow, Limit: 10, Period: time.Minute}},
	})
	if err != nil {
		panic(err)
	}
	defer limit.Close()
	res, _ := limit.Allow(context.Background(), "user:42", 3)
	fmt.Println(res.Allowed, res.Remaining, res.Limit)
	res, _ = limit.Allow(context.Background(), "user:42", 8)
	fmt.Println(res.Allowed, res.Remaining, res.RetryAfter > 0)
	// Output:
	// true 7 10
	// false 7 true
}
