package dbkit_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/covetgo/covet/dbkit"
	"github.com/covetgo/covet/internal/testsvc"
	"github.com/covetgo/covet/session"
	"github.com/covetgo/covet/session/sessiontest"
	"github.com/glebarez/sqlite"
	"gorm.io/driver/mysql"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

func sessionDBs(t *testing.T) map[string]func(t *testing.T) *gorm.DB {
	cfg := &gorm.Config{Logger: logger.Discard}
	open := func(t *testing.T, d gorm.Dialector) *gorm.DB {
		t.Helper()
		db, err := gorm.Open(d, cfg)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		t.Cleanup(func() {
			if sqlDB, err := db.DB(); err == nil {
				_ = sqlDB.Close()
			}
		})
		return db
	}
	return map[string]func(t *testing.T) *gorm.DB{
		"PostgreSQL": func(t *testing.T) *gorm.DB { return open(t, postgres.Open(testsvc.PostgresDSN(t))) },
		"MariaDB":    func(t *testing.T) *gorm.DB { return open(t, mysql.Open(testsvc.MySQLDSN(t))) },
		// As Open sets it up: writers wait for each other instead of
		// failing with SQLITE_BUSY.
		"SQLite": func(t *testing.T) *gorm.DB {
			return open(t, sqlite.Open("file:"+t.TempDir()+"/sessions.db?_pragma=busy_timeout(5000)&_txlock=immediate"))
		},
	}
}

// sessionTable creates a table unique to this test and drops it afterwards.
func sessionTable(t *testing.T, db *gorm.DB) *dbkit.SessionStore {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	st, err := dbkit.NewSessionStore(db, dbkit.SessionStoreOptions{Table: "covet_session_t" + hex.EncodeToString(b[:])})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatalf("Migrate is not idempotent: %v", err)
	}
	t.Cleanup(func() { _ = db.Exec("DROP TABLE " + st.Table()).Error })
	return st
}

func TestSessionStore(t *testing.T) {
	for name, open := range sessionDBs(t) {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			sessiontest.Run(t, func(t *testing.T, now func() time.Time) session.Store {
				st, err := session.NewSQLStore(sessionTable(t, db), session.SQLOptions{Now: now})
				if err != nil {
					t.Fatal(err)
				}
				return st
			})
		})
	}
}

func TestSessionStoreCleanup(t *testing.T) {
	for name, open := range sessionDBs(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db := open(t)
			clk := sessiontest.NewClock()
			st, _ := session.NewSQLStore(sessionTable(t, db), session.SQLOptions{Now: clk.Now})
			var short, long session.Key
			_, _ = rand.Read(short[:])
			_, _ = rand.Read(long[:])
			rec := session.Record{Created: clk.Now(), Expires: clk.Now().Add(time.Hour), LastSeen: clk.Now()}
			if err := st.Save(ctx, short, rec, time.Minute); err != nil {
				t.Fatal(err)
			}
			if err := st.Save(ctx, long, rec, time.Hour); err != nil {
				t.Fatal(err)
			}
			clk.Advance(2 * time.Minute)
			n, err := st.Cleanup(ctx)
			if err != nil || n != 1 {
				t.Fatalf("Cleanup = %d, %v; want 1 expired row removed", n, err)
			}
			if _, err := st.Load(ctx, short); err != session.ErrNotFound {
				t.Fatalf("expired row survived cleanup: %v", err)
			}
			if _, err := st.Load(ctx, long); err != nil {
				t.Fatalf("live row removed by cleanup: %v", err)
			}
		})
	}
}

func TestNewSessionStoreRefusesBadTables(t *testing.T) {
	db, err := gorm.Open(sqlite.Open("file:"+t.TempDir()+"/x.db"), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Sessions", "x; DROP TABLE users", "1abc", "a-b", "a_very_long_table_name_that_goes_past_the_limit_of_48"} {
		if _, err := dbkit.NewSessionStore(db, dbkit.SessionStoreOptions{Table: name}); err == nil {
			t.Errorf("table name %q accepted", name)
		}
	}
	if _, err := dbkit.NewSessionStore(nil, dbkit.SessionStoreOptions{}); err == nil {
		t.Errorf("nil db accepted")
	}
}

// ReplaceSessionIf writes only over a row that is there and that check
// accepts; check sees the row's current data, and its error comes back as
// it is, with the row unchanged.
func TestSessionStoreReplaceSessionIf(t *testing.T) {
	for name, open := range sessionDBs(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := sessionTable(t, open(t))
			now := time.Now().Truncate(time.Millisecond)
			refuse := errors.New("refused")
			called := false
			ok, err := st.ReplaceSessionIf(ctx, "missing", "u", []byte("x"), now, now.Add(time.Hour), func([]byte) error {
				called = true
				return nil
			})
			if ok || err != nil || called {
				t.Fatalf("missing row: %v, %v (check called: %v); want false, nil, not called", ok, err, called)
			}
			if err := st.SaveSession(ctx, "k", "u", []byte("old"), now, now.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			var seen []byte
			ok, err = st.ReplaceSessionIf(ctx, "k", "u", []byte("new"), now, now.Add(time.Hour), func(cur []byte) error {
				seen = append([]byte(nil), cur...)
				return refuse
			})
			if ok || !errors.Is(err, refuse) || string(seen) != "old" {
				t.Fatalf("refused: %v, %v, check saw %q; want false, the check's error, old", ok, err, seen)
			}
			if data, _, _, _ := st.LoadSession(ctx, "k"); string(data) != "old" {
				t.Fatalf("a refused replace wrote %q", data)
			}
			ok, err = st.ReplaceSessionIf(ctx, "k", "u", []byte("new"), now, now.Add(time.Hour), func([]byte) error { return nil })
			if !ok || err != nil {
				t.Fatalf("accepted: %v, %v", ok, err)
			}
			if data, _, _, _ := st.LoadSession(ctx, "k"); string(data) != "new" {
				t.Fatalf("after an accepted replace data = %q", data)
			}
		})
	}
}
