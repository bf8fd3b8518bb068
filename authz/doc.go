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
package authz
