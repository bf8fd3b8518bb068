package authz

import (
	"net/http/httptest"
	"testing"

	"github.com/covetgo/covet/authn/principal"
)

func BenchmarkAllowed(b *testing.B) {
	r := MustRBAC(testPolicy())
	roles := []string{"editor"}
	b.ReportAllocs()
	for b.Loop() {
		if !r.Allowed(roles, "notes:read") {
			b.Fatal("denied")
		}
	}
}

func BenchmarkCompiledAllows(b *testing.B) {
	r := MustRBAC(testPolicy())
	p, _ := r.Compile("notes:read")
	roles := []string{"editor"}
	b.ReportAllocs()
	for b.Loop() {
		if !p.Allows(roles) {
			b.Fatal("denied")
		}
	}
}

func BenchmarkRequire(b *testing.B) {
	a, _ := New(Options{Decider: MustRBAC(testPolicy())})
	h := withPrincipal(&principal.Principal{Subject: "a", Roles: []string{"editor"}}, a.Require("notes:read")(ok))
	r := httptest.NewRequest("GET", "/", nil)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		w.Body.Reset()
		h.ServeHTTP(w, r)
	}
}
