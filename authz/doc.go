// Package authz is the authorization stage: given the principal the authn
// stage found, it decides whether the request may proceed.
//
// Permissions are "resource:action" strings ("notes:read"); a grant may use
// "*" for either part ("notes:*", "*:read") or be "*" alone (everything).
// Roles grant permissions and may inherit other roles; [NewRBAC] flattens the
// hierarchy once, at construction, and refuses cycles and unknown roles as
// configuration errors. Anything not granted is denied. A policy comes from
// Go values or from a JSON or YAML document ([LoadPolicyFile],
// [ParsePolicy], [ParsePolicyYAML]).
//
// An [Authorizer] turns decisions into middleware: [Authorizer.Require],
// [Authorizer.RequireRole], [Authorizer.RequireScope] and
// [Authorizer.RequireOwner] (the owner of a resource, or a bypass
// permission; a missing resource is 404). A request without a principal gets
// 401, a known caller who may not gets 403 (for scopes with an RFC 6750
// insufficient_scope challenge). The built-in RBAC decides by default; any
// [Decider] (for example one backed by casbin) can decide instead. Decisions
// are recorded with errs.Audit.
//
// # May they
//
// authz.NewRBAC compiles a role policy once: inheritance is flattened into per-role permission
// sets (a cycle or an unknown parent is a configuration error, never a silent depth cap),
// permissions are resource:action with * for either part (notes:*, *:read, *), and anything
// not granted is denied. Policies come from Go values or from a JSON or YAML file
// (authz.LoadPolicyFile picks by extension; ParsePolicy and ParsePolicyYAML read a stream):
// size-capped, one document, unknown fields and repeated keys refused.
// A check allocates nothing: a permission the policy names is one map lookup and a scan of the
// caller's roles (other permissions, such as ones a wildcard covers, take a few lookups more); the
// middleware compiles each permission against the roles at route-building time, so its per-request
// check is only the scan.
//
// authz.New turns a Decider (the built-in *RBAC, or any engine such as casbin behind the
// one-method interface) into middleware over authn's principal: Require(perms...),
// RequireRole(roles...) (inherited roles count), RequireScope(scopes...) (403 with an RFC 6750
// insufficient_scope challenge), and RequireOwner(loader, bypass...), which loads the addressed
// resource, lets its owner or a holder of a bypass permission (notes:*) through, keeps a missing
// resource a 404, and hands the loaded value to the handler (authz.ResourceFrom). No principal is
// 401, a known caller without the permission 403, a failing decider 503. Denied decisions (and,
// with AuditAllowed, allowed ones) go to errs.Audit with subject, permission, resource and request
// ID.
//
//	policy, err := authz.LoadPolicyFile("policy.yaml")
//	// roles:
//	//   reader: {permissions: ["notes:read"]}
//	//   editor: {inherits: [reader], permissions: ["notes:write"]}
//	//   admin:  {inherits: [editor], permissions: ["notes:*", "users:*"]}
//	if err != nil {
//		log.Fatal(err)
//	}
//	rbac, err := authz.NewRBAC(policy)
//	if err != nil {
//		log.Fatal(err) // names the cycle or the bad permission
//	}
//	az, err := authz.New(authz.Options{Decider: rbac, Realm: "notes"})
//	if err != nil {
//		log.Fatal(err)
//	}
//	loadNote := func(r *http.Request) (authz.Resource, error) {
//		n, ok := notes.Get(chi.URLParam(r, "id"))
//		if !ok {
//			return authz.Resource{}, authz.ErrNotFound
//		}
//		return authz.Resource{ID: "notes/" + n.ID, Owner: n.Owner, Value: n}, nil
//	}
//	r := chi.NewRouter()
//	r.Group(func(r chi.Router) {
//		r.Use(stage.Handler) // authn
//		r.With(az.Require("notes:read")).Get("/notes", listNotes)
//		r.With(az.Require("notes:write"), az.RequireScope("notes.write")).Post("/notes", createNote)
//		r.With(az.RequireOwner(loadNote, "notes:*")).Delete("/notes/{id}", deleteNote)
//	})
package authz
