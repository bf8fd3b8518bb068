package dbkit

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/glebarez/go-sqlite"
	gsqlite "github.com/glebarez/sqlite"
	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
	gmysql "gorm.io/driver/mysql"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"

	"github.com/covetgo/covet/errs"
)

// Driver names a database driver.
type Driver string

// The supported drivers.
const (
	// Postgres is PostgreSQL through pgx (gorm.io/driver/postgres). pgx
	// caches prepared statements per connection itself.
	Postgres Driver = "postgres"
	// MySQL is MySQL or MariaDB through go-sql-driver/mysql
	// (gorm.io/driver/mysql). By default statements use the text protocol
	// with parameters interpolated by the driver (interpolateParams=true,
	// which the driver does only for character sets where it is safe), one
	// round trip each; set GORM.PrepareStmt for GORM's prepared-statement
	// cache, or interpolateParams=false in the DSN for server-side
	// parameters.
	MySQL Driver = "mysql"
	// SQLite is SQLite through the pure-Go github.com/glebarez/sqlite, with
	// WAL, foreign keys, a busy timeout, immediate transactions and GORM's
	// prepared-statement cache.
	SQLite Driver = "sqlite"
)

// Options describes a database to open.
type Options struct {
	// Driver is Postgres, MySQL or SQLite. Required.
	Driver Driver
	// DSN is the driver's data source name: a postgres:// URL or key=value
	// string; a go-sql-driver DSN ("user:pass@tcp(host:3306)/db") or a
	// mysql://user:pass@host:3306/db URL (parseTime and interpolateParams
	// are turned on unless the DSN sets them); or an SQLite file name (":memory:" or "file:x.db?..."). Required. It
	// never appears in errors or logs.
	DSN string
	// Name labels metrics and log lines. Zero: the driver name.
	Name string
	// Pool sizes the pool; zero fields take the driver's Profile.
	Pool Pool
	// Replicas are DSNs of read replicas (same driver). Reads are routed to
	// them as described on WithIntent; see also ReadYourWrites.
	Replicas []string
	// ReplicaPolicy picks a healthy replica for each read. Zero: RoundRobin.
	ReplicaPolicy ReplicaPolicy
	// ReplicaCheckInterval is how often each replica is pinged; one that
	// fails (or is unreachable at Open, which is not an error) is out of
	// rotation (its reads go to the primary) until a ping succeeds again.
	// A read whose replica connection fails is taken out the same way and
	// answered by the primary. Zero: 5 s.
	ReplicaCheckInterval time.Duration
	// PingTimeout bounds Ping and Ready. Zero: 2 s.
	PingTimeout time.Duration
	// Logger receives GORM's log through NewLogger. Nil: slog.Default().
	Logger *slog.Logger
	// Log configures the GORM logger.
	Log LoggerOptions
	// Registerer, when set, receives the pool metrics (sql.DBStats of the
	// primary and each replica, labelled db_name) and replica health.
	Registerer prometheus.Registerer
	// GORM is the base GORM configuration. Nil: GORM's defaults. Its
	// Logger, when nil, becomes NewLogger(Logger, Log); its PrepareStmt is
	// turned on for SQLite and left as given (off by default) for the
	// others.
	GORM *gorm.Config
	// TracerProvider, when set, gives every statement a client span under
	// the span in its context, with the SQL text as written (placeholders,
	// never the bound parameters). Nil: no tracing.
	TracerProvider trace.TracerProvider
}

// DB is an open database: a GORM handle on a tuned pool, with health,
// metrics and optional read replicas. It is safe for concurrent use.
type DB struct {
	gorm        *gorm.DB
	sql         *sql.DB
	driver      Driver
	name        string
	pool        Pool
	pingTimeout time.Duration
	replicas    *replicaSet
	reg         prometheus.Registerer
	collectors  []prometheus.Collector
	closeOnce   sync.Once
	closeErr    error
}

// Config is the former name of Options.
//
// Deprecated: use Options.
type Config = Options

