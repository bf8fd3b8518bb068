// Package issuer mints the tokens of an application that is its own
// authorization server: short-lived access tokens signed with keys that
// rotate on a schedule (EdDSA or ES256), a JWKS document and handler for
// them, and refresh tokens that rotate on every use.
//
// A refresh token belongs to a family (one login). Reusing a rotated token
// revokes the whole family, except within a short reuse interval
// (Options.RefreshReuseGrace) in which a client that lost the answer gets
// the same successor again. Each refresh re-reads the subject's grant
// through Options.Reload, and a disabled subject is refused.
// [Issuer.Logout], [Issuer.RevokeLogin] and [Issuer.RevokeSubject] end
// logins server-side through a [RevocationStore], which the issuer's
// verifier ([Issuer.Verifier], an authn.Verifier) asks on every request.
// Access tokens carry their login as "sid" ([LoginID]): when a login ends
// (logout, RevokeLogin, Revoke, a reused refresh token, a subject
// Options.Reload refuses) the store revokes every access token of it, on
// every device, cached verifications included, in the same store lookup
// as the other revocations.
//
// Stores are in memory ([NewMemoryRefreshStore], [NewMemoryRevocations])
// or in Redis ([NewRedisRefreshStore], [NewRedisRevocations], each taking
// a redis.UniversalClient and authn.RedisOptions). While Redis is down the
// refresh store and the revocation list fail closed with 503
// (authn.ErrUnavailable); nobody is logged out by an outage.
package issuer
