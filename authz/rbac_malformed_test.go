package authz

import "testing"

// Allowed must not grant a permission that could never be compiled, even to
// a holder of the matching wildcard: handlers pass strings they built.
func TestAllowedRefusesMalformedPermissions(t *testing.T) {
	t.Parallel()
	r := MustRBAC(Policy{Roles: map[string]Role{"editor": {Permissions: []string{"notes:*"}}, "root": {Permissions: []string{"*"}}}})
	for _, perm := range []string{"notes:", "notes:read:extra", "notes: read", "notes:\x00", ":read", "notes", ""} {
		for _, role := range []string{"editor", "root"} {
			if r.Allowed([]string{role}, perm) {
				t.Errorf("Allowed(%s, %q) = true", role, perm)
			}
		}
	}
	if !r.Allowed([]string{"editor"}, "notes:read") || !r.Allowed([]string{"root"}, "users:delete") {
		t.Fatal("well-formed permissions are no longer granted")
	}
}
