package authn

import (
	"errors"

	"github.com/covetgo/covet/authn/principal"
	"github.com/covetgo/covet/errs"
)

// The errors this package's stage and verifiers return. They are *errs.Error
// values, so errs.Write renders them; test them with errors.Is.
var (
	// ErrNoCredentials: the request carries no credentials and the stage
	// requires them (401, code "unauthenticated"). It is
	// principal.ErrNoCredentials, which authz answers too.
	ErrNoCredentials = principal.ErrNoCredentials
	// ErrInvalidToken: a bearer token was presented and is not acceptable
	// (401, code "invalid_token"). Every reason looks the same to the caller.
	ErrInvalidToken = errs.New(errs.KindAuthentication, "invalid_token", "The access token is invalid.")
	// ErrInvalidCredentials: an API key, session or password was presented
	// and is not acceptable (401, code "invalid_credentials").
	ErrInvalidCredentials = errs.New(errs.KindAuthentication, "invalid_credentials", "The credentials are invalid.")
	// ErrInvalidRequest: the Authorization header is malformed or repeated
	// (400, code "invalid_request").
	ErrInvalidRequest = errs.New(errs.KindBadRequest, "invalid_request", "The Authorization header is malformed.")
	// ErrUnavailable: credentials could not be checked because a backing
	// service failed (503, code "authentication_unavailable", Retry-After
	// 1). It never means the credentials are bad: clients keep them and
	// retry.
	ErrUnavailable = errs.New(errs.KindServiceUnavailable, "authentication_unavailable", "Authentication is temporarily unavailable; retry after the number of seconds in the Retry-After header.").WithHeader("Retry-After", "1")
)

// ReasonError carries the detailed reason a credential was refused. It is
// the cause of the public error, which errs never shows for 4xx responses;
// Reason reads it back. The authenticators and stores of authn's
// subpackages build their refusals with it (see WithReason).
type ReasonError struct {
	// Reason is the code for logs and metrics ("expired", "unknown_kid").
	Reason string
	// Err is the underlying error, or nil.
	Err error
}

func (e *ReasonError) Error() string {
	if e.Err != nil {
		return e.Reason + ": " + e.Err.Error()
	}
	return e.Reason
}

// Unwrap returns the underlying error.
func (e *ReasonError) Unwrap() error { return e.Err }

// WithReason returns public with a cause carrying reason (and err, when not
// nil): the caller sees public, Reason and the audit log see reason.
func WithReason(public *errs.Error, reason string, err error) error {
	return public.WithCause(&ReasonError{Reason: reason, Err: err})
}

// fail is WithReason.
func fail(public *errs.Error, reason string, err error) error {
	return WithReason(public, reason, err)
}

// Reason returns the detailed reason code of an error returned by this
// package or its subpackages ("expired", "bad_signature", "unknown_kid",
// "reused", ...), or "" when err carries none. Reasons are for logs and
// metrics, not for clients.
func Reason(err error) string {
	var re *ReasonError
	if errors.As(err, &re) {
		return re.Reason
	}
	return ""
}

// BearerChallenge returns an RFC 6750 WWW-Authenticate challenge for the
// Bearer scheme; see principal.BearerChallenge.
func BearerChallenge(realm, code, description string, scope ...string) string {
	return principal.BearerChallenge(realm, code, description, scope...)
}
