package principal_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/covetgo/covet/authn/principal"
)

// A handler reads the caller the authn stage stored; here a tiny stage
// stands in for authn.
func Example() {
	stage := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p := &principal.Principal{Subject: "alice", Method: principal.MethodJWT, Roles: []string{"editor"}}
			next.ServeHTTP(w, r.WithContext(principal.With(r.Context(), p)))
		})
	}
	h := stage(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := principal.From(r.Context())
		if !ok {
			http.Error(w, "anonymous", http.StatusUnauthorized)
			return
		}
		fmt.Fprintln(w, p.Subject, p.Method, p.HasRole("editor"))
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/me", nil))
	fmt.Print(rec.Body.String())
	// Output: alice jwt true
}
