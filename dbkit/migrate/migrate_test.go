package migrate

import (
	"context"
	"embed"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/covetgo/covet/dbkit"
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
			m, err := New(db, Options{FS: tkMigrations(t), Logger: tkQuiet})
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
	dbs := map[dbkit.Driver]*dbkit.DB{
		dbkit.Postgres: tkOpen(t, dbkit.Options{Driver: dbkit.Postgres, DSN: tkPostgresDB(t, "migrace")}),
		dbkit.MySQL:    tkOpen(t, dbkit.Options{Driver: dbkit.MySQL, DSN: tkMySQLDB(t, "migrace")}),
	}
	for drv, db := range dbs {
		t.Run(string(drv), func(t *testing.T) {
			var wg sync.WaitGroup
			applied := make([]int, 4)
			for i := range applied {
				m, err := New(db, Options{FS: files, Logger: tkQuiet, LockTimeout: 30 * time.Second})
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
			runs := tkRuns(t, db)
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
			m, err := New(db, Options{FS: broken, Logger: tkQuiet})
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
			m2, err := New(db, Options{FS: fixed, Logger: tkQuiet})
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

// tkNeedFileLocking skips tests of the SQLite migration lock where there
// is no flock(2).
func tkNeedFileLocking(t *testing.T) {
	t.Helper()
	if !fileLocking {
		t.Skip("SQLite migrations are not locked on this system")
	}
}

// tkUpTimesOut returns a Migrator of tkMigrations on db with the given
// lock timeout, after checking that its Up, while another holder has the
// lock, gives up with a lock timeout in reasonable time.
func tkUpTimesOut(t *testing.T, db *dbkit.DB, timeout time.Duration) *Migrator {
	t.Helper()
	m, err := New(db, Options{FS: tkMigrations(t), Logger: tkQuiet, LockTimeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := m.Up(context.Background()); err == nil || !strings.Contains(err.Error(), "not acquired") {
		t.Fatalf("Up while locked = %v; want a lock timeout", err)
	}
	if took := time.Since(start); took > timeout+4*time.Second {
		t.Errorf("waited %v for a %v lock timeout", took, timeout)
	}
	return m
}

func TestMigratorMySQLLockTimeout(t *testing.T) {
	tkNoLeaks(t)
	db := tkOpen(t, dbkit.Options{Driver: dbkit.MySQL, DSN: tkMySQLDB(t, "miglock")})
	ctx := context.Background()
	conn, err := db.SQL().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var got int
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK('covet_migrate:covet_dbkit_miglock.goose_db_version', 1)").Scan(&got); err != nil || got != 1 {
		t.Fatalf("holding the lock: %d, %v", got, err)
	}
	m := tkUpTimesOut(t, db, time.Second)
	if _, err := conn.ExecContext(ctx, "DO RELEASE_LOCK('covet_migrate:covet_dbkit_miglock.goose_db_version')"); err != nil {
		t.Fatal(err)
	}
	if p, err := m.Pending(ctx); err != nil || len(p) != 2 {
		t.Errorf("pending %v, %v; nothing may run without the lock", p, err)
	}
}

func TestNewMigratorValidates(t *testing.T) {
	t.Parallel()
	db := tkOpen(t, dbkit.Options{Driver: dbkit.SQLite, DSN: ":memory:"})
	cases := []struct {
		name string
		db   *dbkit.DB
		o    Options
	}{
		{"nil db", nil, Options{FS: tkMigrations(t)}},
		{"nil fs", db, Options{}},
		{"bad table", db, Options{FS: tkMigrations(t), Table: "v; drop"}},
		{"negative timeout", db, Options{FS: tkMigrations(t), LockTimeout: -1}},
		{"no migrations", db, Options{FS: fstest.MapFS{}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.db, tc.o); errs.KindOf(err) != errs.KindConfiguration {
				t.Fatalf("err %v; want a configuration error", err)
			}
		})
	}
}

// tkCountingMigrations records each run of migration 2 in tk_runs. Its
// first migration takes a while (it writes 300,000 rows), so instances
// that start together read the version table while it runs.
var tkCountingMigrations = fstest.MapFS{
	"00001_runs.sql": {Data: []byte(`-- +goose Up
CREATE TABLE tk_runs (n INTEGER);
CREATE TABLE tk_pad (x INTEGER);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000) INSERT INTO tk_pad SELECT x FROM c;
`)},
	"00002_count.sql": {Data: []byte("-- +goose Up\nINSERT INTO tk_runs (n) VALUES (1);\n")},
}

// tkRuns returns how many times migration 2 of tkCountingMigrations ran.
func tkRuns(t *testing.T, db *dbkit.DB) int64 {
	t.Helper()
	var runs int64
	if err := db.Gorm().Table("tk_runs").Count(&runs).Error; err != nil {
		t.Fatal(err)
	}
	return runs
}

// TestMigratorSQLiteInstancesApplyOnce: several instances, each with its
// own pool on the same SQLite file, start at once; the lock file makes
// them apply each migration once. Without it, one of them regularly
// failed with "table tk_runs already exists".
func TestMigratorSQLiteInstancesApplyOnce(t *testing.T) {
	tkNeedFileLocking(t)
	tkNoLeaks(t)
	for round := range 3 {
		path := tkSQLitePath(t)
		var wg sync.WaitGroup
		start := make(chan struct{})
		applied := make([]int, 4)
		var first *dbkit.DB
		for i := range applied {
			db := tkOpen(t, dbkit.Options{Driver: dbkit.SQLite, DSN: path})
			if first == nil {
				first = db
			}
			m, err := New(db, Options{FS: tkCountingMigrations, Logger: tkQuiet, LockTimeout: 5 * time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			wg.Go(func() {
				<-start
				res, err := m.Up(context.Background())
				if err != nil {
					t.Errorf("round %d, instance %d: %v", round, i, err)
				}
				applied[i] = len(res)
			})
		}
		close(start)
		wg.Wait()
		total := 0
		for _, n := range applied {
			total += n
		}
		if runs := tkRuns(t, first); runs != 1 || total != 2 {
			t.Fatalf("round %d: migration 2 ran %d times, %d applications in all (%v); want 1 and 2", round, runs, total, applied)
		}
		if _, err := os.Stat(path + "-goose_db_version.migrate.lock"); err != nil {
			t.Fatalf("lock file: %v", err)
		}
	}
}

// TestMigratorSQLiteProcessesApplyOnce runs the migrations from several
// processes at once (this test binary, started again as a child).
func TestMigratorSQLiteProcessesApplyOnce(t *testing.T) {
	tkNeedFileLocking(t)
	if path := os.Getenv("DBKIT_TEST_MIGRATE_CHILD"); path != "" {
		db := tkOpen(t, dbkit.Options{Driver: dbkit.SQLite, DSN: path})
		m, err := New(db, Options{FS: tkCountingMigrations, Logger: tkQuiet, LockTimeout: 5 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Up(context.Background()); err != nil {
			t.Fatal(err)
		}
		return
	}
	path := tkSQLitePath(t)
	var wg sync.WaitGroup
	for i := range 3 {
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestMigratorSQLiteProcessesApplyOnce$", "-test.count=1")
		cmd.Env = append(os.Environ(), "DBKIT_TEST_MIGRATE_CHILD="+path)
		wg.Go(func() {
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("process %d: %v\n%s", i, err, out)
			}
		})
	}
	wg.Wait()
	if runs := tkRuns(t, tkOpen(t, dbkit.Options{Driver: dbkit.SQLite, DSN: path})); runs != 1 {
		t.Fatalf("migration 2 ran %d times across the processes; want 1", runs)
	}
}

func TestMigratorSQLiteLockTimeout(t *testing.T) {
	tkNeedFileLocking(t)
	tkNoLeaks(t)
	path := tkSQLitePath(t)
	db := tkOpen(t, dbkit.Options{Driver: dbkit.SQLite, DSN: path})
	ctx := context.Background()
	release, err := lockFile(ctx, path+"-goose_db_version.migrate.lock")
	if err != nil {
		t.Fatal(err)
	}
	m := tkUpTimesOut(t, db, 300*time.Millisecond)
	// The caller's deadline ends the wait before the lock timeout does:
	// that is the caller's error, not a lock timeout.
	patient, err := New(db, Options{FS: tkMigrations(t), Logger: tkQuiet, LockTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := patient.Up(short); !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, errLockTimeout) {
		t.Errorf("Up past the caller's deadline = %v; want the context's error, not a lock timeout", err)
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	if p, err := m.Pending(ctx); err != nil || len(p) != 2 {
		t.Fatalf("pending %v, %v; nothing may run without the lock", p, err)
	}
	if res, err := m.Up(ctx); err != nil || len(res) != 2 {
		t.Fatalf("Up once released = %v, %v", res, err)
	}
}

func TestMigratorSQLiteUnlockedAndInMemory(t *testing.T) {
	tkNoLeaks(t)
	ctx := context.Background()
	path := tkSQLitePath(t)
	m, err := New(tkOpen(t, dbkit.Options{Driver: dbkit.SQLite, DSN: path}), Options{FS: tkMigrations(t), Logger: tkQuiet, DisableLocking: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + "-goose_db_version.migrate.lock"); !os.IsNotExist(err) {
		t.Errorf("DisableLocking made a lock file: %v", err)
	}
	mem := tkOpen(t, dbkit.Options{Driver: dbkit.SQLite, DSN: ":memory:"})
	if file, err := sqliteMainFile(ctx, mem.SQL()); err != nil || file != "" {
		t.Fatalf("in-memory main file = %q, %v; want none", file, err)
	}
	if file, err := sqliteMainFile(ctx, tkOpen(t, dbkit.Options{Driver: dbkit.SQLite, DSN: path}).SQL()); err != nil || file == "" {
		t.Fatalf("file database main file = %q, %v", file, err)
	}
}
