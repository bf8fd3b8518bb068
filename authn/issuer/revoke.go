package issuer

import (
	"context"
	"sync"
	"time"

	"github.com/covetgo/covet/authn"
	"github.com/covetgo/covet/authn/jwt"
)

// RevocationStore revokes access tokens before they expire: one token by
// its "jti", every token of one login by its "sid" (a login ended by
// Logout, RevokeLogin, Revoke or refresh-token reuse), or every token of a
// subject issued before a time (a password change, a disabled account,
// "log out everywhere"). It is a
// RevocationList, so a Verifier consults it on every request, cached tokens
// included; give it to Options.Revocations and the Issuer's verifiers
// and refreshes use it too.
//
// Times are compared at the one-second precision of the "iat" claim: a
// token issued in the same second as the cut-off stays valid, so a login
// made right after a revocation is not caught by it.
type RevocationStore interface {
	jwt.RevocationList
	// RevokeToken revokes the token of subject with the given jti, whose
	// expiry is exp. The store keeps the revocation for the longest
	// verifier leeway past exp (RevocationMargin): a Verifier with Leeway
	// still takes the token that long.
	RevokeToken(ctx context.Context, subject, jti string, exp time.Time) error
	// RevokeLogin revokes every token of subject whose "sid" is loginID,
	// issued before or after the call, remembering it until keepUntil
	// (when the last token the login may hold has expired).
	RevokeLogin(ctx context.Context, subject, loginID string, keepUntil time.Time) error
	// RevokeSubject revokes every token of subject issued before before,
	// remembering the cut-off until keepUntil (the end of the longest-lived
	// credential it must catch). A later cut-off replaces an earlier one;
	// an earlier one is ignored.
	RevokeSubject(ctx context.Context, subject string, before, keepUntil time.Time) error
	// RevokedBefore returns subject's cut-off (zero when none).
	RevokedBefore(ctx context.Context, subject string) (time.Time, error)
}

// RevocationMargin is how long past the expiry of the last access token it
// may catch a revocation is kept: the longest Leeway a Verifier accepts
// (5 minutes, during which it still takes an expired token), and a minute
// of clock skew between instances.
const RevocationMargin = 6 * time.Minute

// revokedByCutoff reports whether a token issued at iat falls before the
// cut-off (both at one-second precision). A token without iat cannot show
// it is newer, so any cut-off revokes it.
func revokedByCutoff(iat, cutoff time.Time, hasIAT bool) bool {
	if cutoff.IsZero() {
		return false
	}
	if !hasIAT {
		return true
	}
	return iat.Unix() < cutoff.Unix()
}

// MemoryRevocations is an in-process RevocationStore: a map lookup per
// check. It cannot be unavailable, and only this process sees it; use
// RedisRevocations when several instances verify tokens.
type MemoryRevocations struct {
	mu       sync.RWMutex
	subjects map[string]*memRevoked
	lastScan time.Time
	now      func() time.Time
}

type memRevoked struct {
	before, keep time.Time
	jtis         map[string]time.Time // jti → until
	sids         map[string]time.Time // login → until
}

// NewMemoryRevocations returns an empty list. now may be nil (time.Now).
func NewMemoryRevocations(now func() time.Time) *MemoryRevocations {
	if now == nil {
		now = time.Now
	}
	return &MemoryRevocations{subjects: map[string]*memRevoked{}, now: now}
}

// Revoked implements RevocationList.
func (m *MemoryRevocations) Revoked(_ context.Context, c *authn.Claims) (bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	r, ok := m.subjects[c.Subject]
	if !ok {
		return false, nil
	}
	if c.ID != "" {
		if _, ok := r.jtis[c.ID]; ok {
			return true, nil
		}
	}
	if c.SessionID != "" {
		if _, ok := r.sids[c.SessionID]; ok {
			return true, nil
		}
	}
	var iat time.Time
	if c.IssuedAt != nil {
		iat = c.IssuedAt.Time
	}
	return revokedByCutoff(iat, r.before, c.IssuedAt != nil), nil
}

// entry returns subject's record, creating it; m.mu is held.
func (m *MemoryRevocations) entry(subject string) *memRevoked {
	m.sweep()
	r, ok := m.subjects[subject]
	if !ok {
		r = &memRevoked{}
		m.subjects[subject] = r
	}
	return r
}

// sweep drops what has expired, at most once a minute; m.mu is held.
func (m *MemoryRevocations) sweep() {
	now := m.now()
	if now.Sub(m.lastScan) < time.Minute {
		return
	}
	m.lastScan = now
	for s, r := range m.subjects {
		for _, set := range []map[string]time.Time{r.jtis, r.sids} {
			for k, until := range set {
				if !now.Before(until) {
					delete(set, k)
				}
			}
		}
		if !now.Before(r.keep) {
			r.before, r.keep = time.Time{}, time.Time{}
		}
		if len(r.jtis) == 0 && len(r.sids) == 0 && r.before.IsZero() {
			delete(m.subjects, s)
		}
	}
}

// RevokeToken implements RevocationStore.
func (m *MemoryRevocations) RevokeToken(_ context.Context, subject, jti string, exp time.Time) error {
	if jti == "" {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.entry(subject)
	if r.jtis == nil {
		r.jtis = map[string]time.Time{}
	}
	r.jtis[jti] = exp.Add(RevocationMargin)
	return nil
}

// RevokeLogin implements RevocationStore.
func (m *MemoryRevocations) RevokeLogin(_ context.Context, subject, loginID string, keepUntil time.Time) error {
	if loginID == "" {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.entry(subject)
	if r.sids == nil {
		r.sids = map[string]time.Time{}
	}
	if keepUntil.After(r.sids[loginID]) {
		r.sids[loginID] = keepUntil
	}
	return nil
}

// RevokeSubject implements RevocationStore.
func (m *MemoryRevocations) RevokeSubject(_ context.Context, subject string, before, keepUntil time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.entry(subject)
	if before.After(r.before) {
		r.before = before
	}
	if keepUntil.After(r.keep) {
		r.keep = keepUntil
	}
	return nil
}

// RevokedBefore implements RevocationStore.
func (m *MemoryRevocations) RevokedBefore(_ context.Context, subject string) (time.Time, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if r, ok := m.subjects[subject]; ok {
		return r.before, nil
	}
	return time.Time{}, nil
}
