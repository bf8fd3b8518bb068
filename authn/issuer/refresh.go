package issuer

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/covetgo/covet/errs"
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
//
// It holds at most MaxEntries refresh tokens (MemoryRefreshOptions): a
// login keeps one token per refresh until the login ends, to recognize
// a used one presented again. The logins and revoked logins it remembers
// are never more than its tokens: a revocation is kept while its login
// may still present a token, and one for a login the store does not hold
// is not stored (no token of it can come back). When a new login or a
// refresh would exceed the bound, the store first drops what has expired,
// then forgets used tokens, the longest used first: a login refreshing
// for months would otherwise fill the store with its history. A forgotten
// token presented again is refused as unknown instead of being caught as
// reuse; the tokens used last, the ones a thief racing the client
// presents, go last. When every token is unused it refuses with
// ErrRefreshStoreFull, which the Issuer answers with ErrUnavailable (503,
// Retry-After): the client keeps its refresh token and may try again, and
// the store takes new logins as soon as old ones end. It never evicts an
// unused token or a revocation: a login would end, or a revoked login work
// again. Revoking is never refused. Use the Redis store when logins
// outgrow one process.
type MemoryRefreshStore struct {
	now func() time.Time
	max int

	mu       sync.Mutex
	tokens   map[string]*memRefresh
	revoked  map[string]time.Time // family → until
	logins   map[string]memLogin  // family → its subject
	lastScan time.Time
	// earliest is at or before the end of every family held: until
	// then a sweep frees nothing.
	earliest time.Time
	// used lists the hashes of used tokens in the order they were used;
	// a full store forgets the oldest first (see room).
	used   []string
	sweeps int // sweeps done, for tests
}

// MemoryRefreshOptions configures a MemoryRefreshStore.
type MemoryRefreshOptions struct {
	// MaxEntries is how many refresh tokens the store holds at most.
	// Zero means DefaultRefreshMaxEntries; a negative value is a
	// configuration error.
	MaxEntries int
	// Now is the clock that expires logins when the store sweeps. Nil:
	// time.Now.
	Now func() time.Time
}

// DefaultRefreshMaxEntries is the default MemoryRefreshOptions.MaxEntries.
// A token costs a few hundred bytes, so the default is tens of megabytes:
// room for tens of thousands of logins in one process, while one client
// logging in as fast as it can fills it and then only gets 503s (refreshing
// as fast as it can only makes the store forget that login's history).
const DefaultRefreshMaxEntries = 100_000

// ErrRefreshStoreFull is the error a MemoryRefreshStore returns when it
// holds MaxEntries live tokens and is asked to store another.
var ErrRefreshStoreFull = errors.New("authn: refresh token store is full")

type memLogin struct {
	subject string
	end     time.Time
}

type memRefresh struct {
	rec    RefreshRecord
	usedAt time.Time // zero while unused
	next   string    // the successor's hash once used
}

// NewMemoryRefreshStore returns an empty store with the default options.
func NewMemoryRefreshStore() *MemoryRefreshStore {
	m, _ := NewMemoryRefreshStoreWith(MemoryRefreshOptions{})
	return m
}

// NewMemoryRefreshStoreWith returns an empty store, or a configuration
// error for invalid options (a negative MaxEntries).
func NewMemoryRefreshStoreWith(o MemoryRefreshOptions) (*MemoryRefreshStore, error) {
	if o.MaxEntries < 0 {
		return nil, errs.Configf("authn: MemoryRefreshOptions.MaxEntries must not be negative")
	}
	if o.MaxEntries == 0 {
		o.MaxEntries = DefaultRefreshMaxEntries
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &MemoryRefreshStore{now: o.Now, max: o.MaxEntries, tokens: map[string]*memRefresh{}, revoked: map[string]time.Time{}, logins: map[string]memLogin{}}, nil
}

// Create implements RefreshStore.
func (m *MemoryRefreshStore) Create(_ context.Context, hash string, rec RefreshRecord) error {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if now.Sub(m.lastScan) >= time.Minute {
		m.sweep(now)
	}
	if len(m.tokens) >= m.max {
		if _, ok := m.tokens[hash]; !ok && !m.room(now) {
			return ErrRefreshStoreFull
		}
	}
	m.add(hash, &memRefresh{rec: rec})
	if l, ok := m.logins[rec.Family]; !ok || l.end.Before(rec.FamilyExpiresAt) {
		m.logins[rec.Family] = memLogin{rec.Grant.Subject, rec.FamilyExpiresAt}
	}
	return nil
}

// add stores a token; m.mu is held.
func (m *MemoryRefreshStore) add(hash string, t *memRefresh) {
	m.tokens[hash] = t
	if end := t.rec.FamilyExpiresAt; end.Before(m.earliest) || len(m.tokens) == 1 {
		m.earliest = end
	}
}

// room reports whether one more token fits in a full store. It sweeps
// the store when a family may have ended (at most once a second), then
// forgets used tokens, the longest used first, until one fits: a login
// that refreshes for months would otherwise fill the store with its
// history and lock new logins out. A forgotten token presented again is
// refused as unknown, where it would have been caught as reuse; the
// tokens used last, which a thief racing the client presents, are the
// last to go. m.mu is held.
func (m *MemoryRefreshStore) room(now time.Time) bool {
	if !now.Before(m.earliest) && now.Sub(m.lastScan) >= time.Second {
		m.sweep(now)
	}
	for len(m.tokens) >= m.max && len(m.used) > 0 {
		h := m.used[0]
		m.used = m.used[1:]
		if t, ok := m.tokens[h]; ok && !t.usedAt.IsZero() {
			delete(m.tokens, h)
		}
	}
	return len(m.tokens) < m.max
}

// sweep drops families past their end, and revocations past their time
// or of a family no longer held; m.mu is held.
func (m *MemoryRefreshStore) sweep(now time.Time) {
	m.sweeps++
	m.lastScan = now
	var earliest time.Time
	for h, t := range m.tokens {
		end := t.rec.FamilyExpiresAt
		if !now.Before(end) {
			delete(m.tokens, h)
		} else if earliest.IsZero() || end.Before(earliest) {
			earliest = end
		}
	}
	m.earliest = earliest
	kept := m.used[:0]
	for _, h := range m.used {
		if _, ok := m.tokens[h]; ok {
			kept = append(kept, h)
		}
	}
	clear(m.used[len(kept):])
	m.used = kept
	for f, l := range m.logins {
		if !now.Before(l.end) {
			delete(m.logins, f)
		}
	}
	for f, end := range m.revoked {
		if _, held := m.logins[f]; !held || !now.Before(end) {
			delete(m.revoked, f)
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
	if len(m.tokens) >= m.max {
		if _, ok := m.tokens[r.NextHash]; !ok && !m.room(m.now()) {
			return RefreshRecord{}, ErrRefreshStoreFull
		}
		if m.tokens[r.Hash] != t {
			return RefreshRecord{}, ErrRefreshUnknown // its login ended by the store's clock
		}
	}
	t.usedAt, t.next = r.Now, r.NextHash
	m.used = append(m.used, r.Hash)
	next := t.rec
	next.ExpiresAt = r.NextExpiresAt
	if next.FamilyExpiresAt.Before(next.ExpiresAt) {
		next.ExpiresAt = next.FamilyExpiresAt
	}
	m.add(r.NextHash, &memRefresh{rec: next})
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
	l, held := m.logins[family]
	if !held {
		return "", nil // no token of it is held, none can come back
	}
	if old, ok := m.revoked[family]; !ok || old.Before(until) {
		m.revoked[family] = until
	}
	return l.subject, nil
}
