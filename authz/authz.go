package authz

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"github.com/covetgo/covet/authn/principal"
	"github.com/covetgo/covet/errs"
)

// Decider decides whether a principal holds a permission. *RBAC is the
// built-in one; an adapter over another engine (casbin, OPA) can decide
// instead. An error fails the request with 503 (fail closed).
type Decider interface {
	Decide(ctx context.Context, p *principal.Principal, permission string) (bool, error)
}

// DeciderFunc adapts a function to Decider.
type DeciderFunc func(ctx context.Context, p *principal.Principal, permission string) (bool, error)

// Decide implements Decider.
func (f DeciderFunc) Decide(ctx context.Context, p *principal.Principal, permission string) (bool, error) {
	return f(ctx, p, permission)
}

// The errors the stage writes.
var (
	// ErrForbidden: the caller is known and may not do this (403).
	ErrForbidden = errs.New(errs.KindAuthorization, "forbidden", "You do not have permission to do this.")
	// ErrInsufficientScope: the token lacks a required scope (403, with an
	// RFC 6750 insufficient_scope challenge).
	ErrInsufficientScope = errs.New(errs.KindAuthorization, "insufficient_scope", "The access token does not grant the required scope.")
	// ErrNotFound is what an OwnerLoader returns for a missing resource (404).
	ErrNotFound = errs.New(errs.KindNotFound, "not_found", "The resource does not exist.")
	// ErrUnavailable: the decider failed (503).
	ErrUnavailable = errs.New(errs.KindServiceUnavailable, "authorization_unavailable", "Authorization is temporarily unavailable.")
)

// Options configure an Authorizer.
type Options struct {
	// Decider decides permissions; required. Pass an *RBAC for the built-in
	// engine (checks are then compiled when the middleware is built).
	Decider Decider
	// AuditAllowed records allowed decisions with errs.Audit too. Denied
	// decisions are always recorded (when an audit logger is configured).
	AuditAllowed bool
	// Realm is the realm of the WWW-Authenticate challenges. Empty: none.
	Realm string
}

// Authorizer builds authorization middleware over one Decider.
type Authorizer struct {
	decider      Decider
	rbac         *RBAC
	auditAllowed bool
	realm        string
	unauth       error
	forbidden    error // ErrForbidden, marked as audited by this stage
}

// New validates opts and returns an Authorizer.
func New(opts Options) (*Authorizer, error) {
	if opts.Decider == nil {
		return nil, errs.Configf("authz: Options.Decider is required (for example NewRBAC(policy))")
	}
	if strings.ContainsAny(opts.Realm, "\"\\\r\n") {
		return nil, errs.Configf("authz: Options.Realm %q contains quotes, backslashes or line breaks", opts.Realm)
	}
	a := &Authorizer{decider: opts.Decider, auditAllowed: opts.AuditAllowed, realm: opts.Realm}
	a.rbac, _ = opts.Decider.(*RBAC)
	a.unauth = principal.ErrNoCredentials.WithHeader("WWW-Authenticate", principal.BearerChallenge(opts.Realm, "", ""))
	// A denial is recorded by a.audit with the permission and resource, so
	// errs.Write does not record a second, poorer line for it.
	a.forbidden = ErrForbidden.WithAudited()
	return a, nil
}

// check is one compiled permission check.
type check struct {
	perm     string
	compiled Permission
	rbac     bool
}

func (a *Authorizer) compile(perms []string, what string) []check {
	if len(perms) == 0 {
		panic("authz: " + what + " needs at least one permission")
	}
	out := make([]check, len(perms))
	for i, p := range perms {
		if _, _, err := splitPermission(p, true); err != nil {
			panic("authz: " + what + ": " + err.Error())
		}
		out[i] = check{perm: p}
		if a.rbac != nil {
			c, _ := a.rbac.Compile(p)
			out[i].compiled, out[i].rbac = c, true
		}
	}
	return out
}

func (a *Authorizer) allowed(ctx context.Context, p *principal.Principal, c *check) (bool, error) {
	if c.rbac {
		return c.compiled.Allows(p.Roles), nil
	}
	return a.decider.Decide(ctx, p, c.perm)
}

