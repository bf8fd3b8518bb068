package authn

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/internal/httpx"
)

// APIKey is the stored form of an API key: everything but the secret, of
// which only a SHA-256 hash is kept. Secrets carry 256 random bits, so a
// fast hash is enough (a password hash would only slow every request).
type APIKey struct {
	// ID is the public part that identifies the key (16 hex characters).
	ID string
	// Hash is SHA-256 of the secret part.
	Hash [32]byte
	// Subject is the principal the key authenticates as.
	Subject string
	// Name describes the key for its owner ("CI deploy key").
	Name string
	// Scopes and Roles granted to requests made with the key.
	Scopes []string
	Roles  []string
	// ExpiresAt, when not zero, is when the key stops working.
	ExpiresAt time.Time
}

// ErrAPIKeyNotFound is what an APIKeyStore returns for an unknown ID.
var ErrAPIKeyNotFound = errors.New("authn: API key not found")

// APIKeyStore finds API keys by ID. A revoked key is simply not found.
type APIKeyStore interface {
	LookupAPIKey(ctx context.Context, id string) (APIKey, error)
}

// NewAPIKey mints a key "<prefix>_<id>_<secret>" to hand to the user once,
// and the record to store (fill in Subject, Name, Scopes, Roles, ExpiresAt).
// prefix (2 to 16 lower-case letters or digits, such as "cvt") makes keys
// recognizable to secret scanners.
func NewAPIKey(prefix string) (key string, rec APIKey, err error) {
	if !validKeyPrefix(prefix) {
		return "", APIKey{}, errs.Configf("authn: API key prefix %q is not 2-16 lower-case letters or digits", prefix)
	}
	var idb [8]byte
	var secret [32]byte
	if _, err := rand.Read(idb[:]); err != nil {
		return "", APIKey{}, errs.Wrap(err, errs.KindInternal, "", "")
	}
	if _, err := rand.Read(secret[:]); err != nil {
		return "", APIKey{}, errs.Wrap(err, errs.KindInternal, "", "")
	}
	id := hex.EncodeToString(idb[:])
	sec := base64.RawURLEncoding.EncodeToString(secret[:])
	return prefix + "_" + id + "_" + sec, APIKey{ID: id, Hash: sha256.Sum256([]byte(sec))}, nil
}

func validKeyPrefix(p string) bool {
	if len(p) < 2 || len(p) > 16 {
		return false
	}
	for i := 0; i < len(p); i++ {
		if !(p[i] >= 'a' && p[i] <= 'z' || p[i] >= '0' && p[i] <= '9') {
			return false
		}
	}
	return true
}

// APIKeysOptions configure the API key authenticator.
type APIKeysOptions struct {
	// Store finds keys; required.
	Store APIKeyStore
	// Prefix is the prefix the keys were minted with; required.
	Prefix string
	// Header carries the key. Empty: "X-API-Key". Keys in the query
	// string are never read (they end up in logs).
	Header string
	// Now is the clock. Nil: time.Now.
	Now func() time.Time
}

// APIKeys is the API key authenticator.
type APIKeys struct {
	store  APIKeyStore
	prefix string
	header string
	now    func() time.Time
}

// NewAPIKeys validates opts and returns the authenticator.
func NewAPIKeys(opts APIKeysOptions) (*APIKeys, error) {
	if opts.Store == nil {
		return nil, errs.Configf("authn: APIKeysOptions.Store is required")
	}
	if !validKeyPrefix(opts.Prefix) {
		return nil, errs.Configf("authn: APIKeysOptions.Prefix %q is not 2-16 lower-case letters or digits", opts.Prefix)
	}
	a := &APIKeys{store: opts.Store, prefix: opts.Prefix + "_", header: http.CanonicalHeaderKey(opts.Header), now: opts.Now}
	if a.header == "" {
		a.header = "X-Api-Key"
	}
	if a.header == "Authorization" || a.header == "Cookie" {
		return nil, errs.Configf("authn: APIKeysOptions.Header may not be %s", a.header)
	}
	if a.now == nil {
		a.now = time.Now
	}
	return a, nil
}