// Open opens the database described by o, pings it within ctx (and
// PingTimeout), and returns it. Errors are *errs.Error values; they never
// contain the DSN or its password.
func Open(ctx context.Context, o Options) (*DB, error) {
	pool, err := o.validate()
	if err != nil {
		return nil, err
	}
	d := &DB{
		driver:      o.Driver,
		name:        cmp.Or(o.Name, string(o.Driver)),
		pool:        pool,
		pingTimeout: o.PingTimeout,
		reg:         o.Registerer,
	}
	if d.pingTimeout <= 0 {
		d.pingTimeout = 2 * time.Second
	}
	d.sql, err = openPool(o.Driver, o.DSN, pool)
	if err != nil {
		return nil, err
	}
	if err := d.pingPool(ctx, d.sql); err != nil {
		_ = d.sql.Close()
		return nil, redact(err, o.DSN)
	}
	gcfg := d.gormConfig(o)
	d.gorm, err = gorm.Open(dialector(o.Driver, d.sql), gcfg)
	if err != nil {
		_ = d.sql.Close()
		return nil, errs.Wrap(redact(err, o.DSN), errs.KindServiceUnavailable, CodeUnavailable, "dbkit: initialising GORM failed")
	}
	if err := d.registerCallbacks(); err != nil {
		_ = d.sql.Close()
		return nil, err
	}
	if err := d.enableTracing(o.TracerProvider); err != nil {
		_ = d.sql.Close()
		return nil, err
	}
	if len(o.Replicas) > 0 {
		err = d.openReplicas(ctx, o, pool, gcfg)
	}
	if err == nil && o.Registerer != nil {
		err = d.register()
	}
	if err != nil {
		_ = d.Close()
		return nil, err
	}
	return d, nil
}

// validate checks o and returns the pool settings in effect.
func (o Options) validate() (Pool, error) {
	if o.DSN == "" {
		return Pool{}, errs.Configf("dbkit: Options.DSN is empty")
	}
	switch o.Driver {
	case Postgres, MySQL, SQLite:
	case "":
		return Pool{}, errs.Configf("dbkit: Options.Driver is empty (want postgres, mysql or sqlite)")
	default:
		return Pool{}, errs.Configf("dbkit: unknown Options.Driver %q (want postgres, mysql or sqlite)", string(o.Driver))
	}
	if o.ReplicaPolicy > Random {
		return Pool{}, errs.Configf("dbkit: unknown Options.ReplicaPolicy %d", o.ReplicaPolicy)
	}
	if o.Driver == SQLite && len(o.Replicas) > 0 {
		return Pool{}, errs.Configf("dbkit: Options.Replicas are not supported for SQLite")
	}
	return o.Pool.resolve(o.Driver)
}

// gormConfig is o.GORM completed with dbkit's logger and statement cache
// settings.
func (d *DB) gormConfig(o Options) *gorm.Config {
	gcfg := gorm.Config{}
	if o.GORM != nil {
		gcfg = *o.GORM
	}
	if gcfg.Logger == nil {
		l := cmp.Or(o.Logger, slog.Default())
		gcfg.Logger = NewLogger(l.With(slog.String("db", d.name)), o.Log)
	}
	if o.Driver == SQLite {
		gcfg.PrepareStmt = true
	}
	if gcfg.PrepareStmtTTL == 0 {
		// GORM's statement cache runs an expiry goroutine that never stops
		// when a TTL is set; at this value (its "no eviction" TTL) it starts
		// none, and the cache stays bounded by PrepareStmtMaxSize.
		gcfg.PrepareStmtTTL = 10 * 365 * 24 * time.Hour
	}
	return &gcfg
}

func openPool(drv Driver, dsn string, pool Pool) (*sql.DB, error) {
	var conn driver.Connector
	var err error
	switch drv {
	case Postgres:
		conn, err = postgresConnector(dsn, pool)
	case MySQL:
		conn, err = mysqlConnector(dsn)
	case SQLite:
		conn = sqliteConnector{dsnConnector{dsn: sqliteDSN(dsn), drv: &sqlite.Driver{}}}
	}
	if err != nil {
		return nil, err
	}
	if drv != Postgres && pool.MaxLifetime > 0 && pool.Jitter > 0 {
		conn = &lifetimeConnector{base: conn, lifetime: pool.MaxLifetime, jitter: pool.Jitter}
	}
	db := sql.OpenDB(conn)
	pool.apply(db)
	return db, nil
}

