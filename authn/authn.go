package authn

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/covetgo/covet/clientip"
	"github.com/covetgo/covet/errs"
)

// Authenticator finds and checks one kind of credential.
//
// Authenticate returns (nil, nil) when the request carries no credential of
// its kind, so the stage asks the next authenticator; a principal when the
// credential is valid; and an error when a credential is present but not
// acceptable (ErrInvalidToken, ErrInvalidCredentials, ErrInvalidRequest) or
// cannot be checked (ErrUnavailable). An error ends the request: a bad token
// never falls back to a weaker authenticator.
type Authenticator interface {
	Method() Method
	Authenticate(r *http.Request) (*Principal, error)
}

// Challenger is implemented by authenticators that have a WWW-Authenticate
// challenge. code is "" when no credentials were sent, otherwise the RFC 6750
// error code ("invalid_token", "invalid_request").
type Challenger interface {
	Challenge(realm, code string) string
}

// Options configure the authentication stage.
type Options struct {
	// Authenticators are asked in order; the first that finds a credential
	// decides. At least one is required.
	Authenticators []Authenticator
	// Optional lets requests without any credential through anonymously,
	// with no principal in the context, for the handler (or authz) to
	// decide. Invalid credentials are still refused. Zero: credentials are
	// required.
	Optional bool
	// Realm is the realm parameter of WWW-Authenticate challenges. Empty:
	// no realm parameter.
	Realm string
	// OnOutcome, when set, is called once per request with the method
	// that decided (empty when none found credentials) and the refusal
	// reason ("" for success, "no_credentials", "expired", ...), for
	// metrics. It must be fast and must not block.
	OnOutcome func(ctx context.Context, method Method, reason string)
}

// Stage is the authentication stage.
type Stage struct {
	auths    []Authenticator
	optional bool
	// Errors with their WWW-Authenticate headers, built at construction.
	noCreds  error
	invalid  []error // per authenticator: invalid token/credentials
	badReq   []error // per authenticator: malformed request
	realm    string
	anyChall bool
	observe  func(context.Context, Method, string)
}

// Authn is the former name of Stage.
//
// Deprecated: use Stage.
type Authn = Stage

// New validates opts and returns the stage.
func New(opts Options) (*Stage, error) {
	if len(opts.Authenticators) == 0 {
		return nil, errs.Configf("authn: Options.Authenticators is empty")
	}
	for i, a := range opts.Authenticators {
		if a == nil {
			return nil, errs.Configf("authn: Options.Authenticators[%d] is nil", i)
		}
	}
	if strings.ContainsAny(opts.Realm, "\"\\\r\n") {
		return nil, errs.Configf("authn: Options.Realm %q contains quotes, backslashes or line breaks", opts.Realm)
	}
	a := &Stage{
		auths:    append([]Authenticator(nil), opts.Authenticators...),
		optional: opts.Optional,
		realm:    opts.Realm,
		observe:  opts.OnOutcome,
		invalid:  make([]error, len(opts.Authenticators)),
		badReq:   make([]error, len(opts.Authenticators)),
	}
	var challenges []string
	for i, au := range a.auths {
		inv := ErrInvalidCredentials
		if au.Method() == MethodJWT || au.Method() == MethodIntrospection {
			inv = ErrInvalidToken
		}
		bad := ErrInvalidRequest
		if c, ok := au.(Challenger); ok {
			if ch := c.Challenge(a.realm, ""); ch != "" {
				challenges = append(challenges, ch)
			}
			if ch := c.Challenge(a.realm, "invalid_token"); ch != "" {
				inv = inv.WithHeader("WWW-Authenticate", ch)
			}
			if ch := c.Challenge(a.realm, "invalid_request"); ch != "" {
				bad = bad.WithHeader("WWW-Authenticate", ch)
			}
		}
		// Refusals are recorded by Authenticate with their reason, so
		// errs.Write does not record them a second time.
		a.invalid[i] = inv.WithAudited()
		a.badReq[i] = bad.WithAudited()
	}
	nc := ErrNoCredentials
	if len(challenges) > 0 {
		nc = nc.WithHeader("WWW-Authenticate", strings.Join(challenges, ", "))
		a.anyChall = true
	}
	a.noCreds = nc.WithAudited()
	return a, nil
}

