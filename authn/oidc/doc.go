// Package oidc connects authn to an OAuth2/OpenID Connect provider, from
// both sides:
//
//   - [Client] is a login with the authorization-code flow: PKCE (S256,
//     always), state and nonce bound to the browser through a
//     [LoginStateStore] ([CookieStateStore] by default), the ID token's
//     keys read through authn's hardened JWKS client, azp checked, and a
//     return location kept on the application's own origin.
//   - [Introspector] is an RFC 7662 token introspection client for a
//     resource server whose tokens are opaque: an authn.TokenVerifier, so
//     authn.Bearer(introspector) authenticates requests with it, with a
//     bounded cache of active and inactive answers and concurrent
//     look-ups of one token coalesced.
//
// Both reach the provider over TLS only; credentials never follow a
// redirect to plain HTTP. A provider that cannot be reached yields 503
// (authn.ErrUnavailable), never 401.
package oidc
