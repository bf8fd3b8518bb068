package session

import (
	"context"
	"slices"
	"time"

	"github.com/covetgo/covet/errs"
)

// Info describes one live session of a user, as UserSessions lists them.
type Info struct {
	// Handle identifies the session for DestroyUserSession; it equals
	// Session.Handle of that session and cannot be used as a session ID.
	Handle string
	// Created is when the session started.
	Created time.Time
	// LastSeen is the last recorded activity (touches are throttled, so it
	// may lag by up to the touch interval).
	LastSeen time.Time
	// Expires is the absolute deadline.
	Expires time.Time
}

// UserSessions lists the live sessions of userID, most recently used
// first: for a "where you're logged in" page. A Stateless manager keeps no
// list and returns an error.
func (m *Manager) UserSessions(ctx context.Context, userID string) ([]Info, error) {
	if m.store == nil {
		return nil, errStateless
	}
	entries, err := m.store.UserSessions(ctx, userID)
	if err != nil {
		return nil, storeErr(err)
	}
	now := m.now()
	out := make([]Info, 0, len(entries))
	for _, e := range entries {
		rec := e.Record
		if rec.UserID != userID || !rec.GraceUntil.IsZero() || m.expired(&rec, now) {
			continue
		}
		out = append(out, Info{Handle: e.Key.String(), Created: rec.Created, LastSeen: rec.LastSeen, Expires: rec.Expires})
	}
	slices.SortFunc(out, func(a, b Info) int { return b.LastSeen.Compare(a.LastSeen) })
	return out, nil
}

var errStateless = errs.New(errs.KindInternal, "session_stateless", "session: a stateless (cookie-store) manager keeps no list of sessions")

// DestroyUser ends every session of userID ("log out everywhere"; also
// what to call after a password or second-factor change) and reports how
// many server-side sessions it removed. With a Stateless manager it bumps
// the user's version instead, which revokes every cookie issued before
// (the count is then 0); that needs CookieStoreOptions.Versions.
func (m *Manager) DestroyUser(ctx context.Context, userID string) (int, error) {
	if userID == "" {
		return 0, errs.New(errs.KindBadRequest, "session_user_missing", "session: DestroyUser needs a user ID")
	}
	if m.stateless != nil {
		if m.stateless.versions == nil {
			return 0, errs.New(errs.KindInternal, "session_no_versions", "session: revoking stateless sessions needs CookieStoreOptions.Versions")
		}
		_, err := m.stateless.versions.BumpUserVersion(ctx, userID)
		return 0, storeErr(err)
	}
	n, err := m.store.DeleteUser(ctx, userID)
	if err != nil {
		return 0, storeErr(err)
	}
	errs.Audit(ctx, "session.destroy_user", slogString("user_id", userID), slogInt("sessions", n))
	return n, nil
}

// DestroyUserSession ends the one session of userID identified by handle
// (from UserSessions). A handle of another user's session is not found.
func (m *Manager) DestroyUserSession(ctx context.Context, userID, handle string) error {
	if m.store == nil {
		return errStateless
	}
	key, err := ParseKey(handle)
	if err != nil {
		return errSessionNotFound
	}
	rec, err := m.store.Load(ctx, key)
	if err != nil {
		if err == ErrNotFound { //nolint:errorlint // stores return the sentinel itself
			return errSessionNotFound
		}
		return storeErr(err)
	}
	if rec.UserID != userID {
		return errSessionNotFound
	}
	return storeErr(m.store.Delete(ctx, key))
}

var errSessionNotFound = errs.New(errs.KindNotFound, "session_not_found", "No such session.")
