package dbkit

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/prometheus/client_golang/prometheus"
	gormlogger "gorm.io/gorm/logger"

	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/observe"
)

func TestPoolResolve(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		drv     Driver
		in      Pool
		want    Pool
		wantErr string
	}{
		{"postgres profile", Postgres, Pool{}, Profile(Postgres), ""},
		{"mysql lifetime under five minutes", MySQL, Pool{}, Profile(MySQL), ""},
		{"sqlite one writer", SQLite, Pool{}, Profile(SQLite), ""},
		{"idle follows open", Postgres, Pool{MaxOpen: 7}, Pool{MaxOpen: 7, MaxIdle: 7, MaxLifetime: 30 * time.Minute, MaxIdleTime: 10 * time.Minute, Jitter: 0.1}, ""},
		{"idle above open", Postgres, Pool{MaxOpen: 2, MaxIdle: 3}, Pool{}, "MaxIdle"},
		{"negative open", Postgres, Pool{MaxOpen: -1}, Pool{}, "MaxOpen"},
		{"idle time without lifetime", Postgres, Pool{MaxIdleTime: time.Minute, MaxLifetime: -1}, Pool{}, "without Pool.MaxLifetime"},
		{"idle time on sqlite without lifetime", SQLite, Pool{MaxIdleTime: time.Minute}, Pool{}, "without Pool.MaxLifetime"},
		{"jitter too large", MySQL, Pool{Jitter: 0.9}, Pool{}, "Jitter"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.in.resolve(tc.drv)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || errs.KindOf(err) != errs.KindConfiguration {
					t.Fatalf("err = %v; want a configuration error about %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %+v; want %+v", got, tc.want)
			}
		})
	}
	if p := Profile(MySQL); p.MaxLifetime >= 5*time.Minute || p.MaxIdle != p.MaxOpen {
		t.Errorf("MySQL profile %+v: lifetime must stay under 5 min and idle equal open", p)
	}
}

func TestOpenConfigErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		cfg  Options
	}{
		{"no driver", Options{DSN: "x"}},
		{"unknown driver", Options{Driver: "oracle", DSN: "x"}},
		{"no dsn", Options{Driver: Postgres}},
		{"sqlite replicas", Options{Driver: SQLite, DSN: ":memory:", Replicas: []string{"x"}}},
		{"bad policy", Options{Driver: SQLite, DSN: ":memory:", ReplicaPolicy: 9}},
		{"bad mysql dsn", Options{Driver: MySQL, DSN: "root:pw@@tcp(127.0.0.1:1"}},
		{"bad postgres dsn", Options{Driver: Postgres, DSN: "postgres://u:pw@127.0.0.1:notaport/db"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db, err := Open(context.Background(), tc.cfg)
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded")
			}
			if errs.KindOf(err) != errs.KindConfiguration {
				t.Fatalf("kind %v (%v); want configuration", errs.KindOf(err), err)
			}
		})
	}
}

func TestOpenNeverShowsThePassword(t *testing.T) {
	tkNoLeaks(t)
	const pw = "Sup3r-S3cret-pw"
	cases := []struct {
		name string
		cfg  Options
	}{
		{"postgres unreachable", Options{Driver: Postgres, DSN: "postgres://app:" + pw + "@127.0.0.1:1/db?sslmode=disable"}},
		{"postgres wrong user", Options{Driver: Postgres, DSN: "postgres://nobody_dbkit:" + pw + "@127.0.0.1:5432/nope?sslmode=disable"}},
		{"postgres bad port", Options{Driver: Postgres, DSN: "postgres://app:" + pw + "@127.0.0.1:99999999/db"}},
		{"mysql unreachable", Options{Driver: MySQL, DSN: "app:" + pw + "@tcp(127.0.0.1:1)/db"}},
		{"mysql wrong password", Options{Driver: MySQL, DSN: "nobody_dbkit:" + pw + "@tcp(127.0.0.1:3306)/db"}},
		{"mysql bad dsn", Options{Driver: MySQL, DSN: "app:" + pw + "@tcp(127.0.0.1:3306/db"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			tc.cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			tc.cfg.PingTimeout = time.Second
			db, err := Open(context.Background(), tc.cfg)
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded")
			}
			rec := httptest.NewRecorder()
			errs.Write(rec, tkRequest(t, http.MethodGet, "/", errs.Development), err)
			for where, text := range map[string]string{"error": err.Error(), "response": rec.Body.String(), "logs": logs.String()} {
				if strings.Contains(text, pw) {
					t.Errorf("%s shows the password: %s", where, text)
				}
			}
		})
	}
}

