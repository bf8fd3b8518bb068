package authz

import (
	"context"
	"slices"
	"sort"
	"strings"

	"github.com/covetgo/covet/authn/principal"
	"github.com/covetgo/covet/errs"
)

// RBAC is the built-in role-based Decider. The role hierarchy is flattened
// at construction, so a check is a few map lookups with no allocation. An
// RBAC is immutable and safe for concurrent use.
type RBAC struct {
	roles map[string]*grants
	// closure: role → every role it is or inherits.
	closure map[string]map[string]struct{}
	// index: every permission the policy names, compiled, so checking
	// one of them is one lookup and a scan of the caller's roles.
	index map[string]Permission
}

// grants are a role's flattened permissions.
type grants struct {
	all   bool                // "*" or "*:*"
	exact map[string]struct{} // "notes:read"
	res   map[string]struct{} // "notes" from "notes:*"
	act   map[string]struct{} // "read" from "*:read"
	list  []string            // sorted, for Permissions
}

// NewRBAC validates p and compiles it. Unknown inherited roles, inheritance
// cycles, malformed role names and malformed permissions are configuration
// errors.
func NewRBAC(p Policy) (*RBAC, error) {
	if err := validatePolicy(p); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(p.Roles))
	for name := range p.Roles {
		names = append(names, name)
	}
	sort.Strings(names) // deterministic cycle messages
	closure, err := inheritanceClosure(p, names)
	if err != nil {
		return nil, err
	}
	r := &RBAC{roles: make(map[string]*grants, len(p.Roles)), closure: closure}
	for _, name := range names {
		r.roles[name] = compileGrants(p, closure[name])
	}
	r.index = map[string]Permission{}
	for _, g := range r.roles {
		for _, perm := range g.list {
			if _, ok := r.index[perm]; !ok {
				r.index[perm], _ = r.Compile(perm) // valid: it passed splitPermission
			}
		}
	}
	return r, nil
}

// validatePolicy checks role names, inherited roles and permissions.
func validatePolicy(p Policy) error {
	for name, role := range p.Roles {
		if !validName(name) {
			return errs.Configf("authz: invalid role name %q", name)
		}
		for _, in := range role.Inherits {
			if _, ok := p.Roles[in]; !ok {
				return errs.Configf("authz: role %q inherits unknown role %q", name, in)
			}
		}
		for _, perm := range role.Permissions {
			if _, _, err := splitPermission(perm, true); err != nil {
				return errs.Configf("authz: role %q: %v", name, err)
			}
		}
	}
	return nil
}

// inheritanceClosure returns, for each role, the set of roles it holds
// through inheritance (itself included), visiting names in order; a cycle
// is a configuration error naming its path.
func inheritanceClosure(p Policy, names []string) (map[string]map[string]struct{}, error) {
	const (
		unvisited = iota
		visiting
		done
	)
	closure := make(map[string]map[string]struct{}, len(p.Roles))
	state := make(map[string]int, len(p.Roles))
	var visit func(name string, path []string) error
	visit = func(name string, path []string) error {
		switch state[name] {
		case done:
			return nil
		case visiting:
			return errs.Configf("authz: role inheritance cycle: %s", strings.Join(append(path, name), " → "))
		}
		state[name] = visiting
		cl := map[string]struct{}{name: {}}
		for _, in := range p.Roles[name].Inherits {
			if err := visit(in, append(path, name)); err != nil {
				return err
			}
			for k := range closure[in] {
				cl[k] = struct{}{}
			}
		}
		closure[name] = cl
		state[name] = done
		return nil
	}
	for _, name := range names {
		if err := visit(name, nil); err != nil {
			return nil, err
		}
	}
	return closure, nil
}

// compileGrants flattens the permissions of the roles in members into one
// role's grants: exact permissions, resource and action wildcards, "*".
func compileGrants(p Policy, members map[string]struct{}) *grants {
	g := &grants{exact: map[string]struct{}{}, res: map[string]struct{}{}, act: map[string]struct{}{}}
	for member := range members {
		for _, perm := range p.Roles[member].Permissions {
			res, act, _ := splitPermission(perm, true)
			full := res + ":" + act
			switch {
			case res == "*" && act == "*":
				g.all = true
			case act == "*":
				g.res[res] = struct{}{}
			case res == "*":
				g.act[act] = struct{}{}
			}
			g.exact[full] = struct{}{}
		}
	}
	for k := range g.exact {
		g.list = append(g.list, k)
	}
	sort.Strings(g.list)
	return g
}

// MustRBAC is NewRBAC for policies written in Go: it panics on an error.
func MustRBAC(p Policy) *RBAC {
	r, err := NewRBAC(p)
	if err != nil {
		panic(err)
	}
	return r
}

func validName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !nameChar(s[i]) {
			return false
		}
	}
	return true
}

func nameChar(c byte) bool { return nameChars[c] }

