package migrate

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/covetgo/covet/dbkit"
	"github.com/covetgo/covet/dbkit/internal/sqlname"
	"github.com/covetgo/covet/errs"
)

// CodeSchemaPending is the problem code of Migrator.Ready while migrations
// are pending.
const CodeSchemaPending = "schema_pending"

// Options configures a Migrator.
type Options struct {
	// FS holds the goose migration files (NNNNN_name.sql with
	// "-- +goose Up" / "-- +goose Down" sections) at its root; for an
	// embed.FS use fs.Sub(files, "migrations"). Required.
	FS fs.FS
	// Table is goose's version table. Zero: "goose_db_version".
	Table string
	// DisableLocking turns off the lock that lets several instances start
	// together and still apply each migration once. Locking is on by
	// default: PostgreSQL uses a lock row in a table (dbkit_migration_lock),
	// which, unlike a session advisory lock, also holds behind PgBouncer in
	// transaction pooling; MySQL/MariaDB uses GET_LOCK on a name derived
	// from the database, held on a connection of its own (the pool needs
	// two free connections while migrating); SQLite uses an exclusive
	// flock(2) on a file next to the database, "<file>-migrate.lock", which
	// is released when its holder exits, however it exits. SQLite
	// migrations are not locked on systems without flock (Windows among
	// them) nor for in-memory databases, shared-cache ones included: run
	// those from one Migrator at a time.
	DisableLocking bool
	// LockTimeout bounds the wait for another instance's lock. Zero: 5 min.
	LockTimeout time.Duration
	// Logger receives goose's progress. Nil: slog.Default().
	Logger *slog.Logger
}

// Migrator applies versioned migrations with goose's Provider. Each
// migration runs in its own transaction and is recorded only after it
// succeeded. On PostgreSQL and SQLite, whose DDL is transactional, a failed
// migration therefore leaves nothing behind: it stays pending until a fixed
// version of it is deployed. MySQL/MariaDB commits each DDL statement
// implicitly, so a migration that fails after its first DDL statement
// leaves those statements applied while its version stays unrecorded; the
// error then names the version and says what to check. Keep one DDL
// statement per migration there.
type Migrator struct {
	p       *goose.Provider
	db      *sql.DB
	whole   wholeLocker // nil unless MySQL or SQLite with locking
	mysql   bool
	current atomic.Bool
}

// New prepares the migrations in o.FS for db.
func New(db *dbkit.DB, o Options) (*Migrator, error) {
	if db == nil {
		return nil, errs.Configf("migrate: New needs a DB")
	}
	if o.FS == nil {
		return nil, errs.Configf("migrate: Options.FS is nil")
	}
	if o.LockTimeout == 0 {
		o.LockTimeout = 5 * time.Minute
	}
	if o.LockTimeout < 0 {
		return nil, errs.Configf("migrate: Options.LockTimeout is negative")
	}
	l := cmp.Or(o.Logger, slog.Default())
	table := cmp.Or(o.Table, "goose_db_version")
	if !sqlname.Valid(table) {
		return nil, errs.Configf("migrate: Options.Table %q is not a plain SQL identifier", o.Table)
	}
	opts := []goose.ProviderOption{goose.WithSlog(l), goose.WithDisableGlobalRegistry(true), goose.WithTableName(table)}
	dialect := map[dbkit.Driver]goose.Dialect{dbkit.Postgres: goose.DialectPostgres, dbkit.MySQL: goose.DialectMySQL, dbkit.SQLite: goose.DialectSQLite3}[db.Driver()]
	var whole wholeLocker
	if !o.DisableLocking {
		var locker goose.ProviderOption
		var err error
		locker, whole, err = migrationLock(db.Driver(), table, o.LockTimeout, l)
		if err != nil {
			return nil, err
		}
		if locker != nil {
			opts = append(opts, locker)
		}
	}
	p, err := goose.NewProvider(dialect, db.SQL(), o.FS, opts...)
	if err != nil {
		return nil, errs.Configf("migrate: migrations: %v", err)
	}
	return &Migrator{p: p, db: db.SQL(), whole: whole, mysql: db.Driver() == dbkit.MySQL}, nil
}

