// Package paniccase holds a handler that panics from a function literal.
// Handler is small enough to be inlined into its caller, and the compiler
// then names the literal after the caller's function and package; errs's
// tests check that stack frames still name this file.
package paniccase

import "net/http"

// Handler returns a handler that panics.
func Handler() http.HandlerFunc {
	return func(http.ResponseWriter, *http.Request) {
		panic("paniccase: boom")
	}
}
