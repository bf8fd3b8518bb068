package dbkit

import (
	"database/sql"
	"time"

	"github.com/covetgo/covet/errs"
)

// Pool sizes and ages a connection pool. A zero field takes the driver's
// profile (see Profile); a negative duration means "unlimited", a negative
// Jitter means none.
type Pool struct {
	// MaxOpen bounds open connections. Requests beyond it wait for a free
	// connection, at most until their context's deadline.
	MaxOpen int
	// MaxIdle is how many idle connections are kept. Zero: equal to
	// MaxOpen, so a burst does not close and reopen connections; negative:
	// none. It may not exceed MaxOpen.
	MaxIdle int
	// MaxLifetime closes a connection this long after it was opened, less
	// its jitter. It must be set (positive) whenever MaxIdleTime is.
	MaxLifetime time.Duration
	// MaxIdleTime closes a connection idle this long. Setting it without a
	// MaxLifetime is refused: idle reaping alone lets busy connections live
	// forever, past load-balancer and failover limits.
	MaxIdleTime time.Duration
	// Jitter shortens each connection's lifetime by a random fraction of
	// MaxLifetime in [0, Jitter), so connections opened together (at start
	// or after a failover) do not all expire together. Zero: 0.1; at most
	// 0.5.
	Jitter float64
}

// Profile returns the pool profile dbkit uses for a driver instead of
// database/sql's defaults (unlimited connections, two idle, no lifetime):
//
//   - Postgres: 20 connections, all kept idle, 30 min lifetime, 10 min idle
//     time, 10 % jitter.
//   - MySQL: 20 connections, all kept idle, 3 min lifetime and 1 min idle
//     time, under the 5 min idle timeout of typical load balancers and
//     proxies in front of MySQL/MariaDB, 10 % jitter.
//   - SQLite: one connection (SQLite allows one writer; WAL lets readers of
//     other processes proceed), no lifetime or idle time.
func Profile(d Driver) Pool {
	switch d {
	case Postgres:
		return Pool{MaxOpen: 20, MaxIdle: 20, MaxLifetime: 30 * time.Minute, MaxIdleTime: 10 * time.Minute, Jitter: 0.1}
	case MySQL:
		return Pool{MaxOpen: 20, MaxIdle: 20, MaxLifetime: 3 * time.Minute, MaxIdleTime: time.Minute, Jitter: 0.1}
	case SQLite:
		return Pool{MaxOpen: 1, MaxIdle: 1, MaxLifetime: -1, MaxIdleTime: -1, Jitter: -1}
	}
	return Pool{}
}

// resolve fills zero fields from the driver's profile and validates.
func (p Pool) resolve(d Driver) (Pool, error) {
	prof := Profile(d)
	if p.MaxOpen < 0 {
		return p, errs.Configf("dbkit: Pool.MaxOpen is %d; it must be positive (zero takes the %s profile's %d)", p.MaxOpen, d, prof.MaxOpen)
	}
	if p.MaxOpen == 0 {
		p.MaxOpen = prof.MaxOpen
	}
	if p.MaxIdle == 0 {
		p.MaxIdle = p.MaxOpen
	}
	if p.MaxIdle > p.MaxOpen {
		return p, errs.Configf("dbkit: Pool.MaxIdle (%d) exceeds Pool.MaxOpen (%d)", p.MaxIdle, p.MaxOpen)
	}
	idleExplicit := p.MaxIdleTime > 0
	if p.MaxLifetime == 0 {
		p.MaxLifetime = prof.MaxLifetime
	}
	if p.MaxIdleTime == 0 {
		p.MaxIdleTime = prof.MaxIdleTime
	}
	if p.Jitter == 0 {
		p.Jitter = prof.Jitter
	}
	if p.MaxIdleTime > 0 && p.MaxLifetime <= 0 {
		if idleExplicit {
			return p, errs.Configf("dbkit: Pool.MaxIdleTime is set without Pool.MaxLifetime; set a lifetime too, or busy connections never expire")
		}
		p.MaxIdleTime = -1
	}
	if p.Jitter > 0.5 {
		return p, errs.Configf("dbkit: Pool.Jitter is %g; at most 0.5 is allowed", p.Jitter)
	}
	return p, nil
}

func (p Pool) apply(db *sql.DB) {
	db.SetMaxOpenConns(p.MaxOpen)
	db.SetMaxIdleConns(max(p.MaxIdle, 0))
	db.SetConnMaxLifetime(max(p.MaxLifetime, 0))
	db.SetConnMaxIdleTime(max(p.MaxIdleTime, 0))
}
