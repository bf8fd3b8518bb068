// Package dbtest gives the tests of dbkit's packages fresh databases on the
// shared PostgreSQL and MariaDB servers and a goroutine leak check.
package dbtest

import (
	"context"
	"database/sql"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	"go.uber.org/goleak"

	"github.com/covetgo/covet/internal/testsvc"
)

// NoLeaks fails t if goroutines started by it are still running once its
// cleanups (registered later) have run.
func NoLeaks(t *testing.T) {
	t.Helper()
	// Closed pools' goroutines exit soon but not at once, and goleak.Find
	// waits about a second for them; on a loaded machine give them a few
	// such rounds before calling one a leak.
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		var err error
		for range 5 {
			if err = goleak.Find(ignore); err == nil {
				return
			}
		}
		t.Error(err)
	})
}

// PostgresDB creates (afresh) the PostgreSQL database covet_dbkit_<name>
// and returns its DSN; it is dropped when t ends.
func PostgresDB(t testing.TB, name string) string {
	t.Helper()
	admin := testsvc.PostgresDSN(t)
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	full := "covet_dbkit_" + name
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, `DROP DATABASE IF EXISTS `+full+` WITH (FORCE)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `CREATE DATABASE `+full); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { DropPostgres(t, full) })
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + full
	return u.String()
}

// DropPostgres drops the PostgreSQL database full, ending its sessions.
func DropPostgres(t testing.TB, full string) {
	db, err := sql.Open("pgx", testsvc.PostgresDSN(t))
	if err != nil {
		t.Error(err)
		return
	}
	defer db.Close()
	if _, err := db.Exec(`DROP DATABASE IF EXISTS ` + full + ` WITH (FORCE)`); err != nil {
		t.Error(err)
	}
}

// MySQLDB creates (afresh) the MariaDB database covet_dbkit_<name> and
// returns its DSN; it is dropped when t ends.
func MySQLDB(t testing.TB, name string) string {
	t.Helper()
	admin := testsvc.MySQLDSN(t)
	cfg, err := mysql.ParseDSN(admin)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("mysql", admin)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	full := "covet_dbkit_" + name
	if _, err := db.Exec("DROP DATABASE IF EXISTS " + full); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE DATABASE " + full); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("mysql", admin)
		if err != nil {
			t.Error(err)
			return
		}
		defer db.Close()
		if _, err := db.Exec("DROP DATABASE IF EXISTS " + full); err != nil {
			t.Error(err)
		}
	})
	cfg.DBName = full
	return cfg.FormatDSN()
}

// SQLitePath returns the path of a fresh SQLite file in t's temporary
// directory.
func SQLitePath(t testing.TB) string {
	return filepath.Join(t.TempDir(), "dbkit.db")
}
