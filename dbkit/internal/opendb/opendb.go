// Package opendb opens dbkit databases for the tests of dbkit's
// subpackages (dbkit's own tests cannot import it: it imports dbkit).
package opendb

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/covetgo/covet/dbkit"
	"github.com/covetgo/covet/dbkit/internal/dbtest"
)

// Open opens cfg, with a discarding logger when it has none, and closes it
// when t ends.
func Open(t testing.TB, cfg dbkit.Options) *dbkit.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	db, err := dbkit.Open(ctx, cfg)
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

// All opens a fresh database named after name on each of the three
// servers.
func All(t *testing.T, name string) map[dbkit.Driver]*dbkit.DB {
	t.Helper()
	return map[dbkit.Driver]*dbkit.DB{
		dbkit.Postgres: Open(t, dbkit.Options{Driver: dbkit.Postgres, DSN: dbtest.PostgresDB(t, name)}),
		dbkit.MySQL:    Open(t, dbkit.Options{Driver: dbkit.MySQL, DSN: dbtest.MySQLDB(t, name)}),
		dbkit.SQLite:   Open(t, dbkit.Options{Driver: dbkit.SQLite, DSN: dbtest.SQLitePath(t)}),
	}
}
