package dbkit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// TestConnectPhaseServerErrorIs503 has PostgreSQL refuse new connections
// to a database (55000, "not currently accepting connections") when the
// pool (keeping no idle connection) opens one: the query's error is an unavailable database
// (503, Retry-After), not an internal error.
func TestConnectPhaseServerErrorIs503(t *testing.T) {
	dsn := tkPostgresDB(t, "noaccept")
	app := "covet_dbkit_na_" + tkUnique()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	db := tkOpen(t, Options{Driver: Postgres, DSN: u.String(), Pool: Pool{MaxIdle: -1}})
	tkExec(t, db, `SELECT 1`)
	admin, err := sql.Open("pgx", testsvcPostgres(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name := strings.TrimPrefix(u.Path, "/")
	if _, err := admin.Exec(`ALTER DATABASE ` + name + ` ALLOW_CONNECTIONS false`); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = admin.Exec(`ALTER DATABASE ` + name + ` ALLOW_CONNECTIONS true`) }()
	if _, err := admin.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, app); err != nil {
		t.Fatal(err)
	}
	var n int
	err = db.WithContext(context.Background()).Raw(`SELECT 1`).Scan(&n).Error
	var pg *pgconn.PgError
	if !errors.As(err, &pg) || pg.Code != "55000" {
		t.Fatalf("query error %v; want the server's 55000 while connecting", err)
	}
	e := MapError(err)
	if e.Status() != http.StatusServiceUnavailable || e.Header().Get("Retry-After") == "" {
		t.Errorf("MapError = %d %s (Retry-After %q); want 503 with Retry-After", e.Status(), e.Code(), e.Header().Get("Retry-After"))
	}
}

// TestOpenMissingDatabaseSaysSo opens a database that does not exist: the
// error says so instead of "does not answer".
func TestOpenMissingDatabaseSaysSo(t *testing.T) {
	u, err := url.Parse(testsvcPostgres(t))
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/covet_dbkit_missing_" + tkUnique()
	mc, err := mysql.ParseDSN(tkMySQLDSNAdmin(t))
	if err != nil {
		t.Fatal(err)
	}
	mc.DBName = "covet_dbkit_missing_" + tkUnique()
	for drv, dsn := range map[Driver]string{Postgres: u.String(), MySQL: mc.FormatDSN()} {
		_, err := Open(context.Background(), Options{Driver: drv, DSN: dsn})
		if err == nil || !strings.Contains(err.Error(), "does not exist") {
			t.Errorf("%s: Open of a missing database: %v; want it to say the database does not exist", drv, err)
		}
	}
}

// TestExclusionViolationIs409 violates a PostgreSQL exclusion constraint.
func TestExclusionViolationIs409(t *testing.T) {
	db := tkOpen(t, Options{Driver: Postgres, DSN: tkPostgresDB(t, "exclusion")})
	tkExec(t, db, `CREATE TABLE tk_booking (room INT, during INT4RANGE, EXCLUDE USING gist (during WITH &&))`,
		`INSERT INTO tk_booking VALUES (1, '[1,5)')`)
	err := db.Gorm().Exec(`INSERT INTO tk_booking VALUES (1, '[3,8)')`).Error
	if e := MapError(err); e.Status() != http.StatusConflict || e.Code() != CodeExclusion {
		t.Fatalf("MapError(%v) = %d %s; want 409 %s", err, e.Status(), e.Code(), CodeExclusion)
	}
}

// TestSQLConnRawReachesPgx uses the standard sql.Conn.Raw to reach pgx's
// connection (for CopyFrom) on a pool with per-connection lifetimes.
func TestSQLConnRawReachesPgx(t *testing.T) {
	db := tkOpen(t, Options{Driver: Postgres, DSN: tkPostgresDB(t, "rawconn")})
	if db.Pool().Jitter <= 0 || db.Pool().MaxLifetime <= 0 {
		t.Fatalf("pool %+v has no jittered lifetime", db.Pool())
	}
	tkExec(t, db, `CREATE TABLE tk_copy (id BIGINT)`)
	ctx := context.Background()
	conn, err := db.SQL().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("driver connection is %T, not *stdlib.Conn", dc)
		}
		_, err := c.Conn().CopyFrom(ctx, pgx.Identifier{"tk_copy"}, []string{"id"}, pgx.CopyFromRows([][]any{{int64(1)}, {int64(2)}}))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := db.Gorm().Raw(`SELECT count(*) FROM tk_copy`).Scan(&n).Error; err != nil || n != 2 {
		t.Fatalf("copied %d rows (%v); want 2", n, err)
	}
}
