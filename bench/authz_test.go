package bench

import (
	"testing"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"

	"github.com/covetgo/covet/authz"
)

// The same RBAC policy for both engines: three roles in an inheritance
// chain, exact permissions, and a check that has to follow the chain.
var authzRoles = map[string]authz.Role{
	"reader": {Permissions: []string{"notes:read", "comments:read"}},
	"editor": {Inherits: []string{"reader"}, Permissions: []string{"notes:write", "comments:write"}},
	"admin":  {Inherits: []string{"editor"}, Permissions: []string{"users:read", "users:write"}},
}

const casbinRBAC = `
[request_definition]
r = sub, obj, act

[policy_definition]
p = sub, obj, act

[role_definition]
g = _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub) && r.obj == p.obj && r.act == p.act
`

func casbinEnforcer(b *testing.B, cached bool) casbin.IEnforcer {
	m, err := model.NewModelFromString(casbinRBAC)
	if err != nil {
		b.Fatal(err)
	}
	var e casbin.IEnforcer
	if cached {
		e, err = casbin.NewCachedEnforcer(m)
	} else {
		e, err = casbin.NewEnforcer(m)
	}
	if err != nil {
		b.Fatal(err)
	}
	for role, r := range authzRoles {
		for _, p := range r.Permissions {
			res, act, _ := cut(p)
			if _, err := e.AddPolicy(role, res, act); err != nil {
				b.Fatal(err)
			}
		}
		for _, parent := range r.Inherits {
			if _, err := e.AddGroupingPolicy(role, parent); err != nil {
				b.Fatal(err)
			}
		}
	}
	return e
}

func cut(p string) (string, string, bool) {
	for i := 0; i < len(p); i++ {
		if p[i] == ':' {
			return p[:i], p[i+1:], true
		}
	}
	return p, "", false
}

// BenchmarkAuthz_Check: may an admin read notes (two inheritance steps
// away)? covet's general check, its compiled permission (what Require
// uses), and casbin's enforcer, plain and cached.
func BenchmarkAuthz_Check(b *testing.B) {
	rbac := authz.MustRBAC(authz.Policy{Roles: authzRoles})
	roles := []string{"admin"}
	b.Run("covet", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !rbac.Allowed(roles, "notes:read") {
				b.Fatal("denied")
			}
		}
	})
	b.Run("covet-compiled", func(b *testing.B) {
		perm, err := rbac.Compile("notes:read")
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if !perm.Allows(roles) {
				b.Fatal("denied")
			}
		}
	})
	for _, cached := range []bool{false, true} {
		name := "casbin"
		if cached {
			name = "casbin-cached"
		}
		b.Run(name, func(b *testing.B) {
			e := casbinEnforcer(b, cached)
			b.ReportAllocs()
			for b.Loop() {
				ok, err := e.Enforce("admin", "notes", "read")
				if err != nil || !ok {
					b.Fatal("denied", err)
				}
			}
		})
	}
}

// BenchmarkAuthz_Paired reports covet/casbin time ratios measured in
// alternating blocks (see pairTimer).
func BenchmarkAuthz_Paired(b *testing.B) {
	rbac := authz.MustRBAC(authz.Policy{Roles: authzRoles})
	perm, _ := rbac.Compile("notes:read")
	roles := []string{"admin"}
	e := casbinEnforcer(b, false)
	casbinCheck := func() {
		if ok, err := e.Enforce("admin", "notes", "read"); err != nil || !ok {
			b.Fatal("denied", err)
		}
	}
	b.Run("covet-vs-casbin", func(b *testing.B) {
		pairTimer(b, 64, [2]string{"covet", "casbin"}, [2]func(){func() {
			if !rbac.Allowed(roles, "notes:read") {
				b.Fatal("denied")
			}
		}, casbinCheck})
	})
	b.Run("covet-compiled-vs-casbin", func(b *testing.B) {
		pairTimer(b, 64, [2]string{"covet-compiled", "casbin"}, [2]func(){func() {
			if !perm.Allows(roles) {
				b.Fatal("denied")
			}
		}, casbinCheck})
	})
}