// Require returns middleware that lets a request through only when its
// principal holds every permission in perms. No principal: 401; a missing
// permission: 403. It panics when perms is empty or malformed, which is a
// programming error found when routes are built.
func (a *Authorizer) Require(perms ...string) func(http.Handler) http.Handler {
	checks := a.compile(perms, "Require")
	policy := strings.Join(perms, " ")
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			p, ok := principal.From(ctx)
			if !ok {
				recordDecision(ctx, policy, decisionUnauthenticated)
				errs.Write(w, r, a.unauth)
				return
			}
			for i := range checks {
				ok, err := a.allowed(ctx, p, &checks[i])
				if err != nil {
					recordDecision(ctx, checks[i].perm, decisionUnavailable)
					errs.Write(w, r, ErrUnavailable.WithCause(err))
					return
				}
				if !ok {
					recordDecision(ctx, checks[i].perm, decisionDeny)
					a.audit(ctx, p, checks[i].perm, "", false)
					errs.Write(w, r, a.forbidden)
					return
				}
			}
			recordDecision(ctx, policy, decisionAllow)
			if a.auditAllowed {
				for i := range checks {
					a.audit(ctx, p, checks[i].perm, "", true)
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// Check reports, as an error, whether the principal in ctx holds perm: nil,
// principal.ErrNoCredentials, ErrForbidden or ErrUnavailable. Handlers use it
// for decisions that depend on the request's content; pass the result to
// errs.Write.
func (a *Authorizer) Check(ctx context.Context, perm string) error {
	p, ok := principal.From(ctx)
	if !ok {
		recordDecision(ctx, perm, decisionUnauthenticated)
		return a.unauth
	}
	var allowed bool
	var err error
	if a.rbac != nil {
		allowed = a.rbac.Allowed(p.Roles, perm)
	} else {
		allowed, err = a.decider.Decide(ctx, p, perm)
	}
	if err != nil {
		recordDecision(ctx, perm, decisionUnavailable)
		return ErrUnavailable.WithCause(err)
	}
	if !allowed {
		recordDecision(ctx, perm, decisionDeny)
		a.audit(ctx, p, perm, "", false)
		return a.forbidden
	}
	recordDecision(ctx, perm, decisionAllow)
	if a.auditAllowed {
		a.audit(ctx, p, perm, "", true)
	}
	return nil
}

// RequireRole returns middleware that lets a request through when its
// principal holds at least one of roles (with an RBAC decider, holding a role
// that inherits one counts). It panics when roles is empty.
func (a *Authorizer) RequireRole(roles ...string) func(http.Handler) http.Handler {
	if len(roles) == 0 {
		panic("authz: RequireRole needs at least one role")
	}
	roles = append([]string(nil), roles...)
	return a.gate("role:"+strings.Join(roles, "|"), ErrForbidden, func(p *principal.Principal) bool {
		for _, role := range roles {
			if (a.rbac != nil && a.rbac.HasRole(p.Roles, role)) || (a.rbac == nil && p.HasRole(role)) {
				return true
			}
		}
		return false
	})
}

// RequireScope returns middleware that lets a request through only when its
// principal was granted every scope in scopes. A missing scope is 403 with
// an RFC 6750 insufficient_scope challenge naming the scopes. It panics when
// scopes is empty.
func (a *Authorizer) RequireScope(scopes ...string) func(http.Handler) http.Handler {
	if len(scopes) == 0 {
		panic("authz: RequireScope needs at least one scope")
	}
	scopes = append([]string(nil), scopes...)
	deny := ErrInsufficientScope.WithHeader("WWW-Authenticate",
		principal.BearerChallenge(a.realm, "insufficient_scope", "The access token does not grant the required scope.", scopes...))
	return a.gate("scope:"+strings.Join(scopes, " "), deny, func(p *principal.Principal) bool {
		for _, sc := range scopes {
			if !p.HasScope(sc) {
				return false
			}
		}
		return true
	})
}

// gate is the middleware RequireRole and RequireScope share: 401 without a
// principal, then allowed decides between next and deny, audited under label.
func (a *Authorizer) gate(label string, deny *errs.Error, allowed func(*principal.Principal) bool) func(http.Handler) http.Handler {
	deny = deny.WithAudited() // a.audit records the denial
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			p, ok := principal.From(ctx)
			if !ok {
				recordDecision(ctx, label, decisionUnauthenticated)
				errs.Write(w, r, a.unauth)
				return
			}
			if !allowed(p) {
				recordDecision(ctx, label, decisionDeny)
				a.audit(ctx, p, label, "", false)
				errs.Write(w, r, deny)
				return
			}
			recordDecision(ctx, label, decisionAllow)
			if a.auditAllowed {
				a.audit(ctx, p, label, "", true)
			}
			next.ServeHTTP(w, r)
		})
	}
}

func (a *Authorizer) audit(ctx context.Context, p *principal.Principal, perm, resource string, allowed bool) {
	if !errs.RendererFrom(ctx).AuditEnabled() {
		return
	}
	outcome := "denied"
	if allowed {
		outcome = "allowed"
	}
	attrs := []slog.Attr{
		slog.String("subject", p.Subject),
		slog.String("permission", perm),
		slog.String("outcome", outcome),
	}
	if resource != "" {
		attrs = append(attrs, slog.String("resource", resource))
	}
	errs.Audit(ctx, "authz.decision", attrs...)
}