// Handler is the stage: it authenticates the request and calls next with the
// principal in the context (see PrincipalFrom), or answers 401 (400 for a
// malformed Authorization header, 503 when a backing service is down).
func (a *Stage) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.Authenticate(r)
		if err != nil {
			errs.Write(w, r, err)
			return
		}
		if p != nil {
			r = r.WithContext(WithPrincipal(r.Context(), p))
		}
		next.ServeHTTP(w, r)
	})
}

// Authenticate runs the authenticators on r as Handler does and returns the
// principal (nil for an anonymous request when Optional is set) or the error
// Handler would write. It records the outcome with errs.Audit.
func (a *Stage) Authenticate(r *http.Request) (*Principal, error) {
	for i, au := range a.auths {
		p, err := au.Authenticate(r)
		if err != nil {
			return nil, a.refuse(r, i, au, err)
		}
		if p != nil {
			recordOutcome(r.Context(), p.Method, outcomeAuthenticated, "")
			if a.observe != nil {
				a.observe(r.Context(), p.Method, "")
			}
			if errs.RendererFrom(r.Context()).AuditEnabled() {
				errs.Audit(r.Context(), "authn.success",
					slog.String("method", string(p.Method)),
					slog.String("subject", p.Subject),
					slog.String("client_ip", clientIP(r)))
			}
			return p, nil
		}
	}
	if a.optional {
		recordOutcome(r.Context(), "", outcomeAnonymous, "")
		if a.observe != nil {
			a.observe(r.Context(), "", "anonymous")
		}
		return nil, nil
	}
	recordOutcome(r.Context(), "", outcomeRefused, "no_credentials")
	if a.observe != nil {
		a.observe(r.Context(), "", "no_credentials")
	}
	if errs.RendererFrom(r.Context()).AuditEnabled() {
		errs.Audit(r.Context(), "authn.failure",
			slog.String("reason", "no_credentials"),
			slog.String("client_ip", clientIP(r)))
	}
	return nil, a.noCreds
}

// refuse maps an authenticator's error to the public error with the right
// challenge and audits it.
func (a *Stage) refuse(r *http.Request, i int, au Authenticator, err error) error {
	reason := Reason(err)
	if reason == "" {
		reason = errs.From(err).Code()
	}
	outcome := outcomeRefused
	if errors.Is(err, errs.KindServiceUnavailable) {
		outcome = outcomeUnavailable
	}
	recordOutcome(r.Context(), au.Method(), outcome, reason)
	if a.observe != nil {
		a.observe(r.Context(), au.Method(), reason)
	}
	if errs.RendererFrom(r.Context()).AuditEnabled() {
		errs.Audit(r.Context(), "authn.failure",
			slog.String("method", string(au.Method())),
			slog.String("reason", reason),
			slog.String("client_ip", clientIP(r)))
	}
	var pub *errs.Error
	switch {
	case errors.Is(err, ErrInvalidRequest):
		pub = errs.From(a.badReq[i])
	case errors.Is(err, ErrInvalidToken), errors.Is(err, ErrInvalidCredentials):
		pub = errs.From(a.invalid[i])
	default:
		if e, ok := err.(*errs.Error); ok {
			return e.WithAudited()
		}
		return err
	}
	// Keep the reason as the cause for server-side logs.
	return pub.WithCause(err)
}

func clientIP(r *http.Request) string {
	if ip := clientip.FromRequest(r); ip.IsValid() {
		return ip.String()
	}
	return ""
}

// Session returns an authenticator that asks the application for the
// principal of the request's session. lookup returns (nil, nil) when the
// request has no session, a principal for a valid one, and an error
// (for example ErrInvalidCredentials, or a store failure, which becomes a
// 503) otherwise. The principal's Method is set to MethodSession when empty.
// This keeps authn independent of any session store: wrap the session
// package (or any other) in lookup.
func Session(lookup func(r *http.Request) (*Principal, error)) Authenticator {
	return sessionAuth(lookup)
}

type sessionAuth func(r *http.Request) (*Principal, error)

func (sessionAuth) Method() Method { return MethodSession }

func (s sessionAuth) Authenticate(r *http.Request) (*Principal, error) {
	if s == nil {
		return nil, nil
	}
	p, err := s(r)
	if err != nil {
		var e *errs.Error
		if errors.As(err, &e) {
			return nil, err
		}
		return nil, ErrUnavailable.WithCause(err)
	}
	if p != nil && p.Method == "" {
		c := *p
		c.Method = MethodSession
		p = &c
	}
	return p, nil
}
