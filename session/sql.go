package session

import (
	"context"
	"time"

	"github.com/covetgo/covet/errs"
)

// SQLBackend is the table access NewSQLStore needs. It speaks only standard
// types, so a database layer implements it without importing this package;
// github.com/covetgo/covet/dbkit's SessionStore implements it with GORM for
// PostgreSQL, MariaDB/MySQL and SQLite. Keys are the 64 hex digits of a Key.
type SQLBackend interface {
	// LoadSession returns the row under key; found is false when there is
	// none (not an error).
	LoadSession(ctx context.Context, key string) (data []byte, lastSeen time.Time, found bool, err error)
	// SaveSession inserts or replaces the row under key.
	SaveSession(ctx context.Context, key, userID string, data []byte, lastSeen, expiresAt time.Time) error
	// TouchSession updates last_seen and expires_at of the row under key, if
	// there is one.
	TouchSession(ctx context.Context, key string, lastSeen, expiresAt time.Time) error
	// DeleteSession deletes the row under key, if there is one.
	DeleteSession(ctx context.Context, key string) error
	// UserSessions calls fn for each row of userID.
	UserSessions(ctx context.Context, userID string, fn func(key string, data []byte, lastSeen time.Time) error) error
	// DeleteUserSessions deletes every row of userID and reports how many.
	DeleteUserSessions(ctx context.Context, userID string) (int64, error)
	// DeleteExpiredSessions deletes the rows whose expires_at is before
	// before and reports how many.
	DeleteExpiredSessions(ctx context.Context, before time.Time) (int64, error)
}

// SQLStore is a Store on an SQLBackend. Rows carry their expiry, so
// Cleanup (or RunCleanup in a goroutine) removes expired sessions.
type SQLStore struct {
	b   SQLBackend
	now func() time.Time
}

// SQLOptions configures an SQLStore.
type SQLOptions struct {
	// Now is the store's clock for expiry. Nil: time.Now.
	Now func() time.Time
}

// NewSQLStore returns a Store on b, or a configuration error when b is nil.
func NewSQLStore(b SQLBackend, o SQLOptions) (*SQLStore, error) {
	if b == nil {
		return nil, errs.Configf("session: NewSQLStore needs a backend")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &SQLStore{b: b, now: o.Now}, nil
}

// Load implements Store.
func (s *SQLStore) Load(ctx context.Context, key Key) (Record, error) {
	data, lastSeen, found, err := s.b.LoadSession(ctx, key.String())
	if err != nil {
		return Record{}, err
	}
	if !found {
		return Record{}, ErrNotFound
	}
	var rec Record
	if err := rec.UnmarshalBinary(data); err != nil {
		return Record{}, err
	}
	if !lastSeen.IsZero() {
		rec.LastSeen = lastSeen
	}
	return rec, nil
}

// Save implements Store.
func (s *SQLStore) Save(ctx context.Context, key Key, rec Record, ttl time.Duration) error {
	data, err := rec.MarshalBinary()
	if err != nil {
		return err
	}
	return s.b.SaveSession(ctx, key.String(), rec.UserID, data, rec.LastSeen, s.now().Add(ttl))
}

// Replace implements Replacer when the backend has a conditional write,
// one of
//
//	ReplaceSessionIf(ctx context.Context, key, userID string, data []byte, lastSeen, expiresAt time.Time, check func(current []byte) error) (bool, error)
//	ReplaceSession(ctx context.Context, key, userID string, data []byte, lastSeen, expiresAt time.Time) (bool, error)
//
// (dbkit's SessionStore has both). Either writes only while the row is
// there, reporting whether it did. ReplaceSessionIf also hands the locked
// row's data to check, in the same transaction, and writes only if check
// returns nil: through it, Replace refuses to write over a retired record
// (one a renewal left behind) with ErrRenewedElsewhere and leaves it as it
// is, as MemoryStore and RedisStore do. Over a backend with only
// ReplaceSession it cannot tell a retired row and writes over it; over one
// with neither it saves unconditionally and reports true.
func (s *SQLStore) Replace(ctx context.Context, key Key, rec Record, ttl time.Duration) (bool, error) {
	data, err := rec.MarshalBinary()
	if err != nil {
		return false, err
	}
	expires := s.now().Add(ttl)
	switch b := s.b.(type) {
	case interface {
		ReplaceSessionIf(ctx context.Context, key, userID string, data []byte, lastSeen, expiresAt time.Time, check func(current []byte) error) (bool, error)
	}:
		return b.ReplaceSessionIf(ctx, key.String(), rec.UserID, data, rec.LastSeen, expires, refuseRetired)
	case interface {
		ReplaceSession(ctx context.Context, key, userID string, data []byte, lastSeen, expiresAt time.Time) (bool, error)
	}:
		return b.ReplaceSession(ctx, key.String(), rec.UserID, data, rec.LastSeen, expires)
	}
	return true, s.b.SaveSession(ctx, key.String(), rec.UserID, data, rec.LastSeen, expires)
}

// refuseRetired is the check of Replace's conditional write: it refuses a
// row whose record a renewal retired. Whether a record is retired (its
// grace deadline) lives only in the encoded data, which this package
// defines, so the check runs here, on the row the backend has locked,
// rather than teaching each backend the encoding or adding a column: the
// backend already reads the row to see it is there, so the check costs no
// extra round trip. A row that does not decode is not written over either.
func refuseRetired(current []byte) error {
	var rec Record
	if err := rec.UnmarshalBinary(current); err != nil {
		return err
	}
	if !rec.GraceUntil.IsZero() {
		return ErrRenewedElsewhere
	}
	return nil
}

// Touch implements Store.
func (s *SQLStore) Touch(ctx context.Context, key Key, lastSeen time.Time, ttl time.Duration) error {
	return s.b.TouchSession(ctx, key.String(), lastSeen, s.now().Add(ttl))
}

// Delete implements Store.
func (s *SQLStore) Delete(ctx context.Context, key Key) error {
	return s.b.DeleteSession(ctx, key.String())
}

// UserSessions implements Store. Rows that do not decode are skipped.
func (s *SQLStore) UserSessions(ctx context.Context, userID string) ([]Entry, error) {
	var out []Entry
	err := s.b.UserSessions(ctx, userID, func(key string, data []byte, lastSeen time.Time) error {
		k, err := ParseKey(key)
		if err != nil {
			return nil
		}
		var rec Record
		if rec.UnmarshalBinary(data) != nil {
			return nil
		}
		if !lastSeen.IsZero() {
			rec.LastSeen = lastSeen
		}
		out = append(out, Entry{Key: k, Record: rec})
		return nil
	})
	return out, err
}

// DeleteUser implements Store.
func (s *SQLStore) DeleteUser(ctx context.Context, userID string) (int, error) {
	n, err := s.b.DeleteUserSessions(ctx, userID)
	return int(n), err
}

// Cleanup deletes expired rows and reports how many.
func (s *SQLStore) Cleanup(ctx context.Context) (int64, error) {
	return s.b.DeleteExpiredSessions(ctx, s.now())
}

// RunCleanup calls Cleanup every interval until ctx is done. Run it in a
// goroutine; errors are passed to onError when it is not nil.
func (s *SQLStore) RunCleanup(ctx context.Context, interval time.Duration, onError func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := s.Cleanup(ctx); err != nil && onError != nil && ctx.Err() == nil {
				onError(err)
			}
		}
	}
}
