// Package authn is the authentication stage: it finds out who is calling and
// puts a [Principal] in the request context.
//
// The stage ([Authn.Handler]) runs a list of [Authenticator]s in order: a
// bearer JWT ([Bearer] over a [Verifier]), an API key ([APIKeys]), a session
// ([Session], over a function the application supplies). The first one that
// finds credentials decides: a valid credential yields a principal, an
// invalid one ends the request with 401 and a WWW-Authenticate challenge
// (RFC 6750 for bearer tokens). When none finds credentials the stage either
// refuses the request (the default) or lets it through anonymously
// (Options.Optional) for the handler to decide.
//
// Around the stage the package has the pieces an application needs to issue
// and check credentials:
//
//   - [Verifier]: JWT verification that is safe by construction (algorithms,
//     issuer, audience and expiry are required, every key is bound to one
//     algorithm, jku/x5u/jwk headers are ignored, tokens over 8 KiB are
//     refused before parsing, header and payload are read by a strict JSON
//     scanner that refuses repeated names, and github.com/golang-jwt/jwt/v5
//     checks the signature and the registered claims), with an optional
//     verified-token cache and revocation check.
//   - [JWKS]: a key set fetched over HTTPS and refreshed in the background.
//   - [Issuer]: access tokens signed with rotating keys, a JWKS handler, and
//     rotating refresh tokens with reuse detection ([RefreshStore], in memory
//     or in Redis).
//   - [APIKeys]: prefixed API keys of which only a hash is stored.
//   - [Passwords]: Argon2id hashing in PHC strings, bcrypt verification for
//     legacy hashes, bounded concurrency.
//   - [TOTP]: time-based one-time passwords with replay protection and
//     single-use recovery codes.
//   - [OIDC] and [Introspector]: an OAuth2/OIDC login flow with PKCE, and
//     RFC 7662 token introspection for resource servers.
//
// Every success and failure is recorded with errs.Audit (event, method,
// reason code, client IP, request ID; never a secret). Callers of a verifier
// see one error (ErrInvalidToken); the detailed reason, available through
// [Reason], goes to the audit log only.
package authn
