package authz

import (
	"context"
	"net/http"

	"github.com/covetgo/covet/authn/principal"
	"github.com/covetgo/covet/errs"
)

// Resource is what an OwnerLoader returns: the resource a request addresses
// and who owns it.
type Resource struct {
	// ID names the resource in audit records ("notes/42").
	ID string
	// Owner is the subject that owns the resource.
	Owner string
	// Value is the loaded resource itself, handed to the handler through
	// ResourceFrom so it need not load it again.
	Value any
}

// OwnerLoader loads the resource a request addresses. It returns ErrNotFound
// (or any errs error of kind NotFound) when there is none, which is answered
// 404; other errors are written as they are.
type OwnerLoader func(r *http.Request) (Resource, error)

type resourceKey struct{}

// ResourceFrom returns the resource RequireOwner loaded for this request.
func ResourceFrom(ctx context.Context) (Resource, bool) {
	res, ok := ctx.Value(resourceKey{}).(Resource)
	return res, ok
}

// RequireOwner returns middleware that loads the addressed resource with load
// and lets the request through when the principal owns it (its Subject equals
// Resource.Owner) or holds any of the bypass permissions (for example
// "notes:*" for administrators). A missing resource stays 404; a known caller
// who is neither owner nor bypasser gets 403. The resource is available to
// the handler through ResourceFrom. It panics when load is nil or a bypass
// permission is malformed.
func (a *Authorizer) RequireOwner(load OwnerLoader, bypass ...string) func(http.Handler) http.Handler {
	if load == nil {
		panic("authz: RequireOwner needs a loader")
	}
	var checks []check
	if len(bypass) > 0 {
		checks = a.compile(bypass, "RequireOwner")
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			p, ok := principal.From(ctx)
			if !ok {
				recordDecision(ctx, "owner", decisionUnauthenticated)
				errs.Write(w, r, a.unauth)
				return
			}
			res, err := load(r)
			if err != nil {
				errs.Write(w, r, err)
				return
			}
			allowed := res.Owner != "" && res.Owner == p.Subject
			perm := "owner"
			for i := 0; !allowed && i < len(checks); i++ {
				ok, err := a.allowed(ctx, p, &checks[i])
				if err != nil {
					recordDecision(ctx, checks[i].perm, decisionUnavailable)
					errs.Write(w, r, ErrUnavailable.WithCause(err))
					return
				}
				if ok {
					allowed, perm = true, checks[i].perm
				}
			}
			if !allowed {
				recordDecision(ctx, perm, decisionDeny)
				a.audit(ctx, p, perm, res.ID, false)
				errs.Write(w, r, a.forbidden)
				return
			}
			recordDecision(ctx, perm, decisionAllow)
			if a.auditAllowed {
				a.audit(ctx, p, perm, res.ID, true)
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, resourceKey{}, res)))
		})
	}
}
