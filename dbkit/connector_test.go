package dbkit

import (
	"context"
	"database/sql/driver"
	"errors"
	"testing"
	"time"
)

// tkBusyError returns a real SQLITE_BUSY error: a second connection
// writing, without a busy timeout, to a file another one holds locked.
func tkBusyError(t *testing.T) error {
	t.Helper()
	path := tkSQLitePath(t)
	a := tkOpen(t, Options{Driver: SQLite, DSN: path})
	tkExec(t, a, "CREATE TABLE tk_busy (n INTEGER)")
	ctx := context.Background()
	tx, err := a.SQL().BeginTx(ctx, nil) // immediate: takes the write lock
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, "INSERT INTO tk_busy VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	b := tkOpen(t, Options{Driver: SQLite, DSN: path + "?_pragma=busy_timeout(0)"})
	err = b.SQL().QueryRowContext(ctx, "INSERT INTO tk_busy VALUES (2) RETURNING n").Scan(new(int))
	if !isSQLiteBusy(err) {
		t.Fatalf("want SQLITE_BUSY, got %v", err)
	}
	return err
}

// tkFlakyDriver fails its first fails opens with err.
type tkFlakyDriver struct {
	err   error
	fails int
	opens int
}

func (d *tkFlakyDriver) Open(string) (driver.Conn, error) {
	d.opens++
	if d.opens <= d.fails {
		return nil, d.err
	}
	return tkConn{}, nil
}

type tkConn struct{ driver.Conn }

func TestSQLiteConnectorRetriesBusyOnly(t *testing.T) {
	t.Parallel()
	busy := tkBusyError(t)
	t.Run("busy, then open", func(t *testing.T) {
		d := &tkFlakyDriver{err: busy, fails: 3}
		conn, err := sqliteConnector{dsnConnector{drv: d}}.Connect(context.Background())
		if err != nil || conn == nil || d.opens != 4 {
			t.Fatalf("Connect = %v, %v after %d opens; want a connection after 4", conn, err, d.opens)
		}
	})
	t.Run("another error is not retried", func(t *testing.T) {
		other := errors.New("unable to open database file")
		d := &tkFlakyDriver{err: other, fails: 100}
		if _, err := (sqliteConnector{dsnConnector{drv: d}}).Connect(context.Background()); !errors.Is(err, other) || d.opens != 1 {
			t.Fatalf("Connect = %v after %d opens; want the error after 1", err, d.opens)
		}
	})
	t.Run("always busy: the context's deadline ends it", func(t *testing.T) {
		d := &tkFlakyDriver{err: busy, fails: 1 << 30}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := sqliteConnector{dsnConnector{drv: d}}.Connect(ctx)
		if !isSQLiteBusy(err) || d.opens < 2 {
			t.Fatalf("Connect = %v after %d opens; want SQLITE_BUSY after retries", err, d.opens)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("Connect took %v with a 100ms deadline", took)
		}
	})
}
