package authz

import (
	"strings"
	"testing"
)

func FuzzParsePolicy(f *testing.F) {
	f.Add(`{"roles":{"reader":{"permissions":["notes:read"]},"editor":{"inherits":["reader"],"permissions":["notes:*"]}}}`)
	f.Add(`{"roles":{"a":{"inherits":["a"]}}}`)
	f.Add(`{"roles":{"a":{"permissions":["*"]}}}`)
	f.Add(`{"roles":null}`)
	f.Fuzz(func(t *testing.T, doc string) {
		p, err := ParsePolicy(strings.NewReader(doc))
		if err != nil {
			return
		}
		r, err := NewRBAC(p)
		if err != nil {
			return
		}
		// Every role's flattened permissions are valid grants and allowed.
		for _, role := range r.Roles() {
			for _, perm := range r.Permissions(role) {
				if _, _, err := splitPermission(perm, true); err != nil {
					t.Fatalf("flattened permission %q invalid", perm)
				}
				if !r.Allowed([]string{role}, perm) {
					t.Fatalf("role %q does not hold its own permission %q", role, perm)
				}
			}
		}
	})
}

func FuzzAllowed(f *testing.F) {
	r := MustRBAC(testPolicy())
	f.Add("reader", "notes:read")
	f.Add("admin", "notes:*")
	f.Add("root", "*")
	f.Add("x", ":")
	f.Fuzz(func(t *testing.T, role, perm string) {
		got := r.Allowed([]string{role}, perm)
		if c, err := r.Compile(perm); err == nil && c.Allows([]string{role}) != got {
			t.Fatalf("compiled and general checks disagree on %q %q", role, perm)
		}
	})
}