// Method implements Authenticator.
func (a *APIKeys) Method() Method { return MethodAPIKey }

// Challenge implements Challenger: "APIKey realm=..., header=...", so a
// 401 names the header a client should send.
func (a *APIKeys) Challenge(realm, code string) string {
	s := "APIKey"
	sep := " "
	if realm != "" {
		s += sep + "realm=" + httpx.Quote(realm)
		sep = ", "
	}
	return s + sep + "header=" + httpx.Quote(a.header)
}

// dummyHash keeps the unknown-ID path doing the same hashing work.
var dummyHash = sha256.Sum256([]byte("covet-dummy-api-key"))

// Authenticate implements Authenticator: no header is (nil, nil); a
// malformed, unknown, wrong, or expired key is ErrInvalidCredentials.
func (a *APIKeys) Authenticate(r *http.Request) (*Principal, error) {
	vals := r.Header[a.header]
	if len(vals) == 0 {
		return nil, nil
	}
	if len(vals) > 1 {
		return nil, fail(ErrInvalidRequest, "repeated_api_key", nil)
	}
	return a.Check(r.Context(), vals[0])
}

// Check verifies a presented key and returns its principal.
func (a *APIKeys) Check(ctx context.Context, key string) (*Principal, error) {
	rest, ok := strings.CutPrefix(key, a.prefix)
	if !ok || len(key) > 256 {
		return nil, fail(ErrInvalidCredentials, "malformed_api_key", nil)
	}
	id, secret, ok := strings.Cut(rest, "_")
	if !ok || len(id) != 16 || secret == "" {
		return nil, fail(ErrInvalidCredentials, "malformed_api_key", nil)
	}
	rec, err := a.store.LookupAPIKey(ctx, id)
	sum := sha256.Sum256([]byte(secret))
	if errors.Is(err, ErrAPIKeyNotFound) {
		subtle.ConstantTimeCompare(sum[:], dummyHash[:])
		return nil, fail(ErrInvalidCredentials, "unknown_api_key", nil)
	}
	if err != nil {
		return nil, ErrUnavailable.WithCause(err)
	}
	if subtle.ConstantTimeCompare(sum[:], rec.Hash[:]) != 1 || rec.ID != id {
		return nil, fail(ErrInvalidCredentials, "bad_api_key", nil)
	}
	if !rec.ExpiresAt.IsZero() && !a.now().Before(rec.ExpiresAt) {
		return nil, fail(ErrInvalidCredentials, "expired_api_key", nil)
	}
	return &Principal{
		Subject:    rec.Subject,
		Method:     MethodAPIKey,
		Roles:      rec.Roles,
		Scopes:     rec.Scopes,
		ExpiresAt:  rec.ExpiresAt,
		Attributes: map[string]string{"api_key_id": rec.ID, "api_key_name": rec.Name},
	}, nil
}

// MemoryAPIKeys is an in-process APIKeyStore.
type MemoryAPIKeys struct {
	mu   sync.RWMutex
	keys map[string]APIKey
}

// NewMemoryAPIKeys returns an empty store.
func NewMemoryAPIKeys() *MemoryAPIKeys { return &MemoryAPIKeys{keys: map[string]APIKey{}} }

// Add stores rec (replacing a key with the same ID).
func (m *MemoryAPIKeys) Add(rec APIKey) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keys[rec.ID] = rec
}

// Revoke removes the key with the given ID.
func (m *MemoryAPIKeys) Revoke(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.keys, id)
}

// LookupAPIKey implements APIKeyStore.
func (m *MemoryAPIKeys) LookupAPIKey(_ context.Context, id string) (APIKey, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	rec, ok := m.keys[id]
	if !ok {
		return APIKey{}, ErrAPIKeyNotFound
	}
	return rec, nil
}
