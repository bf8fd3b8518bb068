// Package jwt verifies JSON Web Tokens for authn's bearer authenticator,
// and fetches the keys to verify them with.
//
// A [Verifier] is safe by construction: algorithms, issuer, audience and
// expiry are required options; every [Key] is bound to one algorithm (kid →
// key → alg, so alg "none", an HS256 token signed with an RSA public key
// and a kid pointing at another key type all fail); jku, x5u and jwk
// headers are ignored; crit headers, repeated header members and claims
// (in any letter case), string dates and non-canonical base64 are refused;
// tokens over [MaxTokenSize] are refused before any decoding; leeway is
// explicit and capped at 5 minutes; Type "at+jwt" enforces RFC 9068. The
// header and payload are read by a strict scanner of this package, the
// signature by github.com/golang-jwt/jwt/v5's signing methods and the
// registered claims by its validator. Callers see one error
// (authn.ErrInvalidToken); the reason ("expired", "bad_audience",
// "unknown_kid", ...) is for logs and metrics (authn.Reason). An optional
// verified-token cache skips signature checks for repeated tokens, and a
// [RevocationList] is still asked on every request.
//
// Keys come from a [StaticKeys] set or a [JWKS]: fetched over HTTPS from
// allowed hosts, body capped, refreshed in the background within clamped
// lifetimes, stale keys kept while the provider is down, and an unknown kid
// refreshing at most once per interval through one shared fetch.
//
// Use it with the stage: authn.New(authn.Options{Authenticators:
// []authn.Authenticator{authn.Bearer(verifier)}}).
package jwt
