package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/covetgo/covet/authn"
	"github.com/covetgo/covet/authn/issuer"
	"github.com/covetgo/covet/authn/jwt"
	pwhash "github.com/covetgo/covet/authn/password"
	"github.com/covetgo/covet/authn/totp"
	"github.com/covetgo/covet/authz"
	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/session"
	"github.com/covetgo/covet/validate"
)

const (
	tokenIssuer   = "covet-fullstack"
	tokenAudience = "covet-fullstack-api"
)

// policy is the app's RBAC: users manage their own notes (ownership is
// checked per note), admins inherit that and may touch everything.
var policy = authz.Policy{Roles: map[string]authz.Role{
	"user":  {Permissions: []string{"notes:read", "notes:write"}},
	"admin": {Inherits: []string{"user"}, Permissions: []string{"notes:*", "users:*"}},
}}

var (
	errBadLogin    = errs.New(errs.KindAuthentication, "invalid_credentials", "The email or the password is wrong.")
	errOTPRequired = errs.New(errs.KindAuthentication, "otp_required", "A valid one-time code is required for this account.")
	errNotEnrolled = errs.New(errs.KindConflict, "totp_not_enrolled", "Start two-factor enrolment first.")
	errLoginLimit  = errs.New(errs.KindRateLimit, "login_rate_limited", "Too many login attempts for this account; try again later.")
)

type registerBody struct {
	Email    string `json:"email" validate:"required,email,max=254"`
	Password string `json:"password" validate:"required,min=12,max=1024"`
	Name     string `json:"name" validate:"required,min=1,max=64"`
}

type loginBody struct {
	Email    string `json:"email" validate:"required,max=254"`
	Password string `json:"password" validate:"required,max=1024"`
	OTP      string `json:"otp" validate:"omitempty,max=32"`
}

type refreshBody struct {
	RefreshToken string `json:"refresh_token" validate:"required,max=512"`
}

type codeBody struct {
	Code string `json:"code" validate:"required,max=32"`
}

func (a *app) buildAuth(ctx context.Context) (err error) {
	if a.passwords, err = pwhash.New(pwhash.Options{}); err != nil {
		return err
	}
	if a.sealer, err = newSealer(deriveKey(a.cfg.SecretKey, "totp-secrets")); err != nil {
		return err
	}
	var refresh issuer.RefreshStore = issuer.NewMemoryRefreshStore()
	a.revocations = issuer.NewMemoryRevocations(nil)
	var store session.Store = session.NewMemoryStore(session.MemoryOptions{})
	if a.rdb != nil {
		if refresh, err = issuer.NewRedisRefreshStore(a.rdb, authn.RedisOptions{Prefix: a.cfg.RedisPrefix + "auth:"}); err != nil {
			return err
		}
		if a.revocations, err = issuer.NewRedisRevocations(a.rdb, authn.RedisOptions{Prefix: a.cfg.RedisPrefix + "auth:"}); err != nil {
			return err
		}
		if store, err = session.NewRedisStore(a.rdb, session.RedisOptions{Prefix: a.cfg.RedisPrefix + "session:"}); err != nil {
			return err
		}
	}
	if a.issuer, err = issuer.New(issuer.Options{
		Issuer: tokenIssuer, Audience: []string{tokenAudience}, Refresh: refresh,
		// A refresh carries the user's current role; a deleted user
		// cannot refresh. Logout and password changes revoke through
		// the revocation list, which every verification consults.
		Reload: a.reloadGrant, Revocations: a.revocations,
		// Every instance with the same COVET_SECRET_KEY signs with the same
		// keys on the same schedule, so tokens verify on all of them.
		KeySeed: deriveKey(a.cfg.SecretKey, "token-signing"),
	}); err != nil {
		return err
	}
	if a.verifier, err = a.issuer.Verifier(jwt.VerifierOptions{CacheSize: 10_000, Leeway: 30 * time.Second}); err != nil {
		return err
	}
	a.sessions, err = session.New(session.Options{
		Store:          store,
		HashKeys:       [][]byte{deriveKey(a.cfg.SecretKey, "session-cookie")},
		InsecureCookie: a.cfg.Mode == errs.Development, // plain HTTP on a laptop
		CSRF:           session.CSRFOptions{TrustedOrigins: a.cfg.CORSOrigins},
		Logger:         a.log,
	})
	if err != nil {
		return err
	}
	a.authn, err = authn.New(authn.Options{
		Realm:          "covet",
		Authenticators: []authn.Authenticator{authn.Bearer(a.verifier), authn.Session(a.sessionPrincipal)},
	})
	if err != nil {
		return err
	}
	// Failed codes are counted in Redis when there is one, so the attempt
	// limit holds across instances; the last used step lives in the users
	// table either way.
	var failures totp.Store = totp.NewMemoryStore(nil)
	if a.rdb != nil {
		if failures, err = totp.NewRedisStore(a.rdb, authn.RedisOptions{Prefix: a.cfg.RedisPrefix + "totp:"}); err != nil {
			return err
		}
	}
	a.totp, err = totp.New(totp.Options{Issuer: "Covet notes", Store: &totpStore{store: a.store, failures: failures}})
	if err != nil {
		return err
	}
	rbac, err := authz.NewRBAC(policy)
	if err != nil {
		return err
	}
	a.authz, err = authz.New(authz.Options{Decider: rbac, Realm: "covet"})
	return err
}

