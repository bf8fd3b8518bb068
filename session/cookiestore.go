package session

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/covetgo/covet/errs"
	"golang.org/x/crypto/chacha20poly1305"
)

// CookieStore keeps a whole session in the cookie, for small stateless
// sessions: no store round trip at all, at the price of a cookie that grows
// with the data and cannot be revoked one by one.
//
// The cookie is an authenticated-encryption envelope, base64url encoded:
//
//	version (1 byte, 1) | key ID (4 bytes) | nonce (24 bytes) | XChaCha20-Poly1305 ciphertext
//
// with the version, key ID and cookie name as associated data. The key ID
// (the first bytes of the key's SHA-256) selects the key, so keys rotate by
// adding a new one in front: it encrypts, the old ones still decrypt. A
// session whose cookie would exceed MaxSize is an error when saved (a 500),
// never a silently dropped cookie. When the session has a user and
// Versions is set, the cookie records the user's session version; bumping
// it (Manager.DestroyUser) revokes every cookie issued before.
type CookieStore struct {
	keys     []cookieKey
	maxSize  int
	versions UserVersions
}

type cookieKey struct {
	id   [4]byte
	aead cipher.AEAD
}

// CookieStoreOptions configures a CookieStore.
type CookieStoreOptions struct {
	// Keys are 32-byte keys; the first encrypts, all decrypt. Required.
	Keys [][]byte
	// MaxSize bounds the cookie (name, "=" and value). Zero: 4096, the
	// size every browser keeps.
	MaxSize int
	// Versions holds each user's session version for revocation. Nil:
	// sessions cannot be revoked before they expire.
	Versions UserVersions
}

// envelopeVersion is the first byte of every cookie this store writes.
const envelopeVersion = 1

const envelopeHeader = 1 + 4 + chacha20poly1305.NonceSizeX

// ErrCookieTooLarge is the cause of the error a CookieStore session save
// fails with when the cookie would exceed MaxSize.
var ErrCookieTooLarge = errors.New("session: the session does not fit in a cookie")

// NewCookieStore validates o and returns a CookieStore.
func NewCookieStore(o CookieStoreOptions) (*CookieStore, error) {
	if len(o.Keys) == 0 {
		return nil, errs.Configf("session: CookieStoreOptions.Keys needs at least one 32-byte key")
	}
	if o.MaxSize == 0 {
		o.MaxSize = 4096
	}
	if o.MaxSize < 256 || o.MaxSize > 4096 {
		return nil, errs.Configf("session: CookieStoreOptions.MaxSize %d must be between 256 and 4096", o.MaxSize)
	}
	cs := &CookieStore{maxSize: o.MaxSize, versions: o.Versions}
	for i, k := range o.Keys {
		if len(k) != chacha20poly1305.KeySize {
			return nil, errs.Configf("session: CookieStoreOptions.Keys[%d] is %d bytes; want 32 random bytes", i, len(k))
		}
		aead, err := chacha20poly1305.NewX(k)
		if err != nil {
			return nil, errs.Configf("session: CookieStoreOptions.Keys[%d]: %v", i, err)
		}
		sum := sha256.Sum256(append([]byte("covet-session-cookie-key\x00"), k...))
		ck := cookieKey{aead: aead}
		copy(ck.id[:], sum[:4])
		for _, prev := range cs.keys {
			if prev.id == ck.id {
				return nil, errs.Configf("session: CookieStoreOptions.Keys[%d] repeats an earlier key", i)
			}
		}
		cs.keys = append(cs.keys, ck)
	}
	return cs, nil
}

func additionalData(hdr []byte, name string) []byte {
	ad := make([]byte, 0, 5+len(name))
	ad = append(ad, hdr[:5]...)
	return append(ad, name...)
}

// seal encrypts rec into a cookie value for the cookie called name.
func (c *CookieStore) seal(name string, rec *Record) (string, error) {
	plain, err := rec.MarshalBinary()
	if err != nil {
		return "", err
	}
	k := c.keys[0]
	msg := make([]byte, envelopeHeader, envelopeHeader+len(plain)+k.aead.Overhead())
	msg[0] = envelopeVersion
	copy(msg[1:5], k.id[:])
	_, _ = rand.Read(msg[5:envelopeHeader])
	msg = k.aead.Seal(msg, msg[5:envelopeHeader], plain, additionalData(msg, name))
	if len(name)+1+base64.RawURLEncoding.EncodedLen(len(msg)) > c.maxSize {
		return "", ErrCookieTooLarge
	}
	return base64.RawURLEncoding.EncodeToString(msg), nil
}

