package issuer

import (
	"context"
	"sync"
	"time"

	"github.com/covetgo/covet/authn"
	"github.com/covetgo/covet/authn/jwt"
	"github.com/covetgo/covet/errs"
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
//
// It holds at most MaxEntries entries (MemoryRevocationsOptions): one per
// subject it knows, one per revoked token and one per revoked login. A
// revocation that would exceed the bound is never refused and never
// forgotten: a refused logout would leave a stolen token working, which is
// worse than asking users to sign in again. The list first drops what has
// expired; when everything is still live, it keeps the revocation in a
// coarser form that takes no new entry and revokes at least as much:
//
//   - for a subject it already knows, the subject's cut-off moves to now
//     (every token and every login of that subject made before now ends,
//     and its revoked tokens and logins need no entries of their own);
//   - for a subject it does not know, the subject holding the most entries
//     (an account that logs in and out in a loop, say) gives way: its
//     cut-off moves to now, which frees its entries; if that is not room
//     enough, the cut-off of every subject with revoked tokens or logins
//     moves to now;
//   - only when every subject holds a single entry does a cut-off for
//     every subject move to now, dropping the entries it covers: every user
//     signs in again, and the list is nearly empty.
//
// Either way memory stays bounded and nothing revoked comes back. The cost
// falls on the subject whose revocation met the full list, on the one
// that filled it, or on the subjects with revocations in it, and on
// everyone only when the list is full of subjects' cut-offs. The list's clock
// (NewMemoryRevocationsWith's Now) must be the Issuer's, since those
// cut-offs are set at its now.
type MemoryRevocations struct {
	mu       sync.RWMutex
	subjects map[string]*memRevoked
	n        int // subjects plus their revoked tokens and logins
	max      int
	// allBefore is the cut-off for every subject, kept until allKeep.
	allBefore, allKeep time.Time
	lastScan           time.Time
	sweeps             int // sweeps done, for tests
	now                func() time.Time
}

type memRevoked struct {
	before, keep time.Time
	jtis         map[string]time.Time // jti → until
	sids         map[string]time.Time // login → until
}

// MemoryRevocationsOptions configures a MemoryRevocations.
type MemoryRevocationsOptions struct {
	// MaxEntries is how many entries the list holds at most. Zero means
	// DefaultRevocationsMaxEntries; a negative value is a configuration
	// error.
	MaxEntries int
	// Now is the list's clock. Nil: time.Now.
	Now func() time.Time
}

// DefaultRevocationsMaxEntries is the default
// MemoryRevocationsOptions.MaxEntries: three entries (the subject, the
// access token and the login that a logout revokes) for each of the
// DefaultRefreshMaxEntries logins a MemoryRefreshStore holds, so logins
// that store accepted never push the list into its coarser form. An entry
// costs about a hundred bytes, so the default is tens of megabytes.
const DefaultRevocationsMaxEntries = 3 * DefaultRefreshMaxEntries

// NewMemoryRevocations returns an empty list with the default bound. now
// may be nil (time.Now).
func NewMemoryRevocations(now func() time.Time) *MemoryRevocations {
	m, _ := NewMemoryRevocationsWith(MemoryRevocationsOptions{Now: now})
	return m
}

// NewMemoryRevocationsWith returns an empty list, or a configuration error
// for invalid options (a negative MaxEntries).
func NewMemoryRevocationsWith(o MemoryRevocationsOptions) (*MemoryRevocations, error) {
	if o.MaxEntries < 0 {
		return nil, errs.Configf("authn: MemoryRevocationsOptions.MaxEntries must not be negative")
	}
	if o.MaxEntries == 0 {
		o.MaxEntries = DefaultRevocationsMaxEntries
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &MemoryRevocations{subjects: map[string]*memRevoked{}, max: o.MaxEntries, now: o.Now}, nil
}

// Revoked implements RevocationList.
func (m *MemoryRevocations) Revoked(_ context.Context, c *authn.Claims) (bool, error) {
	var iat time.Time
	if c.IssuedAt != nil {
		iat = c.IssuedAt.Time
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.everyone() && revokedByCutoff(iat, m.allBefore, c.IssuedAt != nil) {
		return true, nil
	}
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
	return revokedByCutoff(iat, r.before, c.IssuedAt != nil), nil
}

// everyone reports whether the cut-off for every subject is in force;
// m.mu is held.
func (m *MemoryRevocations) everyone() bool {
	return !m.allBefore.IsZero() && m.now().Before(m.allKeep)
}

// cutoffNow is a cut-off that catches every token issued up to now, at
// the one-second precision of "iat".
func cutoffNow(now time.Time) time.Time { return now.Truncate(time.Second).Add(time.Second) }

// entry returns subject's record for a revocation that needs extra more
// entries, or nil when the revocation must take a coarser form: the list
// is full, and then the subject's cut-off or the cut-off for every
// subject has moved to now. m.mu is held.
func (m *MemoryRevocations) entry(subject string, extra int) *memRevoked {
	now := m.now()
	if now.Sub(m.lastScan) >= time.Minute {
		m.sweep(now)
	}
	r, ok := m.subjects[subject]
	fits := func() bool {
		if ok {
			return m.n+extra <= m.max
		}
		return m.n+extra+1 <= m.max
	}
	if !fits() && now.Sub(m.lastScan) >= time.Second {
		m.sweep(now)
		r, ok = m.subjects[subject]
	}
	if fits() {
		if !ok {
			r = &memRevoked{}
			m.subjects[subject] = r
			m.n++
		}
		return r
	}
	if ok {
		m.foldSubject(r, cutoffNow(now), time.Time{})
		return nil
	}
	// A new subject: the one that filled the list gives way first, so one
	// account cannot sign everyone out by filling it; then every subject
	// with revoked tokens or logins; everyone only as the last resort.
	if big := m.largest(); big != nil && big.entries() > 0 {
		m.foldSubject(big, cutoffNow(now), time.Time{})
	}
	if !fits() {
		for _, r := range m.subjects {
			if r.entries() > 0 {
				m.foldSubject(r, cutoffNow(now), time.Time{})
			}
		}
	}
	if fits() {
		r = &memRevoked{}
		m.subjects[subject] = r
		m.n++
		return r
	}
	m.foldAll(cutoffNow(now), time.Time{})
	return nil
}

// largest returns the subject holding the most revoked tokens and logins,
// nil when the list is empty; m.mu is held. It scans every subject, which
// only a full list does.
func (m *MemoryRevocations) largest() *memRevoked {
	var big *memRevoked
	for _, r := range m.subjects {
		if big == nil || r.entries() > big.entries() {
			big = r
		}
	}
	return big
}

// entries counts r's revoked tokens and logins.
func (r *memRevoked) entries() int { return len(r.jtis) + len(r.sids) }

// foldSubject moves r's cut-off to at least before and drops the tokens
// and logins it now covers (all of them: each was revoked before now),
// keeping the cut-off as long as any of them; m.mu is held.
func (m *MemoryRevocations) foldSubject(r *memRevoked, before, keep time.Time) {
	for _, set := range []map[string]time.Time{r.jtis, r.sids} {
		for _, until := range set {
			keep = later(keep, until)
		}
		m.n -= len(set)
	}
	r.jtis, r.sids = nil, nil
	r.before, r.keep = later(r.before, before), later(r.keep, keep)
}

// foldAll moves the cut-off for every subject to at least before and drops
// what it covers; m.mu is held.
func (m *MemoryRevocations) foldAll(before, keep time.Time) {
	for s, r := range m.subjects {
		for _, set := range []map[string]time.Time{r.jtis, r.sids} {
			for _, until := range set {
				keep = later(keep, until)
			}
			m.n -= len(set)
		}
		r.jtis, r.sids = nil, nil
		if !r.before.After(before) {
			keep = later(keep, r.keep)
			delete(m.subjects, s)
			m.n--
		}
	}
	m.allBefore, m.allKeep = later(m.allBefore, before), later(m.allKeep, keep)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// sweep drops what has expired; m.mu is held.
func (m *MemoryRevocations) sweep(now time.Time) {
	m.sweeps++
	m.lastScan = now
	if !now.Before(m.allKeep) {
		m.allBefore, m.allKeep = time.Time{}, time.Time{}
	}
	n := 0
	for s, r := range m.subjects {
		for _, set := range []map[string]time.Time{r.jtis, r.sids} {
			for k, until := range set {
				if !now.Before(until) {
					delete(set, k)
				}
			}
			n += len(set)
		}
		if !now.Before(r.keep) {
			r.before, r.keep = time.Time{}, time.Time{}
		}
		if len(r.jtis) == 0 && len(r.sids) == 0 && r.before.IsZero() {
			delete(m.subjects, s)
		} else {
			n++
		}
	}
	m.n = n
}

// RevokeToken implements RevocationStore.
func (m *MemoryRevocations) RevokeToken(_ context.Context, subject, jti string, exp time.Time) error {
	if jti == "" {
		return nil
	}
	until := exp.Add(RevocationMargin)
	m.mu.Lock()
	defer m.mu.Unlock()
	if r := m.subjects[subject]; r != nil {
		if old, ok := r.jtis[jti]; ok {
			r.jtis[jti] = later(old, until)
			return nil
		}
	}
	r := m.entry(subject, 1)
	if r == nil {
		m.keepCoarse(subject, until)
		return nil
	}
	if r.jtis == nil {
		r.jtis = map[string]time.Time{}
	}
	r.jtis[jti] = until
	m.n++
	return nil
}

// keepCoarse makes the coarse form that now holds a revocation of
// subject's last at least until until; m.mu is held.
func (m *MemoryRevocations) keepCoarse(subject string, until time.Time) {
	if r := m.subjects[subject]; r != nil && !r.before.Before(m.allBefore) {
		r.keep = later(r.keep, until)
		return
	}
	m.allKeep = later(m.allKeep, until)
}

// RevokeLogin implements RevocationStore.
func (m *MemoryRevocations) RevokeLogin(_ context.Context, subject, loginID string, keepUntil time.Time) error {
	if loginID == "" {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if r := m.subjects[subject]; r != nil {
		if old, ok := r.sids[loginID]; ok {
			r.sids[loginID] = later(old, keepUntil)
			return nil
		}
	}
	r := m.entry(subject, 1)
	if r == nil {
		m.keepCoarse(subject, keepUntil)
		return nil
	}
	if r.sids == nil {
		r.sids = map[string]time.Time{}
	}
	r.sids[loginID] = keepUntil
	m.n++
	return nil
}

// RevokeSubject implements RevocationStore.
func (m *MemoryRevocations) RevokeSubject(_ context.Context, subject string, before, keepUntil time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.entry(subject, 0)
	if r == nil {
		// Every subject's cut-off is now; a later one of this subject
		// still needs its entry, which folding made room for.
		if !before.After(m.allBefore) {
			m.allKeep = later(m.allKeep, keepUntil)
			return nil
		}
		if r = m.subjects[subject]; r == nil {
			if m.n >= m.max {
				m.foldAll(before, keepUntil)
				return nil
			}
			r = &memRevoked{}
			m.subjects[subject] = r
			m.n++
		}
	}
	r.before, r.keep = later(r.before, before), later(r.keep, keepUntil)
	return nil
}

// RevokedBefore implements RevocationStore.
func (m *MemoryRevocations) RevokedBefore(_ context.Context, subject string) (time.Time, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var before time.Time
	if m.everyone() {
		before = m.allBefore
	}
	if r, ok := m.subjects[subject]; ok {
		before = later(before, r.before)
	}
	return before, nil
}