// postgresConnector is pgx's connector with a connect timeout and, when
// the pool jitters lifetimes, each connection's own expiry.
func postgresConnector(dsn string, pool Pool) (driver.Connector, error) {
	pc, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, errs.Configf("dbkit: cannot parse the postgres DSN: %v", redact(err, dsn))
	}
	if pc.ConnectTimeout == 0 {
		pc.ConnectTimeout = 5 * time.Second
	}
	// The per-connection lifetime lives in pgx's own hooks rather than a
	// wrapper, so sql.Conn.Raw hands out pgx's *stdlib.Conn (for CopyFrom,
	// LISTEN and the rest of pgx).
	var opts []stdlib.OptionOpenDB
	if pool.MaxLifetime > 0 && pool.Jitter > 0 {
		opts = append(opts,
			stdlib.OptionAfterConnect(func(_ context.Context, c *pgx.Conn) error {
				c.PgConn().CustomData()[expiresKey] = time.Now().Add(jitteredLifetime(pool))
				return nil
			}),
			stdlib.OptionResetSession(func(_ context.Context, c *pgx.Conn) error {
				if exp, ok := c.PgConn().CustomData()[expiresKey].(time.Time); ok && time.Now().After(exp) {
					return driver.ErrBadConn
				}
				return nil
			}))
	}
	return stdlib.GetConnector(*pc, opts...), nil
}

// mysqlConnector is go-sql-driver's connector with a connect timeout,
// parseTime and interpolateParams unless the DSN sets them.
func mysqlConnector(dsn string) (driver.Connector, error) {
	mc, err := parseMySQLDSN(dsn)
	if err != nil {
		return nil, errs.Configf("dbkit: cannot parse the mysql DSN: %v", redact(err, dsn))
	}
	if mc.Timeout == 0 {
		mc.Timeout = 5 * time.Second
	}
	if !strings.Contains(dsn, "parseTime=") {
		// GORM scans DATETIME columns into time.Time.
		mc.ParseTime = true
	}
	if !strings.Contains(dsn, "interpolateParams=") {
		// One round trip per statement in the text protocol, instead of
		// prepare, execute and close.
		mc.InterpolateParams = true
	}
	conn, err := mysql.NewConnector(mc)
	if err != nil {
		return nil, errs.Configf("dbkit: cannot use the mysql DSN: %v", redact(err, dsn))
	}
	return conn, nil
}

// parseMySQLDSN parses a go-sql-driver DSN or a
// mysql://user:pass@host:port/db?param=value URL (mariadb:// too; the port
// defaults to 3306, the query takes go-sql-driver's parameters).
func parseMySQLDSN(dsn string) (*mysql.Config, error) {
	scheme, _, _ := strings.Cut(dsn, "://")
	if scheme != "mysql" && scheme != "mariadb" {
		return mysql.ParseDSN(dsn)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, err
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "3306")
	}
	mc, err := mysql.ParseDSN("tcp(" + host + ")/" + strings.TrimPrefix(u.Path, "/") + "?" + u.RawQuery)
	if err != nil {
		return nil, err
	}
	mc.User = u.User.Username()
	mc.Passwd, _ = u.User.Password()
	return mc, nil
}

// sqliteDSN adds dbkit's SQLite settings unless the DSN sets them itself.
func sqliteDSN(dsn string) string {
	name, query, _ := strings.Cut(dsn, "?")
	q, err := url.ParseQuery(query)
	if err != nil {
		return dsn
	}
	pragmas := strings.ToLower(strings.Join(q["_pragma"], ","))
	add := func(key, value string) {
		if !strings.Contains(pragmas, key) {
			q.Add("_pragma", key+"("+value+")")
		}
	}
	if name != ":memory:" && !strings.Contains(dsn, "mode=memory") {
		add("journal_mode", "WAL")
		add("synchronous", "NORMAL")
	}
	add("foreign_keys", "1")
	add("busy_timeout", "5000")
	if q.Get("_txlock") == "" {
		q.Set("_txlock", "immediate")
	}
	return name + "?" + q.Encode()
}

func dialector(drv Driver, db *sql.DB) gorm.Dialector {
	switch drv {
	case Postgres:
		return postgres.New(postgres.Config{Conn: db})
	case MySQL:
		return gmysql.New(gmysql.Config{Conn: db})
	}
	return &gsqlite.Dialector{Conn: db}
}

