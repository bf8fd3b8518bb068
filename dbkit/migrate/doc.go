// Package migrate applies versioned SQL migrations to a dbkit database.
//
// A Migrator applies migrations from an fs.FS (an embed.FS) with goose's
// Provider. Down and DownTo roll back; Ready fails until the schema is
// current, with the signature of a readiness check. Instances starting
// together apply each migration once, under one lock per version table: on
// PostgreSQL goose's table locker (rather than its session locker, because
// a lock row also holds behind PgBouncer in transaction pooling, where a
// session advisory lock does not). goose has no locker for MySQL/MariaDB or
// SQLite, so this package keeps its own there (GET_LOCK on a connection of
// its own; an flock on a file next to the SQLite database), held around the
// whole operation because goose computes what is pending before it locks.
// On MySQL/MariaDB, whose DDL is not transactional, a failed migration may
// be partly applied; the error names the version and says what to check:
// keep one DDL statement per migration there. Use a Migrator for every
// schema a deployed service depends on; GORM's AutoMigrate suits
// prototypes and tests, since it never drops or renames, keeps no history,
// and two instances running it at once race each other.
//
//	//go:embed migrations/*.sql
//	var migrations embed.FS
//
//	files, _ := fs.Sub(migrations, "migrations")
//	m, err := migrate.New(db, migrate.Options{FS: files})
//	if err != nil {
//		return err
//	}
//	if _, err := m.Up(ctx); err != nil {
//		return err
//	}
package migrate
