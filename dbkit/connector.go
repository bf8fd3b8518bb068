package dbkit

import (
	"context"
	"database/sql/driver"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/glebarez/go-sqlite"
)

// lifetimeConnector gives every MySQL and SQLite connection its own
// lifetime, MaxLifetime less a random share of the jitter, and has
// database/sql discard it once that passes (PostgreSQL does the same in
// pgx's hooks) (database/sql's own lifetime is one value for the whole pool,
// so connections opened together expire together).
type lifetimeConnector struct {
	base     driver.Connector
	lifetime time.Duration
	jitter   float64
}

func (c *lifetimeConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.base.Connect(ctx)
	if err != nil {
		return nil, err
	}
	life := jitteredLifetime(Pool{MaxLifetime: c.lifetime, Jitter: c.jitter})
	return &lifetimeConn{Conn: conn, expires: time.Now().Add(life)}, nil
}

// expiresKey is where a pgx connection's jittered expiry is kept, in its
// CustomData.
const expiresKey = "dbkit.expires"

// jitteredLifetime is p.MaxLifetime less a random share of its jitter.
func jitteredLifetime(p Pool) time.Duration {
	return p.MaxLifetime - time.Duration(rand.Float64()*p.Jitter*float64(p.MaxLifetime))
}

func (c *lifetimeConnector) Driver() driver.Driver { return c.base.Driver() }

// lifetimeConn forwards every optional driver interface database/sql looks
// for, answering driver.ErrSkip where the wrapped connection lacks one, so
// database/sql takes the same fallback it would without the wrapper.
type lifetimeConn struct {
	driver.Conn
	expires time.Time
}

// Unwrap returns the driver's connection (reachable through sql.Conn.Raw).
func (c *lifetimeConn) Unwrap() driver.Conn { return c.Conn }

func (c *lifetimeConn) expired() bool { return time.Now().After(c.expires) }

func (c *lifetimeConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if p, ok := c.Conn.(driver.ConnPrepareContext); ok {
		return p.PrepareContext(ctx, query)
	}
	return c.Prepare(query)
}

func (c *lifetimeConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if b, ok := c.Conn.(driver.ConnBeginTx); ok {
		return b.BeginTx(ctx, opts)
	}
	return c.Begin() //nolint:staticcheck // the fallback database/sql itself uses
}

func (c *lifetimeConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if e, ok := c.Conn.(driver.ExecerContext); ok {
		return e.ExecContext(ctx, query, args)
	}
	return nil, driver.ErrSkip
}

func (c *lifetimeConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if q, ok := c.Conn.(driver.QueryerContext); ok {
		return q.QueryContext(ctx, query, args)
	}
	return nil, driver.ErrSkip
}

func (c *lifetimeConn) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *lifetimeConn) CheckNamedValue(nv *driver.NamedValue) error {
	if n, ok := c.Conn.(driver.NamedValueChecker); ok {
		return n.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

func (c *lifetimeConn) ResetSession(ctx context.Context) error {
	if c.expired() {
		return driver.ErrBadConn
	}
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *lifetimeConn) IsValid() bool {
	if c.expired() {
		return false
	}
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// dsnConnector is the connector of a driver that has no OpenConnector.
type dsnConnector struct {
	dsn string
	drv driver.Driver
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c dsnConnector) Driver() driver.Driver                        { return c.drv }

// sqliteConnector opens SQLite connections and tries again, for up to
// sqliteOpenPatience (or the context's deadline, if sooner), while the file
// is busy. The pragmas a new connection runs can meet another process
// opening the same file: switching a new file to WAL needs an exclusive
// lock, and where waiting could deadlock SQLite answers SQLITE_BUSY at once
// instead of calling the busy handler. One attempt can itself spend up to
// the busy timeout in SQLite's busy handler, which no context interrupts.
type sqliteConnector struct {
	dsnConnector
}

// sqliteOpenPatience bounds sqliteConnector's retries.
const sqliteOpenPatience = 5 * time.Second

func (c sqliteConnector) Connect(ctx context.Context) (driver.Conn, error) {
	deadline := time.Now().Add(sqliteOpenPatience)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	wait := time.Millisecond
	for {
		conn, err := c.drv.Open(c.dsn)
		if err == nil || !isSQLiteBusy(err) || time.Now().After(deadline) {
			return conn, err
		}
		t := time.NewTimer(min(wait, time.Until(deadline)))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, errors.Join(ctx.Err(), err)
		case <-t.C:
		}
		wait = min(2*wait, 50*time.Millisecond)
	}
}

// isSQLiteBusy reports whether err is SQLITE_BUSY or one of its extended
// codes.
func isSQLiteBusy(err error) bool {
	var sq *sqlite.Error
	return errors.As(err, &sq) && sq.Code()&0xff == sqliteBusy
}