// sessionPrincipal is the session authenticator: the user and roles that
// login stored in the session.
func (a *app) sessionPrincipal(r *http.Request) (*authn.Principal, error) {
	s := session.From(r)
	if s == nil {
		return nil, nil
	}
	if err := s.Err(); err != nil {
		// session.ErrStoreUnavailable: a 503 with Retry-After, never a
		// 401 that would send a logged-in user to the login page.
		return nil, err
	}
	if s.UserID() == "" {
		return nil, nil
	}
	if err := a.sessionLoginRevoked(r.Context(), s); err != nil {
		return nil, err
	}
	roles, _ := session.Get[[]string](s, "roles")
	return &authn.Principal{Subject: s.UserID(), Roles: roles, Method: authn.MethodSession}, nil
}

func (a *app) register(w http.ResponseWriter, r *http.Request) error {
	in, err := validate.JSON[registerBody](a.validator, w, r)
	if err != nil {
		return err
	}
	hash, err := a.passwords.Hash(r.Context(), in.Password)
	if err != nil {
		return err
	}
	u := &User{Email: displayEmail(in.Email), EmailKey: canonicalEmail(in.Email), Name: in.Name, PasswordHash: hash, Role: "user"}
	if a.cfg.AdminEmail != "" && u.EmailKey == a.cfg.AdminEmail {
		u.Role = "admin"
	}
	if err := a.store.createUser(r.Context(), u); err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, u)
}

func (a *app) login(w http.ResponseWriter, r *http.Request) error {
	in, err := validate.JSON[loginBody](a.validator, w, r)
	if err != nil {
		return err
	}
	email := canonicalEmail(in.Email)
	if retry, blocked, err := a.loginBlocked(r.Context(), r, email); err != nil {
		return err
	} else if blocked {
		return errLoginLimit.WithHeader("Retry-After", retry)
	}
	u, err := a.store.userByEmail(r.Context(), email)
	if err != nil {
		return err
	}
	hash := ""
	if u != nil {
		hash = u.PasswordHash
	}
	// Verify even for unknown accounts (against a dummy hash), so the
	// response time does not tell which emails have accounts.
	ok, err := a.passwords.Verify(r.Context(), hash, in.Password)
	if err != nil {
		return err
	}
	if !ok || u == nil {
		a.loginFailed(r.Context(), r, email)
		return errBadLogin
	}
	if u.TOTPEnabled {
		if in.OTP == "" {
			return errOTPRequired
		}
		secret, err := a.sealer.open(u.TOTPSecret, u.Subject())
		if err != nil {
			return err
		}
		if _, err := a.totp.Verify(r.Context(), u.Subject(), secret, in.OTP); err != nil {
			if errors.Is(err, totp.ErrTooManyAttempts) {
				return err
			}
			a.loginFailed(r.Context(), r, email)
			return errOTPRequired.WithCause(err)
		}
	}
	if a.passwords.NeedsRehash(u.PasswordHash) {
		if h, err := a.passwords.Hash(r.Context(), in.Password); err == nil {
			_ = a.store.setPasswordHash(r.Context(), u.ID, h)
		}
	}
	// A fresh session ID at login: a session planted before it is useless.
	if err := session.Renew(r); err != nil {
		return err
	}
	pair, err := a.issuer.IssuePair(r.Context(), issuer.Grant{Subject: u.Subject(), Roles: []string{u.Role}})
	if err != nil {
		return err
	}
	startSessionLogin(session.From(r), u, pair.LoginID)
	return writeJSON(w, http.StatusOK, pair)
}