// migrationLock returns the migration lock for drv: goose's table locker
// on PostgreSQL, handed to goose; this package's own locker, held around whole
// operations, on MySQL/MariaDB and SQLite. goose checks for pending
// migrations before it locks: on MySQL, whose DDL is not transactional,
// that check can see the version table another instance is still
// creating, and on either an instance that computed its pending list
// before another one applied it would apply the same migration again.
func migrationLock(drv dbkit.Driver, table string, timeout time.Duration, l *slog.Logger) (goose.ProviderOption, wholeLocker, error) {
	switch drv {
	case dbkit.MySQL:
		return nil, &mysqlLocker{timeout: timeout, table: table}, nil
	case dbkit.SQLite:
		return nil, &sqliteLocker{timeout: timeout, table: table}, nil
	}
	interval := min(time.Second, max(timeout/20, 100*time.Millisecond))
	locker, err := lock.NewPostgresTableLocker(
		lock.WithTableName("dbkit_migration_lock"),
		// One lock per version table: unrelated migration sets on one
		// database do not wait on each other.
		lock.WithTableLockID(int64(xxhash.Sum64String(table)>>1)),
		lock.WithTableLockTimeout(interval, uint64(max(timeout/interval, 1))),
		lock.WithTableLogger(l),
	)
	if err != nil {
		return nil, nil, errs.Configf("migrate: migration lock: %v", err)
	}
	return goose.WithLocker(locker), nil, nil
}

// wholeLocker is a migration lock held around a whole Migrator operation
// (PostgreSQL's is handed to goose instead).
type wholeLocker interface {
	// acquire waits for the lock and returns the function that releases it.
	acquire(ctx context.Context, db *sql.DB) (release func(context.Context) error, err error)
}

// locked runs fn holding the MySQL/MariaDB or SQLite migration lock, if
// any; PostgreSQL relies on goose's locker.
func locked[T any](ctx context.Context, m *Migrator, fn func(context.Context) (T, error)) (T, error) {
	if m.whole == nil {
		return fn(ctx)
	}
	release, err := m.whole.acquire(ctx, m.db)
	if err != nil {
		var zero T
		return zero, err
	}
	res, err := fn(ctx)
	return res, errors.Join(err, release(context.WithoutCancel(ctx)))
}

// Up applies every pending migration, in version order, under the lock.
// It returns the migrations applied; on failure, those applied before the
// failing one stay applied and the error names the failing file.
func (m *Migrator) Up(ctx context.Context) ([]*goose.MigrationResult, error) {
	res, err := locked(ctx, m, m.p.Up)
	if err != nil {
		return res, m.failed(err, "applying")
	}
	m.current.Store(true)
	return res, nil
}

// CodeMigrationFailed is the errs code of a failed migration.
const CodeMigrationFailed = "migration_failed"

// failed wraps a migration error. On MySQL/MariaDB, whose DDL commits
// implicitly, it says that the failed version may be partly applied.
func (m *Migrator) failed(err error, doing string) error {
	msg := "migrate: " + doing + " migrations failed"
	var pe *goose.PartialError
	if errors.As(err, &pe) && pe.Failed != nil && pe.Failed.Source != nil {
		v := strconv.FormatInt(pe.Failed.Source.Version, 10)
		msg = "migrate: " + doing + " migration " + v + " (" + path.Base(pe.Failed.Source.Path) + ") failed"
		if m.mysql {
			msg += "; MySQL/MariaDB commits DDL statement by statement, so the statements of version " + v +
				" before the failing one may have been applied although the version is not recorded: " +
				"compare the schema with that migration and undo or complete it by hand before retrying"
		}
	}
	return errs.Wrap(err, errs.KindDatabase, CodeMigrationFailed, msg)
}

// Down rolls back the most recently applied migration (its "-- +goose
// Down" section) under the lock.
func (m *Migrator) Down(ctx context.Context) (*goose.MigrationResult, error) {
	res, err := locked(ctx, m, m.p.Down)
	m.current.Store(false)
	if err != nil {
		return res, m.failed(err, "rolling back")
	}
	return res, nil
}

// DownTo rolls back, newest first, every applied migration with a version
// above version (0 rolls back all of them), under the lock.
func (m *Migrator) DownTo(ctx context.Context, version int64) ([]*goose.MigrationResult, error) {
	res, err := locked(ctx, m, func(ctx context.Context) ([]*goose.MigrationResult, error) {
		return m.p.DownTo(ctx, version)
	})
	m.current.Store(false)
	if err != nil {
		return res, m.failed(err, "rolling back")
	}
	return res, nil
}

// Status lists every migration with its state (applied, with the time, or
// pending). It takes the migration lock, so it waits for a running Up and
// shows its outcome.
func (m *Migrator) Status(ctx context.Context) ([]*goose.MigrationStatus, error) {
	return locked(ctx, m, m.p.Status)
}

// Pending lists the versions not yet applied (through Status).
func (m *Migrator) Pending(ctx context.Context) ([]int64, error) {
	st, err := m.Status(ctx)
	if err != nil {
		return nil, err
	}
	var out []int64
	for _, s := range st {
		if s.State == goose.StatePending {
			out = append(out, s.Source.Version)
		}
	}
	return out, nil
}

