package dbkit

import (
	"context"
	"database/sql"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	"go.uber.org/goleak"

	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/internal/testsvc"
)

// tkNoLeaks fails t if goroutines started by it are still running once its
// cleanups (registered later) have run.
func tkNoLeaks(t *testing.T) {
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

// tkPostgresDB creates (afresh) the PostgreSQL database covet_dbkit_<name>
// and returns its DSN; it is dropped when t ends.
func tkPostgresDB(t testing.TB, name string) string {
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
	t.Cleanup(func() { tkDropPostgres(t, full) })
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + full
	return u.String()
}

func tkDropPostgres(t testing.TB, full string) {
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

// tkMySQLDB creates (afresh) the MariaDB database covet_dbkit_<name> and
// returns its DSN; it is dropped when t ends.
func tkMySQLDB(t testing.TB, name string) string {
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

func tkSQLitePath(t testing.TB) string {
	return filepath.Join(t.TempDir(), "dbkit.db")
}

// tkOpen opens cfg and closes it when t ends.
func tkOpen(t testing.TB, cfg Options) *DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	db, err := Open(ctx, cfg)
	if err != nil {
		t.Fatalf("Open(%s): %v", cfg.Driver, err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

// tkAll opens a fresh database on each of the three servers.
func tkAll(t *testing.T, name string) map[Driver]*DB {
	t.Helper()
	return map[Driver]*DB{
		Postgres: tkOpen(t, Options{Driver: Postgres, DSN: tkPostgresDB(t, name)}),
		MySQL:    tkOpen(t, Options{Driver: MySQL, DSN: tkMySQLDB(t, name)}),
		SQLite:   tkOpen(t, Options{Driver: SQLite, DSN: tkSQLitePath(t)}),
	}
}

func tkExec(t testing.TB, db *DB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if err := db.Gorm().Exec(s).Error; err != nil {
			t.Fatalf("%s: %v", firstLine(s), err)
		}
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

func testsvcPostgres(t testing.TB) string { return testsvc.PostgresDSN(t) }

func tkMySQLDSNAdmin(t testing.TB) string { return testsvc.MySQLDSN(t) }

// tkRenderer returns an errs Renderer in mode that logs nowhere.
func tkRenderer(t testing.TB, mode errs.Mode) *errs.Renderer {
	t.Helper()
	rd, err := errs.NewRenderer(errs.Options{Mode: mode, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return rd
}

// tkRequest returns a request whose context carries a Renderer in mode.
func tkRequest(t testing.TB, method, target string, mode errs.Mode) *http.Request {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	return r.WithContext(errs.WithRenderer(r.Context(), tkRenderer(t, mode)))
}
