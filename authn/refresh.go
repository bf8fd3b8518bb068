package authn

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
	Family string
	Grant  Grant
	// ExpiresAt is when this token stops working (sliding: each rotation
	// moves it, up to FamilyExpiresAt).
	ExpiresAt time.Time
	// FamilyExpiresAt is when the whole family ends, however often it is
	// refreshed; the store keeps used tokens until then to detect reuse.
	FamilyExpiresAt time.Time
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
// concurrent Rotate calls with one token must see one success and one
// ErrRefreshReused.
type RefreshStore interface {
	// Create stores the first token of a new family.
	Create(ctx context.Context, hash string, rec RefreshRecord) error
	// Rotate consumes the token hash and stores its successor nextHash in
	// the same family, expiring at the earlier of nextExpiresAt and the
	// family's end, and returns the successor's record. A token expired at
	// now is ErrRefreshUnknown; a used one is ErrRefreshReused (and the
	// family is revoked); one of a revoked family is ErrRefreshRevoked.
	Rotate(ctx context.Context, hash, nextHash string, now, nextExpiresAt time.Time) (RefreshRecord, error)
	// Revoke revokes the family of the token hash (logout). An unknown
	// token is not an error.
	Revoke(ctx context.Context, hash string) error
}

// MemoryRefreshStore is an in-process RefreshStore.
type MemoryRefreshStore struct {
	mu       sync.Mutex
	tokens   map[string]*memRefresh
	revoked  map[string]time.Time // family → family end
	lastScan time.Time
}

type memRefresh struct {
	rec  RefreshRecord
	used bool
}

// NewMemoryRefreshStore returns an empty store.
func NewMemoryRefreshStore() *MemoryRefreshStore {
	return &MemoryRefreshStore{tokens: map[string]*memRefresh{}, revoked: map[string]time.Time{}}
}

// Create implements RefreshStore.
func (m *MemoryRefreshStore) Create(_ context.Context, hash string, rec RefreshRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(time.Now())
	m.tokens[hash] = &memRefresh{rec: rec}
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
}

// Rotate implements RefreshStore.
func (m *MemoryRefreshStore) Rotate(_ context.Context, hash, nextHash string, now, nextExpiresAt time.Time) (RefreshRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.tokens[hash]
	if !ok || !now.Before(t.rec.FamilyExpiresAt) {
		return RefreshRecord{}, ErrRefreshUnknown
	}
	if _, revoked := m.revoked[t.rec.Family]; revoked {
		return RefreshRecord{}, ErrRefreshRevoked
	}
	if t.used {
		m.revoked[t.rec.Family] = t.rec.FamilyExpiresAt
		return RefreshRecord{}, ErrRefreshReused
	}
	if !now.Before(t.rec.ExpiresAt) {
		return RefreshRecord{}, ErrRefreshUnknown
	}
	t.used = true
	next := t.rec
	next.ExpiresAt = nextExpiresAt
	if next.FamilyExpiresAt.Before(next.ExpiresAt) {
		next.ExpiresAt = next.FamilyExpiresAt
	}
	m.tokens[nextHash] = &memRefresh{rec: next}
	return next, nil
}

// Revoke implements RefreshStore.
func (m *MemoryRefreshStore) Revoke(_ context.Context, hash string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t, ok := m.tokens[hash]; ok {
		m.revoked[t.rec.Family] = t.rec.FamilyExpiresAt
	}
	return nil
}
