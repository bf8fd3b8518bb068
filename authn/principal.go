package authn

import (
	"context"

	"github.com/covetgo/covet/authn/principal"
)

// Principal is the authenticated caller; see principal.Principal. Packages
// that only read the caller (authz, handlers) can import authn/principal
// alone.
type Principal = principal.Principal

// Method names how a principal was authenticated; see principal.Method.
type Method = principal.Method

// Claims are the verified claims of a JWT; see principal.Claims.
type Claims = principal.Claims

// Scopes is a list of scopes; see principal.Scopes.
type Scopes = principal.Scopes

// The authentication methods of this package's authenticators.
const (
	MethodJWT           = principal.MethodJWT
	MethodAPIKey        = principal.MethodAPIKey
	MethodSession       = principal.MethodSession
	MethodOIDC          = principal.MethodOIDC
	MethodIntrospection = principal.MethodIntrospection
)

// WithPrincipal returns a copy of ctx carrying p (principal.With).
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return principal.With(ctx, p)
}

// PrincipalFrom returns the principal the authn stage stored in ctx, and
// whether there is one (false for anonymous requests); principal.From.
func PrincipalFrom(ctx context.Context) (*Principal, bool) {
	return principal.From(ctx)
}

// SubjectFrom returns the subject of the principal in ctx, or "".
func SubjectFrom(ctx context.Context) string {
	return principal.SubjectFrom(ctx)
}
