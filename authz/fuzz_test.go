package authz

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/covetgo/covet/errs"
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

// FuzzParsePolicyYAML: any document either fails with a configuration
// error or yields a policy that JSON round-trips to the same roles.
func FuzzParsePolicyYAML(f *testing.F) {
	f.Add("roles:\n  reader: {permissions: [\"notes:read\"]}\n  editor: {inherits: [reader], permissions: [\"notes:*\"]}\n")
	f.Add("roles: {a: {inherits: [a]}}\n")
	f.Add("roles:\n  a: &x {permissions: [\"*\"]}\n  b: *x\n")
	f.Add("roles: ~\n")
	f.Add("--- \nroles: {}\n...\n")
	f.Fuzz(func(t *testing.T, doc string) {
		p, err := ParsePolicyYAML(strings.NewReader(doc))
		if err != nil {
			if !errors.Is(err, errs.KindConfiguration) {
				t.Fatalf("error %v is not a configuration error", err)
			}
			return
		}
		js, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParsePolicy(bytes.NewReader(js))
		if err != nil {
			t.Fatalf("policy from YAML does not load as JSON: %v (%s)", err, js)
		}
		if !reflect.DeepEqual(normalized(back), normalized(p)) {
			t.Fatalf("JSON round trip changed the policy: %+v vs %+v", back, p)
		}
	})
}

// normalized maps empty slices to nil, as omitempty does.
func normalized(p Policy) Policy {
	out := Policy{Roles: map[string]Role{}}
	for name, r := range p.Roles {
		if len(r.Inherits) == 0 {
			r.Inherits = nil
		}
		if len(r.Permissions) == 0 {
			r.Permissions = nil
		}
		out.Roles[name] = r
	}
	return out
}

func FuzzAllowed(f *testing.F) {
	r := MustRBAC(testPolicy())
	f.Add("reader", "notes:read")
	f.Add("admin", "notes:*")
	f.Add("root", "*")
	f.Add("x", ":")
	f.Fuzz(func(t *testing.T, role, perm string) {
		got := r.Allowed([]string{role}, perm)
		if want := naiveAllowed(r, role, perm); got != want {
			t.Fatalf("Allowed(%q, %q) = %v, the grants say %v", role, perm, got, want)
		}
		if c, err := r.Compile(perm); err == nil && c.Allows([]string{role}) != got {
			t.Fatalf("compiled and general checks disagree on %q %q", role, perm)
		}
	})
}

// naiveAllowed is the definition of a grant covering a permission, walked
// over the role's flattened grant list: the oracle for Allowed.
func naiveAllowed(r *RBAC, role, perm string) bool {
	res, act, ok := strings.Cut(perm, ":")
	if perm == "*" {
		res, act, ok = "*", "*", true
	}
	if !ok || !validPart(res) || !validPart(act) {
		return false
	}
	for _, g := range r.Permissions(role) {
		gres, gact, _ := strings.Cut(g, ":")
		if (gres == "*" || gres == res) && (gact == "*" || gact == act) {
			return true
		}
	}
	return false
}