func TestOpenPingStatsAndMetrics(t *testing.T) {
	tkNoLeaks(t)
	reg := prometheus.NewRegistry()
	dbs := map[Driver]*DB{
		Postgres: tkOpen(t, Options{Driver: Postgres, DSN: tkPostgresDB(t, "open"), Registerer: reg, Name: "pg"}),
		MySQL:    tkOpen(t, Options{Driver: MySQL, DSN: tkMySQLDB(t, "open"), Registerer: reg, Name: "my"}),
		SQLite:   tkOpen(t, Options{Driver: SQLite, DSN: tkSQLitePath(t), Registerer: reg, Name: "lite"}),
	}
	for drv, db := range dbs {
		t.Run(string(drv), func(t *testing.T) {
			ctx := context.Background()
			if err := db.Ping(ctx); err != nil {
				t.Fatal(err)
			}
			if err := db.Ready(ctx); err != nil {
				t.Fatal(err)
			}
			p := Profile(drv)
			if s := db.Stats(); s.MaxOpenConnections != p.MaxOpen {
				t.Errorf("MaxOpenConnections %d; want %d", s.MaxOpenConnections, p.MaxOpen)
			}
			var n int
			if err := db.WithContext(ctx).Raw("SELECT 1").Scan(&n).Error; err != nil || n != 1 {
				t.Fatalf("SELECT 1 = %d, %v", n, err)
			}
		})
	}
	var lite string
	if err := dbs[SQLite].Gorm().Raw("PRAGMA journal_mode").Scan(&lite).Error; err != nil || !strings.EqualFold(lite, "wal") {
		t.Errorf("sqlite journal_mode = %q, %v; want wal", lite, err)
	}
	mc, err := mysql.ParseDSN(tkMySQLDB(t, "parsetime"))
	if err != nil {
		t.Fatal(err)
	}
	mc.ParseTime = false // FormatDSN then leaves parseTime out
	noParse := tkOpen(t, Options{Driver: MySQL, DSN: mc.FormatDSN()})
	var now time.Time
	if err := noParse.Gorm().Raw("SELECT NOW()").Scan(&now).Error; err != nil || now.IsZero() {
		t.Errorf("mysql DATETIME into time.Time without parseTime in the DSN: %v, %v", now, err)
	}
	var fk int
	if err := dbs[SQLite].Gorm().Raw("PRAGMA foreign_keys").Scan(&fk).Error; err != nil || fk != 1 {
		t.Errorf("sqlite foreign_keys = %d, %v; want 1", fk, err)
	}
	n, err := tkCountSeries(reg, "go_sql_max_open_connections", "go_sql_in_use_connections", "go_sql_wait_count_total")
	if err != nil || n != 9 {
		t.Errorf("gathered %d pool series (%v); want 9 (3 metrics x 3 databases)", n, err)
	}
	dup, err := Open(context.Background(), Options{Driver: SQLite, DSN: ":memory:", Registerer: reg, Name: "lite"})
	if err == nil {
		dup.Close()
		t.Error("a second DB with the same metrics name registered")
	}
}

func TestPingFailsWhenServerGone(t *testing.T) {
	dsn := tkPostgresDB(t, "gone")
	db := tkOpen(t, Options{Driver: Postgres, DSN: dsn, PingTimeout: time.Second})
	tkDropPostgres(t, "covet_dbkit_gone")
	err := db.Ping(context.Background())
	if err == nil {
		t.Fatal("Ping succeeded on a dropped database")
	}
	if e := errs.From(err); e.Status() != 503 {
		t.Fatalf("status %d; want 503", e.Status())
	}
}

func TestPoolExhaustionIs503WithinDeadline(t *testing.T) {
	tkNoLeaks(t)
	for _, drv := range []Driver{Postgres, MySQL, SQLite} {
		t.Run(string(drv), func(t *testing.T) {
			var dsn string
			switch drv {
			case Postgres:
				dsn = tkPostgresDB(t, "exhaust")
			case MySQL:
				dsn = tkMySQLDB(t, "exhaust")
			default:
				dsn = tkSQLitePath(t)
			}
			db := tkOpen(t, Options{Driver: drv, DSN: dsn, Pool: Pool{MaxOpen: 1}})
			mw, err := NewMiddleware(db, MiddlewareOptions{Timeout: 150 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			hold, err := db.SQL().Conn(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer hold.Close()
			h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var n int
				if err := From(r.Context()).Raw("SELECT 1").Scan(&n).Error; err != nil {
					errs.Write(w, r, db.MapError(err))
					return
				}
				w.WriteHeader(http.StatusOK)
			}))
			start := time.Now()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			took := time.Since(start)
			if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), CodePoolExhausted) {
				t.Fatalf("status %d %s; want 503 %s", rec.Code, rec.Body, CodePoolExhausted)
			}
			if took > 2*time.Second {
				t.Errorf("waited %v for a connection; the deadline was 150ms", took)
			}
		})
	}
}

