package session

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"
)

// Key identifies a session record in a Store: the SHA-256 hash of the
// session's 256-bit random ID. Stores only ever see keys, so a leaked store
// (a Redis dump, a database backup) does not hand out usable session IDs.
type Key [sha256.Size]byte

// String returns the key as 64 lower-case hex digits.
func (k Key) String() string { return hex.EncodeToString(k[:]) }

// ParseKey parses the 64 hex digits String returns.
func ParseKey(s string) (Key, error) {
	var k Key
	if len(s) != 2*len(k) {
		return k, errBadKey
	}
	if _, err := hex.Decode(k[:], []byte(s)); err != nil {
		return k, errBadKey
	}
	return k, nil
}

var errBadKey = errors.New("session: malformed session key")

// keyOf hashes a raw session ID.
func keyOf(id []byte) Key { return sha256.Sum256(id) }

// ErrNotFound is what Store.Load returns for a key it does not hold.
var ErrNotFound = errors.New("session: not found")

// Record is what a Store keeps for one session.
type Record struct {
	// UserID is the user the session belongs to (empty: anonymous). Stores
	// index sessions by it for UserSessions and DeleteUser.
	UserID string
	// Created is when the session (not this ID) started.
	Created time.Time
	// Expires is the absolute deadline: Created plus the absolute lifetime.
	// Renewal never moves it.
	Expires time.Time
	// LastSeen is the last touch, from which the idle timeout counts.
	LastSeen time.Time
	// GraceUntil is set on the record an ID leaves behind when the session
	// is renewed: until then, requests still carrying the old ID get a
	// read-only view of the session; afterwards the ID is dead.
	GraceUntil time.Time
	// Version is the user's session version when the session was bound to
	// the user (used by the cookie store for revocation).
	Version uint64
	// Values are the session's values, each encoded as JSON. A Record
	// returned by Load is shared: do not modify its map.
	Values map[string]json.RawMessage
}

// Entry is a key with its record, as Store.UserSessions lists them.
type Entry struct {
	Key    Key
	Record Record
}

// Store keeps server-side session records. Implementations must be safe for
// concurrent use, must replace a record as a whole on Save (a concurrent
// Load sees the old or the new record, never a mix), and need not check
// expiry: the Manager checks every loaded record against its own clock. The
// TTLs passed in are the time left to the record, for stores that can
// expire entries themselves.
//
// NewMemoryStore, NewRedisStore and NewSQLStore return the stores of this
// package; the Manager also speaks github.com/gorilla/sessions' Store
// interface towards handlers (see Manager.Get).
type Store interface {
	// Load returns the record under key, or ErrNotFound.
	Load(ctx context.Context, key Key) (Record, error)
	// Save stores rec under key, replacing any record there, and indexes
	// it under rec.UserID when that is not empty.
	Save(ctx context.Context, key Key, rec Record, ttl time.Duration) error
	// Touch sets LastSeen of the record under key and extends its TTL,
	// leaving its values alone (so a touch never undoes a concurrent
	// change). Touching a missing key is not an error.
	Touch(ctx context.Context, key Key, lastSeen time.Time, ttl time.Duration) error
	// Delete removes the record under key. Deleting a missing key is not
	// an error.
	Delete(ctx context.Context, key Key) error
	// UserSessions lists the records indexed under userID (expired ones may
	// be included; the Manager filters them).
	UserSessions(ctx context.Context, userID string) ([]Entry, error)
	// DeleteUser removes every record indexed under userID and reports how
	// many there were.
	DeleteUser(ctx context.Context, userID string) (int, error)
}

