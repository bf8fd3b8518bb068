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
//     rotating refresh tokens with reuse detection and a short reuse
//     interval for retries ([RefreshStore], in memory or in Redis). A
//     refresh re-reads the subject's roles and scopes through
//     IssuerOptions.Reload, and refuses a disabled subject.
//   - Revocation before expiry ([RevocationStore], in memory or in Redis):
//     one access token by "jti", or everything of a subject issued before a
//     time ([Issuer.RevokeSubject], for a password change); [Issuer.Logout]
//     and [Issuer.RevokeLogin] end a login server-side, refresh family
//     included, without the client's refresh token.
//   - [APIKeys]: prefixed API keys of which only a hash is stored.
//   - [Passwords]: Argon2id hashing in PHC strings, bcrypt verification for
//     legacy hashes, bounded concurrency.
//   - [TOTP]: RFC 6238 time-based one-time passwords (SHA-1, SHA-256 or
//     SHA-512; 6 or 8 digits) with replay protection and single-use
//     recovery codes.
//   - [OIDC] and [Introspector]: an OAuth2/OIDC login flow with PKCE, and
//     RFC 7662 token introspection for resource servers.
//
// Every success and failure is recorded with errs.Audit (event, method,
// reason code, client IP, request ID; never a secret). Callers of a verifier
// see one error (ErrInvalidToken); the detailed reason, available through
// [Reason], goes to the audit log only.
//
// # Shared stores and outages
//
// The Redis-backed stores ([RedisRefreshStore], [RedisRevocations],
// [RedisTOTPStore]) take a redis.UniversalClient (single node, Sentinel or
// Cluster) built with ContextTimeoutEnabled, bound every call with
// RedisOptions.Timeout (300 ms by default), and keep the keys of one script
// or transaction in one Cluster slot with hash tags (a refresh family, a
// subject, a TOTP account); no key is built inside Lua. While Redis is
// down or stalled:
//
//   - Refresh store: fails closed for the request. IssuePair and Refresh
//     answer 503 (ErrUnavailable, Retry-After) after the timeout; nobody is
//     logged out, and a rotation that ran without its answer reaching the
//     client is answered again with the same successor when the client
//     retries within IssuerOptions.RefreshReuseGrace.
//   - Revocation list: fails closed. Every request it must vouch for,
//     cached tokens included, answers 503; a revoked token is never let
//     through because the list could not be read.
//   - TOTP store: fails closed. Verify and VerifyRecoveryCode answer 503,
//     since neither replay protection nor the attempt limit could be kept.
//
// No store failure is ever reported as 401 or 403, so clients keep their
// credentials and retry. The in-memory stores cannot fail, but each
// process has its own and a restart empties them.
package authn