func TestLoggerSlowQueryWithRequestIDAndNoParams(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	db := tkOpen(t, Options{Driver: SQLite, DSN: tkSQLitePath(t), Logger: l, Log: LoggerOptions{SlowQuery: time.Nanosecond, LogParams: true}})
	tkExec(t, db, `CREATE TABLE secrets (v TEXT)`)
	ctx := observe.WithRequestID(context.Background(), "req-1234")
	cases := []struct {
		mode       errs.Mode
		wantParams bool
	}{{errs.Production, false}, {errs.Development, true}}
	for _, tc := range cases {
		buf.Reset()
		rctx := errs.WithRenderer(ctx, tkRenderer(t, tc.mode))
		err := db.WithContext(rctx).Exec(`INSERT INTO secrets (v) VALUES (?)`, "hunter2-param").Error
		if err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		if !strings.Contains(out, "SQL executed") || !strings.Contains(out, `"request_id":"req-1234"`) {
			t.Errorf("%v: no slow-query line with the request ID: %s", tc.mode, out)
		}
		if got := strings.Contains(out, "hunter2-param"); got != tc.wantParams {
			t.Errorf("%v: params logged = %v; want %v: %s", tc.mode, got, tc.wantParams, out)
		}
	}
	buf.Reset()
	err := db.WithContext(ctx).Exec(`INSERT INTO missing_table (v) VALUES (?)`, "hunter2-param").Error
	if err == nil || !strings.Contains(buf.String(), "query failed") || strings.Contains(buf.String(), "hunter2-param") {
		t.Errorf("failed query log wrong (err %v): %s", err, buf.String())
	}
	quiet := NewLogger(l, LoggerOptions{SlowQuery: -1}).LogMode(gormlogger.Silent)
	buf.Reset()
	quiet.Trace(ctx, time.Now().Add(-time.Hour), func() (string, int64) { return "SELECT 1", 1 }, nil)
	if buf.Len() != 0 {
		t.Errorf("silent logger wrote: %s", buf.String())
	}
}

func TestJitteredLifetimeRecyclesConnections(t *testing.T) {
	tkNoLeaks(t)
	pool := Pool{MaxOpen: 4, MaxLifetime: 300 * time.Millisecond, MaxIdleTime: 200 * time.Millisecond, Jitter: 0.5}
	cases := []struct {
		name  string
		cfg   Options
		query string
	}{
		{"postgres", Options{Driver: Postgres, DSN: tkPostgresDB(t, "lifetime"), Pool: pool}, "SELECT pg_backend_pid()"},
		{"mysql", Options{Driver: MySQL, DSN: tkMySQLDB(t, "lifetime"), Pool: pool}, "SELECT CONNECTION_ID()"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := tkOpen(t, tc.cfg)
			ids := map[int64]bool{}
			deadline := time.Now().Add(3 * time.Second)
			for time.Now().Before(deadline) && len(ids) < 3 {
				var id int64
				if err := db.Gorm().Raw(tc.query).Scan(&id).Error; err != nil {
					t.Fatal(err)
				}
				ids[id] = true
				time.Sleep(50 * time.Millisecond)
			}
			if len(ids) < 3 {
				t.Fatalf("saw %d server connections in 3s with a 300ms lifetime; connections are not recycled", len(ids))
			}
		})
	}
}

func TestReplicaDSNPasswordNeverShown(t *testing.T) {
	const pw = "Rep1ica-S3cret"
	_, err := Open(context.Background(), Options{
		Driver: Postgres, DSN: tkPostgresDB(t, "reppw"),
		Replicas: []string{"postgres://app:" + pw + "@127.0.0.1:notaport/db"},
		Logger:   slog.New(slog.DiscardHandler),
	})
	if err == nil {
		t.Fatal("Open succeeded with a malformed replica DSN")
	}
	if strings.Contains(err.Error(), pw) {
		t.Fatalf("error shows the replica password: %v", err)
	}
}

func tkCountSeries(g prometheus.Gatherer, names ...string) (int, error) {
	mfs, err := g.Gather()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, mf := range mfs {
		for _, name := range names {
			if mf.GetName() == name {
				n += len(mf.GetMetric())
			}
		}
	}
	return n, nil
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
