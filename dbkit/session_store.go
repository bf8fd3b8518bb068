package dbkit

import (
	"context"
	"time"

	"github.com/covetgo/covet/errs"
	"gorm.io/gorm"
)

// DefaultSessionTable is the table a SessionStore uses by default.
const DefaultSessionTable = "covet_session_records"

// SessionStore keeps web sessions in an SQL table through GORM, on
// PostgreSQL, MariaDB/MySQL or SQLite. It implements session.SQLBackend
// (pass it to session.NewSQLStore); it never sees a session ID, only the
// 64-hex-digit hash the session package uses as key. Times are stored as
// Unix milliseconds, so they survive every driver's time-zone handling.
//
// The table (see Migrate) has the columns id (primary key), user_id
// (indexed, for listing and log-out-everywhere), data, last_seen and
// expires_at (indexed, for DeleteExpiredSessions).
//
// On SQLite, give it a database opened by Open, or with the same settings
// (_txlock=immediate and a busy_timeout): otherwise a renewal, which reads
// and then writes in one transaction, fails with SQLITE_BUSY (a 503) when
// another request writes at the same moment.
type SessionStore struct {
	db      *gorm.DB
	table   string
	dialect string
	upsert  string
}

// SessionStoreOptions configures a SessionStore.
type SessionStoreOptions struct {
	// Table is the table name: lower-case letters, digits and underscores,
	// at most 48 characters. Empty: DefaultSessionTable.
	Table string
}

// NewSessionStore returns a SessionStore on db, or a configuration error for
// an unsupported dialect or an invalid table name.
func NewSessionStore(db *gorm.DB, o SessionStoreOptions) (*SessionStore, error) {
	if db == nil {
		return nil, errs.Configf("dbkit: NewSessionStore needs a *gorm.DB")
	}
	if o.Table == "" {
		o.Table = DefaultSessionTable
	}
	if !sessionTableName(o.Table) {
		return nil, errs.Configf("dbkit: session table name %q must be lower-case letters, digits and underscores (at most 48)", o.Table)
	}
	s := &SessionStore{db: db, table: o.Table, dialect: db.Dialector.Name()}
	cols := " (id, user_id, data, last_seen, expires_at) VALUES (?, ?, ?, ?, ?)"
	switch s.dialect {
	case "postgres", "sqlite":
		s.upsert = "INSERT INTO " + s.table + cols + " ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, data = excluded.data, last_seen = excluded.last_seen, expires_at = excluded.expires_at"
	case "mysql":
		s.upsert = "INSERT INTO " + s.table + cols + " ON DUPLICATE KEY UPDATE user_id = VALUES(user_id), data = VALUES(data), last_seen = VALUES(last_seen), expires_at = VALUES(expires_at)"
	default:
		return nil, errs.Configf("dbkit: SessionStore does not support the %q dialect", s.dialect)
	}
	return s, nil
}