func (d *DB) pingPool(ctx context.Context, db *sql.DB) error {
	ctx, cancel := context.WithTimeout(ctx, d.pingTimeout)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		msg := "dbkit: the " + d.name + " database does not answer"
		if c := Classify(err); c != nil {
			switch c.Code {
			case "3D000", "1049":
				msg = "dbkit: the database named in the " + d.name + " DSN does not exist on the server (" + c.Code + ")"
			case "28P01", "28000", "1045", "1044":
				msg = "dbkit: the " + d.name + " server refused the DSN's credentials (" + c.Code + ")"
			case "":
			default:
				msg += " (" + c.Code + ")"
			}
		}
		return errs.Wrap(err, errs.KindServiceUnavailable, CodeUnavailable, msg).WithHeader("Retry-After", "1")
	}
	return nil
}

// redact returns err with the DSN's password (and the DSN itself) replaced
// in its text, keeping it as the cause for errors.Is/As.
func redact(err error, dsn string) error {
	if err == nil {
		return nil
	}
	secrets := []string{dsn}
	if u, perr := url.Parse(dsn); perr == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			secrets = append(secrets, pw, url.QueryEscape(pw))
		}
	}
	if mc, perr := parseMySQLDSN(dsn); perr == nil && mc.Passwd != "" {
		secrets = append(secrets, mc.Passwd)
	}
	if pc, perr := pgx.ParseConfig(dsn); perr == nil && pc.Password != "" {
		secrets = append(secrets, pc.Password)
	}
	msg := err.Error()
	changed := false
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
			changed = true
		}
	}
	if !changed {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// Gorm returns the GORM handle. Prefer WithContext in request code.
func (d *DB) Gorm() *gorm.DB { return d.gorm }

// WithContext returns a GORM session bound to ctx: ctx's deadline bounds
// every query, and ctx's intent and read-your-writes state route them.
func (d *DB) WithContext(ctx context.Context) *gorm.DB { return d.gorm.WithContext(ctx) }

// SQL returns the primary's *sql.DB.
func (d *DB) SQL() *sql.DB { return d.sql }

// Driver returns the driver.
func (d *DB) Driver() Driver { return d.driver }

// Name returns the name used in metrics and logs.
func (d *DB) Name() string { return d.name }

// Pool returns the pool settings in effect (the profile merged with Options.Pool).
func (d *DB) Pool() Pool { return d.pool }

// Stats returns the primary pool's statistics.
func (d *DB) Stats() sql.DBStats { return d.sql.Stats() }

// Ping checks that the primary answers within PingTimeout (and ctx). Its
// error is a 503 *errs.Error.
func (d *DB) Ping(ctx context.Context) error { return d.pingPool(ctx, d.sql) }

// Ready is Ping with the signature of a readiness check
// (func(context.Context) error), for a serve readiness endpoint.
func (d *DB) Ready(ctx context.Context) error { return d.Ping(ctx) }

// MapError is the package's MapError plus pool exhaustion: a deadline that
// passed while every connection of the primary was in use and requests were
// waiting is reported as 503 database_busy rather than 504. Like the
// package's MapError it follows the package default errs Renderer; a
// handler uses MapErrorContext.
func (d *DB) MapError(err error) *errs.Error {
	return d.MapErrorContext(context.Background(), err)
}

// MapErrorContext is the package's MapErrorContext plus pool exhaustion (see
// DB.MapError): ctx's errs Renderer decides what the error reveals.
func (d *DB) MapErrorContext(ctx context.Context, err error) *errs.Error {
	if err != nil && errors.Is(err, context.DeadlineExceeded) && d.poolSaturated() {
		return MapErrorContext(ctx, fmt.Errorf("%w: %w", ErrPoolExhausted, err))
	}
	return MapErrorContext(ctx, err)
}

func (d *DB) poolSaturated() bool {
	s := d.sql.Stats()
	return s.MaxOpenConnections > 0 && s.InUse >= s.MaxOpenConnections
}

// Close stops the replica checks, unregisters the metrics and closes every
// pool. It is safe to call more than once.
func (d *DB) Close() error {
	d.closeOnce.Do(func() {
		if d.reg != nil {
			for _, c := range d.collectors {
				d.reg.Unregister(c)
			}
		}
		var errList []error
		if d.replicas != nil {
			errList = append(errList, d.replicas.close())
		}
		errList = append(errList, d.sql.Close())
		d.closeErr = errors.Join(errList...)
	})
	return d.closeErr
}
