package dbkit

import (
	"context"
	"embed"
	"io/fs"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/covetgo/covet/errs"
)

//go:embed testdata/migrations/*.sql
var tkMigrationFiles embed.FS

func tkMigrations(t testing.TB) fs.FS {
	sub, err := fs.Sub(tkMigrationFiles, "testdata/migrations")
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

var tkQuiet = slog.New(slog.DiscardHandler)

func TestMigratorUpStatusReady(t *testing.T) {
	tkNoLeaks(t)
	for drv, db := range tkAll(t, "migrate") {
		t.Run(string(drv), func(t *testing.T) {
			ctx := context.Background()
			m, err := NewMigrator(db, MigrateOptions{FS: tkMigrations(t), Logger: tkQuiet})
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Ready(ctx); errs.From(err).Code() != CodeSchemaPending || errs.From(err).Status() != 503 {
				t.Fatalf("Ready before Up = %v; want 503 %s", err, CodeSchemaPending)
			}
			pending, err := m.Pending(ctx)
			if err != nil || len(pending) != 2 {
				t.Fatalf("Pending = %v, %v; want [1 2]", pending, err)
			}
			res, err := m.Up(ctx)
			if err != nil || len(res) != 2 {
				t.Fatalf("Up = %v, %v", res, err)
			}
			if err := m.Ready(ctx); err != nil {
				t.Fatalf("Ready after Up: %v", err)
			}
			st, err := m.Status(ctx)
			if err != nil || len(st) != 2 || st[1].State != goose.StateApplied {
				t.Fatalf("Status = %v, %v", st, err)
			}
			if err := db.Gorm().Exec(`INSERT INTO notes (id, body, author) VALUES (1, 'x', 'y')`).Error; err != nil {
				t.Fatalf("schema not applied: %v", err)
			}
			again, err := m.Up(ctx)
			if err != nil || len(again) != 0 {
				t.Fatalf("second Up = %v, %v; want nothing to do", again, err)
			}
		})
	}
}

// TestMigratorConcurrentInstancesApplyOnce starts several migrators on the
// same database at once; a migration that counts its runs must run once.
func TestMigratorConcurrentInstancesApplyOnce(t *testing.T) {
	tkNoLeaks(t)
	files := fstest.MapFS{
		"00001_runs.sql":  {Data: []byte("-- +goose Up\nCREATE TABLE tk_runs (n INTEGER);\n")},
		"00002_count.sql": {Data: []byte("-- +goose Up\nINSERT INTO tk_runs (n) VALUES (1);\n")},
	}
	dbs := map[Driver]*DB{
		Postgres: tkOpen(t, Config{Driver: Postgres, DSN: tkPostgresDB(t, "migrace")}),
		MySQL:    tkOpen(t, Config{Driver: MySQL, DSN: tkMySQLDB(t, "migrace")}),
	}
	for drv, db := range dbs {
		t.Run(string(drv), func(t *testing.T) {
			var wg sync.WaitGroup
			applied := make([]int, 4)
			for i := range applied {
				m, err := NewMigrator(db, MigrateOptions{FS: files, Logger: tkQuiet, LockTimeout: 30 * time.Second})
				if err != nil {
					t.Fatal(err)
				}
				wg.Go(func() {
					res, err := m.Up(context.Background())
					if err != nil {
						t.Errorf("instance %d: %v", i, err)
					}
					applied[i] = len(res)
				})
			}
			wg.Wait()
			var runs int64
			if err := db.Gorm().Table("tk_runs").Count(&runs).Error; err != nil {
				t.Fatal(err)
			}
			total := 0
			for _, n := range applied {
				total += n
			}
			if runs != 1 || total != 2 {
				t.Fatalf("migration 2 ran %d times, %d applications in all (%v); want 1 and 2", runs, total, applied)
			}
		})
	}
}

func TestMigratorFailedMigrationIsNotADeadEnd(t *testing.T) {
	tkNoLeaks(t)
	good := "-- +goose Up\nCREATE TABLE tk_ok (id INTEGER);\n"
	broken := fstest.MapFS{
		"00001_ok.sql":  {Data: []byte(good)},
		"00002_bad.sql": {Data: []byte("-- +goose Up\nINSERT INTO tk_missing_table (id) VALUES (1);\n")},
	}
	fixed := fstest.MapFS{
		"00001_ok.sql":  {Data: []byte(good)},
		"00002_bad.sql": {Data: []byte("-- +goose Up\nCREATE TABLE tk_bad (id INTEGER PRIMARY KEY);\n")},
	}
	for drv, db := range tkAll(t, "migfail") {
		t.Run(string(drv), func(t *testing.T) {
			ctx := context.Background()
			m, err := NewMigrator(db, MigrateOptions{FS: broken, Logger: tkQuiet})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := m.Up(ctx); err == nil || !strings.Contains(err.Error(), "version:2") {
				t.Fatalf("Up = %v; want a failure of version 2", err)
			}
			if p, err := m.Pending(ctx); err != nil || len(p) != 1 || p[0] != 2 {
				t.Fatalf("Pending = %v, %v; want [2]", p, err)
			}
			if err := m.Ready(ctx); err == nil {
				t.Fatal("Ready passed with a failed migration")
			}
			// The next deploy carries a fixed migration 2: it simply runs.
			m2, err := NewMigrator(db, MigrateOptions{FS: fixed, Logger: tkQuiet})
			if err != nil {
				t.Fatal(err)
			}
			if res, err := m2.Up(ctx); err != nil || len(res) != 1 {
				t.Fatalf("Up with the fix = %v, %v", res, err)
			}
			if err := m2.Ready(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestMigratorMySQLLockTimeout(t *testing.T) {
	tkNoLeaks(t)
	db := tkOpen(t, Config{Driver: MySQL, DSN: tkMySQLDB(t, "miglock")})
	ctx := context.Background()
	conn, err := db.SQL().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var got int
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK('covet_migrate:covet_dbkit_miglock', 1)").Scan(&got); err != nil || got != 1 {
		t.Fatalf("holding the lock: %d, %v", got, err)
	}
	m, err := NewMigrator(db, MigrateOptions{FS: tkMigrations(t), Logger: tkQuiet, LockTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := m.Up(ctx); err == nil || !strings.Contains(err.Error(), "not acquired") {
		t.Fatalf("Up while locked = %v; want a lock timeout", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("waited %v for a 1s lock timeout", took)
	}
	if _, err := conn.ExecContext(ctx, "DO RELEASE_LOCK('covet_migrate:covet_dbkit_miglock')"); err != nil {
		t.Fatal(err)
	}
	if p, err := m.Pending(ctx); err != nil || len(p) != 2 {
		t.Errorf("pending %v, %v; nothing may run without the lock", p, err)
	}
}

func TestNewMigratorValidates(t *testing.T) {
	db := tkOpen(t, Config{Driver: SQLite, DSN: ":memory:"})
	cases := []struct {
		name string
		db   *DB
		o    MigrateOptions
	}{
		{"nil db", nil, MigrateOptions{FS: tkMigrations(t)}},
		{"nil fs", db, MigrateOptions{}},
		{"bad table", db, MigrateOptions{FS: tkMigrations(t), Table: "v; drop"}},
		{"negative timeout", db, MigrateOptions{FS: tkMigrations(t), LockTimeout: -1}},
		{"no migrations", db, MigrateOptions{FS: fstest.MapFS{}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewMigrator(tc.db, tc.o); errs.KindOf(err) != errs.KindConfiguration {
				t.Fatalf("err %v; want a configuration error", err)
			}
		})
	}
}
