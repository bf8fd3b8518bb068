package migrate

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/covetgo/covet/dbkit"
	"github.com/covetgo/covet/errs"
)

// TestMigratorDown applies both test migrations, rolls back one with Down
// and the rest with DownTo.
func TestMigratorDown(t *testing.T) {
	for drv, db := range tkAll(t, "migdown") {
		t.Run(string(drv), func(t *testing.T) {
			ctx := context.Background()
			m, err := New(db, Options{FS: tkMigrations(t), Logger: tkQuiet})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := m.Up(ctx); err != nil {
				t.Fatal(err)
			}
			res, err := m.Down(ctx)
			if err != nil || res.Source.Version != 2 {
				t.Fatalf("Down = %v, %v; want version 2 rolled back", res, err)
			}
			if p, err := m.Pending(ctx); err != nil || len(p) != 1 || p[0] != 2 {
				t.Fatalf("Pending after Down = %v, %v; want [2]", p, err)
			}
			if err := m.Ready(ctx); errs.From(err).Code() != CodeSchemaPending {
				t.Errorf("Ready after Down = %v; want %s", err, CodeSchemaPending)
			}
			all, err := m.DownTo(ctx, 0)
			if err != nil || len(all) != 1 {
				t.Fatalf("DownTo(0) = %v, %v; want version 1 rolled back", all, err)
			}
			if err := db.Gorm().Exec(`SELECT 1 FROM notes`).Error; err == nil {
				t.Error("the notes table survived DownTo(0)")
			}
		})
	}
}

// TestMigratorLockFollowsTable holds the MariaDB migration lock of one
// version table: a migration set with another table must not wait for it.
func TestMigratorLockFollowsTable(t *testing.T) {
	db := tkOpen(t, dbkit.Options{Driver: dbkit.MySQL, DSN: tkMySQLDB(t, "miglocktable")})
	ctx := context.Background()
	conn, err := db.SQL().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Both the database-wide name and the default table's name: the lock
	// of the default migration set, whichever way it is named.
	for _, name := range []string{"covet_migrate:covet_dbkit_miglocktable", "covet_migrate:covet_dbkit_miglocktable.goose_db_version"} {
		var got int
		if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, 1)", name).Scan(&got); err != nil || got != 1 {
			t.Fatalf("holding the lock %s: %d, %v", name, got, err)
		}
	}
	m, err := New(db, Options{FS: tkMigrations(t), Logger: tkQuiet, Table: "other_versions", LockTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatalf("Up of another version table waited for an unrelated lock: %v", err)
	}
}

// TestMigratorMariaDBPartialFailure runs a migration whose second DDL
// statement fails on MariaDB: the first stays applied, and the error names
// the version and says so.
func TestMigratorMariaDBPartialFailure(t *testing.T) {
	db := tkOpen(t, dbkit.Options{Driver: dbkit.MySQL, DSN: tkMySQLDB(t, "migpartial")})
	fsys := fstest.MapFS{
		"00001_two_tables.sql": {Data: []byte("-- +goose Up\nCREATE TABLE tk_part_a (id INT);\nCREATE TABLE tk_part_a (id INT);\n\n-- +goose Down\nDROP TABLE tk_part_a;\n")},
	}
	m, err := New(db, Options{FS: fsys, Logger: tkQuiet})
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Up(context.Background())
	if err == nil {
		t.Fatal("Up succeeded")
	}
	msg := err.Error()
	for _, want := range []string{"migration 1 ", "00001_two_tables.sql", "MariaDB", "may have been applied"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	if err := db.Gorm().Exec(`SELECT 1 FROM tk_part_a`).Error; err != nil {
		t.Errorf("the first statement's table is missing (%v); the test no longer shows partial state", err)
	}
	if e := errs.From(err); e.Code() != CodeMigrationFailed {
		t.Errorf("code %s", e.Code())
	}
}