// nameChars marks the characters of a role or permission-part name.
var nameChars = func() (t [256]bool) {
	for _, c := range "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./" {
		t[c] = true
	}
	return t
}()

// splitPermission splits "resource:action". "*" alone means "*:*". Each part
// is a name (letters, digits, _ - . /) or "*" when wildcards are allowed.
// validPart reports whether p is a well-formed permission part or "*".
func validPart(p string) bool { return p == "*" || validName(p) }

func splitPermission(perm string, wildcards bool) (res, act string, err error) {
	if perm == "*" {
		if !wildcards {
			return "", "", errs.Configf("permission %q: wildcards are not allowed here", perm)
		}
		return "*", "*", nil
	}
	i := strings.IndexByte(perm, ':')
	if i < 0 {
		return "", "", errs.Configf("permission %q is not resource:action", perm)
	}
	res, act = perm[:i], perm[i+1:]
	for _, part := range [2]string{res, act} {
		if part == "*" {
			if !wildcards {
				return "", "", errs.Configf("permission %q: wildcards are not allowed here", perm)
			}
			continue
		}
		if !validName(part) {
			return "", "", errs.Configf("permission %q is not resource:action", perm)
		}
	}
	return res, act, nil
}

// allows reports whether g grants the permission res:act (perm is the
// joined form).
func (g *grants) allows(res, act, perm string) bool {
	if g.all {
		return true
	}
	if _, ok := g.exact[perm]; ok {
		return true
	}
	if _, ok := g.res[res]; ok {
		return true
	}
	if act != "*" {
		if _, ok := g.act[act]; ok {
			return true
		}
	}
	return false
}

// Allowed reports whether any of roles grants perm. A grant covers a
// permission when each part is equal or the grant's part is "*"; so
// "notes:*" covers "notes:read" and "notes:*", while "notes:read" does not
// cover "notes:*". Unknown roles and malformed permissions grant nothing.
func (r *RBAC) Allowed(roles []string, perm string) bool {
	if p, ok := r.index[perm]; ok {
		return p.Allows(roles)
	}
	i := strings.IndexByte(perm, ':')
	var res, act string
	if i < 0 {
		if perm != "*" {
			return false
		}
		res, act, perm = "*", "*", "*:*"
	} else {
		res, act = perm[:i], perm[i+1:]
		if !validPart(res) || !validPart(act) {
			return false // a malformed permission is granted by nothing
		}
	}
	for _, role := range roles {
		if g, ok := r.roles[role]; ok && g.allows(res, act, perm) {
			return true
		}
	}
	return false
}

// Decide implements Decider: it reports whether the principal's roles grant
// permission. A nil principal is denied.
func (r *RBAC) Decide(_ context.Context, p *principal.Principal, permission string) (bool, error) {
	if p == nil {
		return false, nil
	}
	return r.Allowed(p.Roles, permission), nil
}

// HasRole reports whether any of held is role or inherits it.
func (r *RBAC) HasRole(held []string, role string) bool {
	for _, h := range held {
		if h == role {
			return true
		}
		if _, ok := r.closure[h][role]; ok {
			return true
		}
	}
	return false
}

// Roles returns the policy's role names, sorted.
func (r *RBAC) Roles() []string {
	out := make([]string, 0, len(r.roles))
	for k := range r.roles {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Permissions returns the flattened permissions of role (its own and its
// inherited ones), sorted, or nil for an unknown role.
func (r *RBAC) Permissions(role string) []string {
	g, ok := r.roles[role]
	if !ok {
		return nil
	}
	return slices.Clone(g.list)
}

// Permission is a permission compiled against an RBAC: it knows which roles
// grant it, so a check is a scan of the caller's roles against that list.
type Permission struct {
	name     string
	granting []string            // when few roles grant it
	set      map[string]struct{} // when many do
}

// Compile validates perm (wildcards allowed) and returns it compiled.
func (r *RBAC) Compile(perm string) (Permission, error) {
	res, act, err := splitPermission(perm, true)
	if err != nil {
		return Permission{}, err
	}
	full := res + ":" + act
	p := Permission{name: perm}
	for _, name := range r.Roles() {
		if r.roles[name].allows(res, act, full) {
			p.granting = append(p.granting, name)
		}
	}
	if len(p.granting) > 8 {
		p.set = make(map[string]struct{}, len(p.granting))
		for _, g := range p.granting {
			p.set[g] = struct{}{}
		}
		p.granting = nil
	}
	return p, nil
}

// String returns the permission as written.
func (p Permission) String() string { return p.name }

// Allows reports whether any of roles grants the permission.
func (p Permission) Allows(roles []string) bool {
	if p.set != nil {
		for _, r := range roles {
			if _, ok := p.set[r]; ok {
				return true
			}
		}
		return false
	}
	for _, r := range roles {
		for _, g := range p.granting {
			if r == g {
				return true
			}
		}
	}
	return false
}