// Replacer is a Store that can save a record only while one is there, so a
// request that loaded a session before it was destroyed (Destroy,
// DestroyUser, expiry) cannot write it back. The Manager saves existing
// sessions through it when the store has it: MemoryStore, RedisStore and
// SQLStore (over a backend with ReplaceSession, as dbkit's) do; with a
// store without it, a request in flight when its session is destroyed can
// still write the session back.
//
// MemoryStore and RedisStore also refuse to write over a retired record
// (one a renewal left behind), so that a request that loaded the session
// before another request renewed it cannot bring the old ID back to life,
// nor renew it a second time: its commit fails with ErrRenewedElsewhere.
// SQLStore refuses too when its backend can check the row it replaces
// (ReplaceSessionIf, as dbkit.SessionStore has); with a backend that has
// only ReplaceSession it cannot tell a retired row, and writes over it.
type Replacer interface {
	// Replace stores rec under key, as Save does, only if a live record is
	// there, and reports whether it did. A store that can tell a retired
	// record (GraceUntil set) returns ErrRenewedElsewhere for one and
	// leaves it as it is.
	Replace(ctx context.Context, key Key, rec Record, ttl time.Duration) (bool, error)
}

// An Ender is a Store that can delete a record unless a renewal has retired
// it, in one step. The Manager ends the sessions Destroy ends through it
// when the store has it (MemoryStore and RedisStore do), so that a logout
// that loaded a session before another request renewed it never deletes
// only the ID the renewal left behind while the session lives on under the
// new one: such a logout is refused with ErrRenewedElsewhere. It can tell
// only while the retired record is kept (Options.RenewGrace; a negative
// RenewGrace deletes it at once): a missing record counts as ended. With a
// store without it the Manager loads the record before deleting it, which
// leaves that race open for the length of one store call too.
type Ender interface {
	// End deletes the record under key unless it is retired (its
	// GraceUntil is set), and reports false for a retired record. A
	// missing record counts as ended.
	End(ctx context.Context, key Key) (bool, error)
}

// wireRecord is the JSON form of a Record, with times as Unix milliseconds.
type wireRecord struct {
	U string                     `json:"u,omitempty"`
	C int64                      `json:"c"`
	E int64                      `json:"e"`
	L int64                      `json:"l,omitempty"`
	G int64                      `json:"g,omitempty"`
	N uint64                     `json:"n,omitempty"`
	V map[string]json.RawMessage `json:"v,omitempty"`
}

// MaxRecordSize bounds an encoded record that UnmarshalBinary accepts.
const MaxRecordSize = 1 << 20

var errBadRecord = errors.New("session: malformed record")

// MarshalBinary encodes the record (as compact JSON) for stores that keep
// bytes. LastSeen is included; stores that keep it apart may ignore it.
func (r Record) MarshalBinary() ([]byte, error) {
	w := wireRecord{U: r.UserID, C: r.Created.UnixMilli(), E: r.Expires.UnixMilli(), N: r.Version, V: r.Values}
	if !r.LastSeen.IsZero() {
		w.L = r.LastSeen.UnixMilli()
	}
	if !r.GraceUntil.IsZero() {
		w.G = r.GraceUntil.UnixMilli()
	}
	return json.Marshal(w)
}

// UnmarshalBinary decodes what MarshalBinary produced. It rejects oversized,
// malformed and inconsistent input with an error, never a panic.
func (r *Record) UnmarshalBinary(b []byte) error {
	if len(b) > MaxRecordSize {
		return errBadRecord
	}
	var w wireRecord
	if err := json.Unmarshal(b, &w); err != nil {
		return errBadRecord
	}
	if w.C <= 0 || w.E < w.C || w.L < 0 || w.G < 0 {
		return errBadRecord
	}
	for _, v := range w.V {
		if len(v) == 0 {
			return errBadRecord
		}
	}
	*r = Record{UserID: w.U, Created: time.UnixMilli(w.C), Expires: time.UnixMilli(w.E), Version: w.N, Values: w.V}
	if w.L > 0 {
		r.LastSeen = time.UnixMilli(w.L)
	}
	if w.G > 0 {
		r.GraceUntil = time.UnixMilli(w.G)
	}
	return nil
}
