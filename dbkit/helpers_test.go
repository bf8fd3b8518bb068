package dbkit

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/covetgo/covet/dbkit/internal/dbtest"
	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/internal/testsvc"
)

// The database helpers of every dbkit test package live in dbtest.
func tkNoLeaks(t *testing.T)                        { dbtest.NoLeaks(t) }
func tkPostgresDB(t testing.TB, name string) string { return dbtest.PostgresDB(t, name) }
func tkDropPostgres(t testing.TB, full string)      { dbtest.DropPostgres(t, full) }
func tkMySQLDB(t testing.TB, name string) string    { return dbtest.MySQLDB(t, name) }
func tkSQLitePath(t testing.TB) string              { return dbtest.SQLitePath(t) }

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
