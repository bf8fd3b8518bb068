package principal

import (
	"strings"

	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/internal/httpx"
)

// ErrNoCredentials: the request carries no credentials and the stage
// requires them (401, code "unauthenticated"). authn answers it when no
// authenticator found a credential; authz when a check needs a principal
// and the context has none.
var ErrNoCredentials = errs.New(errs.KindAuthentication, "unauthenticated", "Authentication is required.")

// BearerChallenge returns an RFC 6750 WWW-Authenticate challenge for the
// Bearer scheme. code is "" (no credentials were sent), "invalid_request",
// "invalid_token" or "insufficient_scope"; scope lists the scopes needed for
// insufficient_scope.
func BearerChallenge(realm, code, description string, scope ...string) string {
	var b strings.Builder
	b.WriteString("Bearer")
	sep := " "
	add := func(k, v string) {
		b.WriteString(sep)
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(httpx.Quote(v))
		sep = ", "
	}
	if realm != "" {
		add("realm", realm)
	}
	if code != "" {
		add("error", code)
	}
	if description != "" {
		add("error_description", description)
	}
	if len(scope) > 0 {
		add("scope", strings.Join(scope, " "))
	}
	return b.String()
}
