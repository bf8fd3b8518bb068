package principal

import (
	"context"
	"slices"
	"time"
)

// Method names how a principal was authenticated.
type Method string

// The authentication methods of authn's authenticators.
const (
	MethodJWT           Method = "jwt"
	MethodAPIKey        Method = "api_key"
	MethodSession       Method = "session"
	MethodOIDC          Method = "oidc"
	MethodIntrospection Method = "introspection"
)

// Principal is the authenticated caller. Authenticators build it; the stage
// stores it in the request context. A Principal may be shared between
// requests (the verified-token cache hands out the same value), so it must
// be treated as read-only.
type Principal struct {
	// Subject identifies the caller (a user ID, a client ID, an API key ID).
	Subject string
	// Method is how the caller was authenticated.
	Method Method
	// Roles the caller holds, for authz.
	Roles []string
	// Scopes granted to the credential (OAuth2 scopes, API key scopes).
	Scopes []string
	// ExpiresAt is when the credential expires; zero when it does not.
	ExpiresAt time.Time
	// Claims are the verified JWT claims when Method is MethodJWT (or the
	// ID token's when MethodOIDC); nil otherwise.
	Claims *Claims
	// Attributes carry anything else an authenticator wants the handler to
	// see (for example the API key's name).
	Attributes map[string]string
}

// HasScope reports whether the principal was granted scope.
func (p *Principal) HasScope(scope string) bool {
	return p != nil && slices.Contains(p.Scopes, scope)
}

// HasRole reports whether the principal holds role.
func (p *Principal) HasRole(role string) bool {
	return p != nil && slices.Contains(p.Roles, role)
}

type contextKey struct{}

// With returns a copy of ctx carrying p.
func With(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, contextKey{}, p)
}

// From returns the principal the authn stage stored in ctx, and whether
// there is one (false for anonymous requests).
func From(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(contextKey{}).(*Principal)
	return p, ok && p != nil
}

// SubjectFrom returns the subject of the principal in ctx, or "".
func SubjectFrom(ctx context.Context) string {
	if p, ok := From(ctx); ok {
		return p.Subject
	}
	return ""
}