// Ready is a readiness check (func(context.Context) error): it fails with
// a 503 schema_pending error while any migration is pending, and passes
// once the schema is current (after which it no longer queries).
func (m *Migrator) Ready(ctx context.Context) error {
	if m.current.Load() {
		return nil
	}
	pending, err := m.p.HasPending(ctx)
	if err != nil {
		return errs.Wrap(err, errs.KindServiceUnavailable, dbkit.CodeUnavailable, "migrate: reading the schema version failed")
	}
	if pending {
		return errs.New(errs.KindServiceUnavailable, CodeSchemaPending, "migrate: database migrations are pending")
	}
	m.current.Store(true)
	return nil
}

// mysqlLocker takes a MySQL/MariaDB named lock (GET_LOCK) with a timeout,
// on a connection of its own (so the pool needs two free connections).
// Named locks are server-wide, so the name includes the database and the
// version table.
type mysqlLocker struct {
	timeout time.Duration
	table   string
}

func (l *mysqlLocker) acquire(ctx context.Context, db *sql.DB) (func(context.Context) error, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	name, err := l.lock(ctx, conn)
	if err != nil {
		return nil, errors.Join(err, conn.Close())
	}
	return func(ctx context.Context) error {
		return errors.Join(l.unlock(ctx, conn, name), conn.Close())
	}, nil
}

func (l *mysqlLocker) lock(ctx context.Context, conn *sql.Conn) (string, error) {
	var dbName sql.NullString
	if err := conn.QueryRowContext(ctx, "SELECT DATABASE()").Scan(&dbName); err != nil {
		return "", err
	}
	name := "covet_migrate:" + dbName.String + "." + l.table
	if len(name) > 64 {
		name = "covet_migrate:" + strconv.FormatUint(xxhash.Sum64String(dbName.String+"."+l.table), 16)
	}
	secs := max(int64(l.timeout/time.Second), 1)
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", name, secs).Scan(&got); err != nil {
		return "", err
	}
	if !got.Valid || got.Int64 != 1 {
		return "", fmt.Errorf("migrate: migration lock %q not acquired within %v: %w", name, l.timeout, errLockTimeout)
	}
	return name, nil
}

func (l *mysqlLocker) unlock(ctx context.Context, conn *sql.Conn, name string) error {
	var released sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT RELEASE_LOCK(?)", name).Scan(&released); err != nil {
		return err
	}
	if released.Int64 != 1 {
		return fmt.Errorf("migrate: migration lock %q was not held", name)
	}
	return nil
}

var errLockTimeout = errors.New("lock wait timed out")

// sqliteLocker takes an exclusive flock(2) on
// "<database file>-<version table>.migrate.lock".
// A lock file rather than a row: SQLite runs one writer at a time, so a
// lease kept alive by writes would stall behind a long migration and
// could be taken over while it still runs, and a flock needs no lease at
// all since the kernel drops it with its holder. The database file itself
// is never opened here: closing another descriptor of it would drop
// SQLite's own POSIX locks in this process.
type sqliteLocker struct {
	timeout time.Duration
	table   string
}

func (l *sqliteLocker) acquire(ctx context.Context, db *sql.DB) (func(context.Context) error, error) {
	file, err := sqliteMainFile(ctx, db)
	if err != nil {
		return nil, err
	}
	if file == "" { // in memory: no file to lock (see DisableLocking)
		return func(context.Context) error { return nil }, nil
	}
	path := file + "-" + l.table + ".migrate.lock"
	wait, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	release, err := lockFile(wait, path)
	if err != nil && ctx.Err() == nil && wait.Err() != nil {
		return nil, fmt.Errorf("migrate: migration lock %q not acquired within %v: %w", path, l.timeout, errLockTimeout)
	}
	if err != nil {
		return nil, fmt.Errorf("migrate: migration lock %q: %w", path, err)
	}
	return func(context.Context) error { return release() }, nil
}

// sqliteMainFile returns the path of the main database's file, "" for an
// in-memory database.
func sqliteMainFile(ctx context.Context, db *sql.DB) (string, error) {
	rows, err := db.QueryContext(ctx, "PRAGMA database_list")
	if err != nil {
		return "", err
	}
	defer rows.Close()
	for rows.Next() {
		var seq int
		var name string
		var file sql.NullString
		if err := rows.Scan(&seq, &name, &file); err != nil {
			return "", err
		}
		if name == "main" {
			return file.String, rows.Err()
		}
	}
	return "", rows.Err()
}
