// Package totp is the second factor of a login: RFC 6238 time-based
// one-time passwords (SHA-1, SHA-256 or SHA-512; 6 or 8 digits) on
// github.com/pquerna/otp, with replay protection (a compare-and-swap on
// the last used time step), a failure limit per account, and hashed
// single-use recovery codes.
//
// A [Verifier] enrols accounts ([Verifier.Enroll]) and checks their codes
// ([Verifier.Verify], [Verifier.VerifyRecoveryCode]). Its [Store] and
// [RecoveryStore] are in memory ([NewMemoryStore], one process) or in Redis
// ([NewRedisStore], shared); while Redis is down the checks fail closed
// with authn.ErrUnavailable (503), since neither replay protection nor the
// attempt limit could be kept.
package totp
