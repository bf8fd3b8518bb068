package issuer

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Grant is what a token says about its holder: the subject and what it may
// do. The Issuer puts it in access tokens and keeps it with refresh tokens.
type Grant struct {
	Subject  string   `json:"sub"`
	Roles    []string `json:"roles,omitempty"`
	Scopes   []string `json:"scopes,omitempty"`
	ClientID string   `json:"client_id,omitempty"`
}

// RefreshRecord is the stored state of one refresh token. Tokens of one
// login form a family: each use replaces the token with the next one of the
// same family.
type RefreshRecord struct {
	// Family identifies the login. It is part of every refresh token of
	// the login and the "sid" claim of its access tokens.
	Family string
	Grant  Grant
	// ExpiresAt is when this token stops working (sliding: each rotation
	// moves it, up to FamilyExpiresAt).
	ExpiresAt time.Time
	// FamilyExpiresAt is when the whole family ends, however often it is
	// refreshed; the store keeps used tokens until then to detect reuse.
	FamilyExpiresAt time.Time
	// AuthTime is when the login happened (the family's first token), at
	// millisecond precision.
	AuthTime time.Time
}

// Rotation is one exchange of a refresh token for its successor.
type Rotation struct {
	// Family is the family the presented token names; a token stored
	// under another family is unknown.
	Family string
	// Hash is the hash of the presented token, NextHash that of its
	// successor. The Issuer derives the successor from the presented
	// token, so presenting the same token again yields the same NextHash.
	Hash, NextHash string
	// Now is the time of the exchange; NextExpiresAt the successor's
	// expiry (the store caps it at the family's end).
	Now, NextExpiresAt time.Time
	// Grace is the reuse interval: a token presented again with the same
	// NextHash less than Grace after it was first used, while its
	// successor is unused, is answered with the stored successor instead
	// of counting as reuse. Once the successor has been used, the client
	// evidently got it, and the old token is reuse.
	Grace time.Duration
}

// Errors a RefreshStore returns from Rotate.
var (
	// ErrRefreshUnknown: no such token (never issued, expired, or gone).
	ErrRefreshUnknown = errors.New("authn: unknown refresh token")
	// ErrRefreshReused: the token had already been used. The store has
	// revoked its family: whoever holds the newer token loses it too.
	ErrRefreshReused = errors.New("authn: refresh token reused")
	// ErrRefreshRevoked: the token's family was revoked.
	ErrRefreshRevoked = errors.New("authn: refresh token revoked")
)

// RefreshStore keeps refresh tokens by the hash of the token (never the
// token). Every method must be atomic with respect to the others: two
// concurrent Rotate calls with one token and different successors must see
// one success and one ErrRefreshReused, and running one Rotate twice (a
// client library's retry after a timeout) must answer the same successor
// both times.
//
// A store also tells whose login it revoked (the subject of the family's
// Grant), so that the Issuer can revoke the login's access tokens through
// Options.Revocations; a store that cannot tell answers "" and those
// access tokens live until they expire.
type RefreshStore interface {
	// Create stores the first token of a new family.
	Create(ctx context.Context, hash string, rec RefreshRecord) error
	// Rotate consumes the token r.Hash and stores its successor r.NextHash
	// in the same family, and returns the successor's record. A token
	// expired at r.Now is ErrRefreshUnknown; one of a revoked family is
	// ErrRefreshRevoked; a used one is ErrRefreshReused (and the family is
	// revoked), except within r.Grace of its first use with the same
	// r.NextHash while the successor is unused, which returns the
	// successor's record again. With ErrRefreshRevoked and
	// ErrRefreshReused it returns the presented token's record (at least
	// its Grant), whose login has ended.
	Rotate(ctx context.Context, r Rotation) (RefreshRecord, error)
	// Revoke revokes family when the token hash belongs to it (logout
	// with a refresh token) and returns the login's subject. An unknown
	// token is not an error: it revokes nothing and returns "".
	Revoke(ctx context.Context, family, hash string) (subject string, err error)
	// RevokeFamily revokes family, whatever its tokens (server-side
	// logout), until at least until (the family's latest possible end),
	// and returns the login's subject ("" when the family is unknown).
	RevokeFamily(ctx context.Context, family string, until time.Time) (subject string, err error)
}

