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

// Replace implements Replacer when the backend has ReplaceSession (dbkit's
// SessionStore does); otherwise it saves unconditionally and reports true.
func (s *SQLStore) Replace(ctx context.Context, key Key, rec Record, ttl time.Duration) (bool, error) {
	r, ok := s.b.(interface {
		ReplaceSession(ctx context.Context, key, userID string, data []byte, lastSeen, expiresAt time.Time) (bool, error)
	})
	if !ok {
		return true, s.Save(ctx, key, rec, ttl)
	}
	data, err := rec.MarshalBinary()
	if err != nil {
		return false, err
	}
	return r.ReplaceSession(ctx, key.String(), rec.UserID, data, rec.LastSeen, s.now().Add(ttl))
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