// currentUser loads the authenticated caller.
func (a *app) currentUser(ctx context.Context) (*User, error) {
	id, err := strconv.ParseInt(authn.SubjectFrom(ctx), 10, 64)
	if err != nil {
		return nil, authn.ErrNoCredentials
	}
	u, err := a.store.userByID(ctx, id)
	if errors.Is(err, errNoUser) {
		return nil, authn.ErrInvalidCredentials // the account is gone
	}
	return u, err
}

func (a *app) me(w http.ResponseWriter, r *http.Request) error {
	u, err := a.currentUser(r.Context())
	if err != nil {
		return err
	}
	p, _ := authn.PrincipalFrom(r.Context())
	return writeJSON(w, http.StatusOK, map[string]any{
		"id": u.ID, "email": u.Email, "name": u.Name, "roles": []string{u.Role},
		"totp_enabled": u.TOTPEnabled, "auth_method": p.Method,
	})
}

func (a *app) enrollTOTP(w http.ResponseWriter, r *http.Request) error {
	u, err := a.currentUser(r.Context())
	if err != nil {
		return err
	}
	if u.TOTPEnabled {
		return errs.New(errs.KindConflict, "totp_enabled", "Two-factor authentication is already on.")
	}
	if err := a.confirmPassword(w, r, u); err != nil {
		return err
	}
	e, err := a.totp.Enroll(u.Email)
	if err != nil {
		return err
	}
	if err := a.store.setTOTP(r.Context(), u.ID, a.sealer.seal(e.Secret, u.Subject()), false); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]string{"secret": e.Secret, "otpauth_url": e.URL})
}

func (a *app) verifyTOTP(w http.ResponseWriter, r *http.Request) error {
	in, err := validate.JSON[codeBody](a.validator, w, r)
	if err != nil {
		return err
	}
	u, err := a.currentUser(r.Context())
	if err != nil {
		return err
	}
	if u.TOTPSecret == "" {
		return errNotEnrolled
	}
	secret, err := a.sealer.open(u.TOTPSecret, u.Subject())
	if err != nil {
		return err
	}
	if _, err := a.totp.Verify(r.Context(), u.Subject(), secret, in.Code); err != nil {
		return err
	}
	if err := a.store.setTOTP(r.Context(), u.ID, u.TOTPSecret, true); err != nil {
		return err
	}
	// A privilege change: the session gets a new ID.
	if err := session.Renew(r); err != nil && !errors.Is(err, session.ErrNoSession) {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]bool{"totp_enabled": true})
}

// totpStore keeps the last accepted TOTP step in the users table (a
// compare-and-swap every instance sees) and counts failures in another
// store (Redis when configured, else memory).
type totpStore struct {
	store    *store
	failures totp.Store
}

func (t *totpStore) UseStep(ctx context.Context, account string, step int64) (bool, error) {
	id, err := strconv.ParseInt(account, 10, 64)
	if err != nil {
		return false, err
	}
	return t.store.useTOTPStep(ctx, id, step)
}

func (t *totpStore) AddFailure(ctx context.Context, account string, window time.Duration) (int, error) {
	return t.failures.AddFailure(ctx, account, window)
}

func (t *totpStore) Failures(ctx context.Context, account string, window time.Duration) (int, error) {
	return t.failures.Failures(ctx, account, window)
}

func (t *totpStore) ResetFailures(ctx context.Context, account string) error {
	return t.failures.ResetFailures(ctx, account)
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}