// MemoryRefreshStore is an in-process RefreshStore. While the process runs
// it cannot be unavailable; a restart forgets every login.
type MemoryRefreshStore struct {
	mu       sync.Mutex
	tokens   map[string]*memRefresh
	revoked  map[string]time.Time // family → until
	logins   map[string]memLogin  // family → its subject
	lastScan time.Time
}

type memLogin struct {
	subject string
	end     time.Time
}

type memRefresh struct {
	rec    RefreshRecord
	usedAt time.Time // zero while unused
	next   string    // the successor's hash once used
}

// NewMemoryRefreshStore returns an empty store.
func NewMemoryRefreshStore() *MemoryRefreshStore {
	return &MemoryRefreshStore{tokens: map[string]*memRefresh{}, revoked: map[string]time.Time{}, logins: map[string]memLogin{}}
}

// Create implements RefreshStore.
func (m *MemoryRefreshStore) Create(_ context.Context, hash string, rec RefreshRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(time.Now())
	m.tokens[hash] = &memRefresh{rec: rec}
	m.logins[rec.Family] = memLogin{rec.Grant.Subject, rec.FamilyExpiresAt}
	return nil
}

// sweep drops families past their end, at most once a minute.
func (m *MemoryRefreshStore) sweep(now time.Time) {
	if now.Sub(m.lastScan) < time.Minute {
		return
	}
	m.lastScan = now
	for h, t := range m.tokens {
		if !now.Before(t.rec.FamilyExpiresAt) {
			delete(m.tokens, h)
		}
	}
	for f, end := range m.revoked {
		if !now.Before(end) {
			delete(m.revoked, f)
		}
	}
	for f, l := range m.logins {
		if !now.Before(l.end) {
			delete(m.logins, f)
		}
	}
}

// Rotate implements RefreshStore.
func (m *MemoryRefreshStore) Rotate(_ context.Context, r Rotation) (RefreshRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.tokens[r.Hash]
	if !ok || t.rec.Family != r.Family || !r.Now.Before(t.rec.FamilyExpiresAt) {
		return RefreshRecord{}, ErrRefreshUnknown
	}
	if _, revoked := m.revoked[t.rec.Family]; revoked {
		return t.rec, ErrRefreshRevoked
	}
	if !t.usedAt.IsZero() {
		if t.next == r.NextHash && r.Now.Before(t.usedAt.Add(r.Grace)) {
			if n, ok := m.tokens[t.next]; ok && n.usedAt.IsZero() {
				return n.rec, nil
			}
		}
		m.revoked[t.rec.Family] = t.rec.FamilyExpiresAt
		return t.rec, ErrRefreshReused
	}
	if !r.Now.Before(t.rec.ExpiresAt) {
		return RefreshRecord{}, ErrRefreshUnknown
	}
	t.usedAt, t.next = r.Now, r.NextHash
	next := t.rec
	next.ExpiresAt = r.NextExpiresAt
	if next.FamilyExpiresAt.Before(next.ExpiresAt) {
		next.ExpiresAt = next.FamilyExpiresAt
	}
	m.tokens[r.NextHash] = &memRefresh{rec: next}
	return next, nil
}

// Revoke implements RefreshStore.
func (m *MemoryRefreshStore) Revoke(_ context.Context, family, hash string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.tokens[hash]
	if !ok || t.rec.Family != family {
		return "", nil
	}
	m.revoked[family] = t.rec.FamilyExpiresAt
	return t.rec.Grant.Subject, nil
}

// RevokeFamily implements RefreshStore.
func (m *MemoryRefreshStore) RevokeFamily(_ context.Context, family string, until time.Time) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.revoked[family]; !ok || old.Before(until) {
		m.revoked[family] = until
	}
	return m.logins[family].subject, nil
}