// open decrypts and decodes a cookie value. Any malformed, tampered,
// truncated or foreign input is an error, never a panic.
func (c *CookieStore) open(name, value string) (Record, error) {
	if len(value) > maxCookieValue {
		return Record{}, errBadEnvelope
	}
	msg, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(msg) < envelopeHeader || msg[0] != envelopeVersion {
		return Record{}, errBadEnvelope
	}
	for _, k := range c.keys {
		if [4]byte(msg[1:5]) != k.id {
			continue
		}
		plain, err := k.aead.Open(nil, msg[5:envelopeHeader], msg[envelopeHeader:], additionalData(msg, name))
		if err != nil {
			return Record{}, errBadEnvelope
		}
		var rec Record
		if err := rec.UnmarshalBinary(plain); err != nil {
			return Record{}, errBadEnvelope
		}
		return rec, nil
	}
	return Record{}, errBadEnvelope
}

var errBadEnvelope = errors.New("session: invalid session cookie")

func (m *Manager) loadStateless(s *Session, v string) {
	rec, err := m.stateless.open(m.name, v)
	if err != nil || m.expired(&rec, m.now()) {
		s.state = stateRejected
		return
	}
	if rec.UserID != "" && m.stateless.versions != nil {
		cur, err := m.stateless.versions.UserVersion(s.ctx, rec.UserID)
		if err != nil {
			s.err = storeUnavailable(err)
			return
		}
		if cur != rec.Version {
			s.state = stateRejected
			return
		}
	}
	s.state, s.isNew, s.rec = stateLive, false, rec
}

// commitStateless carries out p for a session kept in the cookie: every
// write seals the record into a new cookie value.
func (m *Manager) commitStateless(s *Session, p plan, h http.Header, now time.Time) error {
	if p.write == writeNone {
		return nil
	}
	rec, err := s.merged()
	if err != nil {
		return err
	}
	if p.write == writeCreate {
		rec.Created, rec.Expires = now, p.expires
	}
	rec.LastSeen = now
	if rec.UserID == "" {
		rec.Version = 0
	} else if (s.userChanged || p.write == writeCreate) && m.stateless.versions != nil {
		v, err := m.stateless.versions.UserVersion(s.ctx, rec.UserID)
		if err != nil {
			return storeErr(err)
		}
		rec.Version = v
	}
	value, err := m.stateless.seal(m.name, &rec)
	if err != nil {
		if errors.Is(err, ErrCookieTooLarge) {
			m.log.LogAttrs(s.ctx, slog.LevelError, "session: the session outgrew its cookie; keep less in it or use a server-side store",
				slog.Int("max_size", m.stateless.maxSize))
			return errs.Wrap(err, errs.KindInternal, "session_cookie_too_large", "")
		}
		return errs.Wrap(err, errs.KindSerialization, "session_value_unencodable", "")
	}
	m.setCookie(h, value, &rec, now)
	s.saved(s.key, rec)
	return nil
}

// UserVersions keeps a version number per user. A cookie-store session
// records its user's version when it is bound to the user; bumping the
// version revokes every session issued before.
type UserVersions interface {
	// UserVersion returns the user's current version (0 for a user never
	// bumped).
	UserVersion(ctx context.Context, userID string) (uint64, error)
	// BumpUserVersion increments the user's version and returns it.
	BumpUserVersion(ctx context.Context, userID string) (uint64, error)
}

// MemoryVersions is a UserVersions in process memory.
type MemoryVersions struct {
	mu sync.Mutex
	v  map[string]uint64
}

// NewMemoryVersions returns an empty MemoryVersions.
func NewMemoryVersions() *MemoryVersions { return &MemoryVersions{v: make(map[string]uint64)} }

// UserVersion implements UserVersions.
func (mv *MemoryVersions) UserVersion(_ context.Context, userID string) (uint64, error) {
	mv.mu.Lock()
	defer mv.mu.Unlock()
	return mv.v[userID], nil
}

// BumpUserVersion implements UserVersions.
func (mv *MemoryVersions) BumpUserVersion(_ context.Context, userID string) (uint64, error) {
	mv.mu.Lock()
	defer mv.mu.Unlock()
	mv.v[userID]++
	return mv.v[userID], nil
}
