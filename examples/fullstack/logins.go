package main

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/covetgo/covet/authn"
	"github.com/covetgo/covet/authn/issuer"
	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/session"
	"github.com/covetgo/covet/validate"
)

// How a login ends: logout revokes the refresh family (server-side, found
// through the access token's "sid" or the login ID kept in the session),
// the access token (through the revocation list, which every verification
// consults, cached ones included) and the session; a password change
// revokes every login of the user made before it, then starts a fresh one
// for the client that changed it. A store that cannot be reached is a 503
// with Retry-After, never a 401: the client keeps its tokens and retries.

var (
	errBadRefresh  = errs.New(errs.KindAuthentication, "invalid_refresh_token", "The refresh token is invalid, expired or revoked.")
	errBadPassword = errs.New(errs.KindAuthentication, "invalid_password", "The current password is wrong.")
	errLoginEnded  = errs.New(errs.KindAuthentication, "login_revoked", "This login has ended; log in again.")
)

type logoutBody struct {
	RefreshToken string `json:"refresh_token" validate:"omitempty,max=512"`
}

type passwordChangeBody struct {
	CurrentPassword string `json:"current_password" validate:"required,max=1024"`
	NewPassword     string `json:"new_password" validate:"required,min=12,max=1024"`
}

// Session keys of a login.
const (
	sessionLoginID = "login_id" // the refresh family, to revoke at logout
	sessionLoginAt = "login_at" // Unix seconds, checked against revocations
)

// startSessionLogin records a login in the session.
func startSessionLogin(s *session.Session, u *User, loginID string) {
	s.SetUserID(u.Subject())
	s.Set("roles", []string{u.Role})
	s.Set(sessionLoginID, loginID)
	s.Set(sessionLoginAt, time.Now().Unix())
}

// sessionLoginRevoked refuses a session whose login is older than the
// user's revocation cut-off (a password change elsewhere).
func (a *app) sessionLoginRevoked(ctx context.Context, s *session.Session) error {
	before, err := a.revocations.RevokedBefore(ctx, s.UserID())
	if err != nil {
		return authn.ErrUnavailable.WithCause(err)
	}
	if before.IsZero() {
		return nil
	}
	at, _ := session.Get[int64](s, sessionLoginAt)
	if at < before.Unix() {
		return errLoginEnded
	}
	return nil
}

// reloadGrant is the Issuer's Reload hook: each refresh carries the user's
// current role, and a user who is gone cannot refresh.
func (a *app) reloadGrant(ctx context.Context, g issuer.Grant) (issuer.Grant, error) {
	id, err := strconv.ParseInt(g.Subject, 10, 64)
	if err != nil {
		return issuer.Grant{}, issuer.ErrGrantRevoked
	}
	u, err := a.store.userByID(ctx, id)
	if errors.Is(err, errNoUser) {
		return issuer.Grant{}, issuer.ErrGrantRevoked
	}
	if err != nil {
		return issuer.Grant{}, err
	}
	g.Roles = []string{u.Role}
	return g, nil
}

func (a *app) refresh(w http.ResponseWriter, r *http.Request) error {
	in, err := validate.JSON[refreshBody](a.validator, w, r)
	if err != nil {
		return err
	}
	pair, err := a.issuer.Refresh(r.Context(), in.RefreshToken)
	if errors.Is(err, issuer.ErrInvalidGrant) {
		// A reused token has already revoked its family; the client is
		// told only that this token is no good.
		return errBadRefresh.WithCause(err)
	}
	if err != nil {
		return err // 503 with Retry-After: the token is still good
	}
	return writeJSON(w, http.StatusOK, pair)
}

// logout ends the caller's login, whichever credentials it shows: the
// refresh token in the body, the bearer access token, the session.
func (a *app) logout(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if r.ContentLength != 0 {
		in, err := validate.JSON[logoutBody](a.validator, w, r)
		if err != nil {
			return err
		}
		if in.RefreshToken != "" {
			if err := a.issuer.Revoke(ctx, in.RefreshToken); err != nil {
				return err
			}
		}
	}
	subject := ""
	if tok, ok, _ := authn.ParseBearer(r.Header); ok {
		p, err := a.verifier.Verify(ctx, tok)
		switch {
		case errors.Is(err, authn.ErrUnavailable):
			return err
		case err == nil:
			if err := a.issuer.Logout(ctx, p.Claims); err != nil {
				return err
			}
			subject = p.Subject
		}
		// An invalid or expired token has nothing left to revoke.
	}
	if s := session.From(r); s != nil && s.Err() == nil && s.UserID() != "" {
		if id, _ := session.Get[string](s, sessionLoginID); id != "" {
			if err := a.issuer.RevokeLogin(ctx, id); err != nil {
				return err
			}
		}
		subject = s.UserID()
	}
	if err := session.Destroy(r); err != nil && !errors.Is(err, session.ErrNoSession) {
		return err
	}
	if subject != "" && a.disconnectUser != nil {
		a.disconnectUser(ctx, subject)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// changePassword sets a new password after checking the current one,
// revokes every login of the user made until now (other devices, other
// sessions, their access and refresh tokens), and gives this client a
// fresh login.
func (a *app) changePassword(w http.ResponseWriter, r *http.Request) error {
	in, err := validate.JSON[passwordChangeBody](a.validator, w, r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	u, err := a.currentUser(ctx)
	if err != nil {
		return err
	}
	if err := a.checkCurrentPassword(r, u, in.CurrentPassword, errBadPassword); err != nil {
		return err
	}
	// Other logins end first: if the revocation store is down the request
	// fails with the password unchanged, and a retry can still prove the
	// current one. The reverse order could store the new password and leave
	// every other login alive.
	//
	// Revocation has the one-second precision of "iat": the cut-off is the
	// start of the next second, so logins made earlier in this one end too,
	// and the caller's new login is issued once that second has begun (a
	// wait of at most a second, on a rare request).
	cutoff := time.Now().Truncate(time.Second).Add(time.Second)
	if err := a.issuer.RevokeSubject(ctx, u.Subject(), cutoff); err != nil {
		return err
	}
	wait := time.NewTimer(time.Until(cutoff))
	select {
	case <-wait.C:
	case <-ctx.Done():
		wait.Stop()
		return ctx.Err()
	}
	if a.disconnectUser != nil {
		a.disconnectUser(ctx, u.Subject())
	}
	hash, err := a.passwords.Hash(ctx, in.NewPassword)
	if err != nil {
		return err
	}
	if err := a.store.setPasswordHash(ctx, u.ID, hash); err != nil {
		return err
	}
	pair, err := a.issuer.IssuePair(ctx, issuer.Grant{Subject: u.Subject(), Roles: []string{u.Role}})
	if err != nil {
		return err
	}
	if s := session.From(r); s != nil && s.Err() == nil && s.UserID() != "" {
		if err := session.Renew(r); err != nil {
			return err
		}
		startSessionLogin(session.From(r), u, pair.LoginID)
	}
	return writeJSON(w, http.StatusOK, pair)
}