func sessionTableName(t string) bool {
	if t == "" || len(t) > 48 || (t[0] >= '0' && t[0] <= '9') {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// Table returns the table name.
func (s *SessionStore) Table() string { return s.table }

// Migrate creates the table and its indexes if they do not exist.
func (s *SessionStore) Migrate(ctx context.Context) error {
	t := s.table
	var stmts []string
	switch s.dialect {
	case "mysql":
		stmts = []string{"CREATE TABLE IF NOT EXISTS " + t + ` (
	id VARCHAR(64) NOT NULL PRIMARY KEY,
	user_id VARCHAR(255) NOT NULL DEFAULT '',
	data MEDIUMBLOB NOT NULL,
	last_seen BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	INDEX ` + t + `_user_id_idx (user_id),
	INDEX ` + t + `_expires_at_idx (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`}
	default:
		blob := "BLOB"
		if s.dialect == "postgres" {
			blob = "BYTEA"
		}
		stmts = []string{
			"CREATE TABLE IF NOT EXISTS " + t + ` (
	id VARCHAR(64) NOT NULL PRIMARY KEY,
	user_id VARCHAR(255) NOT NULL DEFAULT '',
	data ` + blob + ` NOT NULL,
	last_seen BIGINT NOT NULL,
	expires_at BIGINT NOT NULL
)`,
			"CREATE INDEX IF NOT EXISTS " + t + "_user_id_idx ON " + t + " (user_id)",
			"CREATE INDEX IF NOT EXISTS " + t + "_expires_at_idx ON " + t + " (expires_at)",
		}
	}
	db := s.db.WithContext(ctx)
	for _, q := range stmts {
		if err := db.Exec(q).Error; err != nil {
			return err
		}
	}
	return nil
}

type sessionRow struct {
	ID       string `gorm:"column:id"`
	Data     []byte `gorm:"column:data"`
	LastSeen int64  `gorm:"column:last_seen"`
}

// LoadSession implements session.SQLBackend.
func (s *SessionStore) LoadSession(ctx context.Context, key string) ([]byte, time.Time, bool, error) {
	var rows []sessionRow
	err := s.db.WithContext(ctx).Raw("SELECT id, data, last_seen FROM "+s.table+" WHERE id = ?", key).Scan(&rows).Error
	if err != nil || len(rows) == 0 {
		return nil, time.Time{}, false, err
	}
	return rows[0].Data, time.UnixMilli(rows[0].LastSeen), true, nil
}

// SaveSession implements session.SQLBackend with one upsert.
func (s *SessionStore) SaveSession(ctx context.Context, key, userID string, data []byte, lastSeen, expiresAt time.Time) error {
	return s.db.WithContext(ctx).Exec(s.upsert, key, userID, data, lastSeen.UnixMilli(), expiresAt.UnixMilli()).Error
}

// ReplaceSession is SaveSession only while the row is there, reporting
// whether it wrote. It is ReplaceSessionIf with no check.
func (s *SessionStore) ReplaceSession(ctx context.Context, key, userID string, data []byte, lastSeen, expiresAt time.Time) (bool, error) {
	return s.ReplaceSessionIf(ctx, key, userID, data, lastSeen, expiresAt, nil)
}

// ReplaceSessionIf is SaveSession only while the row is there and check,
// given the row's current data, returns nil; it reports whether it wrote,
// and returns check's error as it is. The read, the check and the write
// run in one transaction, the row locked (FOR UPDATE) on PostgreSQL and
// MySQL, while SQLite serializes writers (given immediate transactions, as
// Open sets up), so no other write to the row comes between them. A nil
// check accepts any row.
//
// It lets session.SQLStore implement session.Replacer: its check refuses
// to write over a record a renewal retired, which it recognises in the
// data, so this store needs no knowledge of the record's encoding.
func (s *SessionStore) ReplaceSessionIf(ctx context.Context, key, userID string, data []byte, lastSeen, expiresAt time.Time, check func(current []byte) error) (bool, error) {
	read := "SELECT data FROM " + s.table + " WHERE id = ?"
	if s.dialect != "sqlite" {
		read += " FOR UPDATE"
	}
	written := false
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var rows []sessionRow
		if err := tx.Raw(read, key).Scan(&rows).Error; err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		if check != nil {
			if err := check(rows[0].Data); err != nil {
				return err
			}
		}
		written = true
		return tx.Exec(s.upsert, key, userID, data, lastSeen.UnixMilli(), expiresAt.UnixMilli()).Error
	})
	return written && err == nil, err
}

// TouchSession implements session.SQLBackend.
func (s *SessionStore) TouchSession(ctx context.Context, key string, lastSeen, expiresAt time.Time) error {
	return s.db.WithContext(ctx).Exec("UPDATE "+s.table+" SET last_seen = ?, expires_at = ? WHERE id = ?",
		lastSeen.UnixMilli(), expiresAt.UnixMilli(), key).Error
}

// DeleteSession implements session.SQLBackend.
func (s *SessionStore) DeleteSession(ctx context.Context, key string) error {
	return s.db.WithContext(ctx).Exec("DELETE FROM "+s.table+" WHERE id = ?", key).Error
}

// UserSessions implements session.SQLBackend.
func (s *SessionStore) UserSessions(ctx context.Context, userID string, fn func(key string, data []byte, lastSeen time.Time) error) error {
	var rows []sessionRow
	err := s.db.WithContext(ctx).Raw("SELECT id, data, last_seen FROM "+s.table+" WHERE user_id = ?", userID).Scan(&rows).Error
	if err != nil {
		return err
	}
	for _, r := range rows {
		if err := fn(r.ID, r.Data, time.UnixMilli(r.LastSeen)); err != nil {
			return err
		}
	}
	return nil
}

// DeleteUserSessions implements session.SQLBackend.
func (s *SessionStore) DeleteUserSessions(ctx context.Context, userID string) (int64, error) {
	res := s.db.WithContext(ctx).Exec("DELETE FROM "+s.table+" WHERE user_id = ?", userID)
	return res.RowsAffected, res.Error
}

// DeleteExpiredSessions implements session.SQLBackend.
func (s *SessionStore) DeleteExpiredSessions(ctx context.Context, before time.Time) (int64, error) {
	res := s.db.WithContext(ctx).Exec("DELETE FROM "+s.table+" WHERE expires_at < ?", before.UnixMilli())
	return res.RowsAffected, res.Error
}
