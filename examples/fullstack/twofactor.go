package main

import (
	"net/http"

	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/validate"
)

// Turning two-factor authentication on or off changes how the account is
// protected, so both ask for the current password again: a stolen access
// token or an unattended session alone can neither swap the second factor
// for the attacker's nor remove it.

var errReauth = errs.New(errs.KindAuthorization, "password_confirmation_failed", "Confirm this change with your current password.")

// passwordBody is the re-authentication of a sensitive account change.
type passwordBody struct {
	Password string `json:"password" validate:"required,max=1024"`
}

// confirmPassword checks the caller's current password. Failures count
// against the account's login budget, so this endpoint is no faster way to
// guess the password than logging in.
func (a *app) confirmPassword(w http.ResponseWriter, r *http.Request, u *User) error {
	in, err := validate.JSON[passwordBody](a.validator, w, r)
	if err != nil {
		return err
	}
	return a.checkCurrentPassword(r, u, in.Password, errReauth)
}

// checkCurrentPassword checks u's current password before a sensitive
// change, charging a wrong one to the same budgets as failed logins, so a
// stolen token or session cannot be used to guess it. A wrong password is
// answered with wrong.
func (a *app) checkCurrentPassword(r *http.Request, u *User, password string, wrong error) error {
	key := "reauth:" + u.Subject()
	if retry, blocked, err := a.loginBlocked(r.Context(), r, key); err != nil {
		return err
	} else if blocked {
		return errLoginLimit.WithHeader("Retry-After", retry)
	}
	ok, err := a.passwords.Verify(r.Context(), u.PasswordHash, password)
	if err != nil {
		return err
	}
	if !ok {
		a.loginFailed(r.Context(), r, key)
		return wrong
	}
	return nil
}

// disableTOTP turns two-factor authentication off, after the password.
func (a *app) disableTOTP(w http.ResponseWriter, r *http.Request) error {
	u, err := a.currentUser(r.Context())
	if err != nil {
		return err
	}
	if err := a.confirmPassword(w, r, u); err != nil {
		return err
	}
	if err := a.store.setTOTP(r.Context(), u.ID, "", false); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]bool{"totp_enabled": false})
}
