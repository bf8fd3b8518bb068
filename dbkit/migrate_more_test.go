package dbkit

import (
	"bytes"
	"context"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/covetgo/covet/errs"
)

// TestMigratorDown applies both test migrations, rolls back one with Down
// and the rest with DownTo.
func TestMigratorDown(t *testing.T) {
	for drv, db := range tkAll(t, "migdown") {
		t.Run(string(drv), func(t *testing.T) {
			ctx := context.Background()
			m, err := NewMigrator(db, MigrateOptions{FS: tkMigrations(t), Logger: tkQuiet})
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
	db := tkOpen(t, Options{Driver: MySQL, DSN: tkMySQLDB(t, "miglocktable")})
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
	m, err := NewMigrator(db, MigrateOptions{FS: tkMigrations(t), Logger: tkQuiet, Table: "other_versions", LockTimeout: time.Second})
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
	db := tkOpen(t, Options{Driver: MySQL, DSN: tkMySQLDB(t, "migpartial")})
	fsys := fstest.MapFS{
		"00001_two_tables.sql": {Data: []byte("-- +goose Up\nCREATE TABLE tk_part_a (id INT);\nCREATE TABLE tk_part_a (id INT);\n\n-- +goose Down\nDROP TABLE tk_part_a;\n")},
	}
	m, err := NewMigrator(db, MigrateOptions{FS: fsys, Logger: tkQuiet})
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

// TestLoggerLevelsFollowTheError logs a unique violation (answered 409) at
// Debug and an unrecognised failure at Error.
func TestLoggerLevelsFollowTheError(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	db := tkOpen(t, Options{Driver: SQLite, DSN: tkSQLitePath(t), Logger: l})
	tkExec(t, db, `CREATE TABLE tk_levels (id INTEGER PRIMARY KEY)`, `INSERT INTO tk_levels VALUES (1)`)
	cases := []struct {
		sql, level string
	}{
		{`INSERT INTO tk_levels VALUES (1)`, `"level":"DEBUG"`},
		{`INSERT INTO tk_missing VALUES (1)`, `"level":"ERROR"`},
	}
	for _, tc := range cases {
		buf.Reset()
		if err := db.Gorm().Exec(tc.sql).Error; err == nil {
			t.Fatalf("%s succeeded", tc.sql)
		}
		if out := buf.String(); !strings.Contains(out, "query failed") || !strings.Contains(out, tc.level) {
			t.Errorf("%s logged %s; want %s", tc.sql, out, tc.level)
		}
	}
}

// TestOpenMySQLURL opens MariaDB with a mysql:// URL.
func TestOpenMySQLURL(t *testing.T) {
	mc, err := mysql.ParseDSN(tkMySQLDB(t, "mysqlurl"))
	if err != nil {
		t.Fatal(err)
	}
	u := url.URL{Scheme: "mysql", User: url.UserPassword(mc.User, mc.Passwd), Host: mc.Addr, Path: "/" + mc.DBName}
	if mc.Passwd == "" {
		u.User = url.User(mc.User)
	}
	db := tkOpen(t, Options{Driver: MySQL, DSN: u.String()})
	var name string
	if err := db.Gorm().Raw(`SELECT DATABASE()`).Scan(&name).Error; err != nil || name != mc.DBName {
		t.Fatalf("connected to %q (%v); want %s", name, err, mc.DBName)
	}
	if _, err := Open(context.Background(), Options{Driver: MySQL, DSN: "mysql://u:sekrit-pw@127.0.0.1:1/x"}); err == nil || strings.Contains(err.Error(), "sekrit-pw") {
		t.Errorf("Open of an unreachable URL: %v; want an error without the password", err)
	}
}
