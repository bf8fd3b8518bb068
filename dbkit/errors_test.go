package dbkit

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/covetgo/covet/errs"
)

type tkParent struct {
	ID   int64 `gorm:"primaryKey"`
	Name string
}

// The schema is written per dialect so every constraint exists with a known
// name on every server.
var tkSchemas = map[Driver][]string{
	Postgres: {
		`CREATE TABLE tk_parents (id BIGINT PRIMARY KEY, name VARCHAR(100))`,
		`CREATE TABLE tk_items (
			id BIGINT PRIMARY KEY,
			email VARCHAR(100) NOT NULL CONSTRAINT tk_items_email_key UNIQUE,
			code VARCHAR(5),
			qty INTEGER CONSTRAINT tk_items_qty_check CHECK (qty >= 0),
			parent_id BIGINT CONSTRAINT tk_items_parent_fk REFERENCES tk_parents(id))`,
	},
	MySQL: {
		`CREATE TABLE tk_parents (id BIGINT PRIMARY KEY, name VARCHAR(100)) ENGINE=InnoDB`,
		`CREATE TABLE tk_items (
			id BIGINT PRIMARY KEY,
			email VARCHAR(100) NOT NULL,
			code VARCHAR(5),
			qty INTEGER,
			parent_id BIGINT,
			CONSTRAINT tk_items_email_key UNIQUE (email),
			CONSTRAINT tk_items_qty_check CHECK (qty >= 0),
			CONSTRAINT tk_items_parent_fk FOREIGN KEY (parent_id) REFERENCES tk_parents(id)) ENGINE=InnoDB`,
		`SET SESSION sql_mode = 'STRICT_ALL_TABLES'`,
	},
	SQLite: {
		`CREATE TABLE tk_parents (id INTEGER PRIMARY KEY, name TEXT)`,
		`CREATE TABLE tk_items (
			id INTEGER PRIMARY KEY,
			email TEXT NOT NULL CONSTRAINT tk_items_email_key UNIQUE,
			code TEXT CONSTRAINT tk_items_code_len CHECK (length(code) <= 5),
			qty INTEGER CONSTRAINT tk_items_qty_check CHECK (qty >= 0),
			parent_id INTEGER CONSTRAINT tk_items_parent_fk REFERENCES tk_parents(id))`,
	},
}

func TestMapErrorOnRealDatabases(t *testing.T) {
	tkNoLeaks(t)
	dbs := tkAll(t, "errors")
	for drv, db := range dbs {
		tkExec(t, db, tkSchemas[drv]...)
		tkExec(t, db, `INSERT INTO tk_parents (id, name) VALUES (1, 'p')`,
			`INSERT INTO tk_items (id, email, code, qty, parent_id) VALUES (1, 'taken@example.com', 'a', 1, 1)`)
	}
	const secret = "s3cr3t-value-0xC0FFEE"
	cases := []struct {
		name       string
		run        func(g *gorm.DB) error
		class      Class
		status     int
		code       string
		constraint bool // the driver reports the constraint name
	}{
		{"not found", func(g *gorm.DB) error {
			var p tkParent
			return g.Table("tk_parents").Where("id = ?", 404).First(&p).Error
		}, ClassNotFound, 404, CodeNotFound, false},
		{"unique violation", func(g *gorm.DB) error {
			return g.Exec(`INSERT INTO tk_items (id, email, qty) VALUES (2, ?, 1)`, "taken@example.com").Error
		}, ClassUnique, 409, CodeUniqueViolation, true},
		{"primary key violation", func(g *gorm.DB) error {
			return g.Exec(`INSERT INTO tk_parents (id, name) VALUES (1, ?)`, secret).Error
		}, ClassUnique, 409, CodeUniqueViolation, false},
		{"foreign key violation", func(g *gorm.DB) error {
			return g.Exec(`INSERT INTO tk_items (id, email, qty, parent_id) VALUES (3, ?, 1, 999)`, secret).Error
		}, ClassForeignKey, 409, CodeForeignKey, false},
		{"foreign key still referenced", func(g *gorm.DB) error {
			return g.Exec(`DELETE FROM tk_parents WHERE id = 1`).Error
		}, ClassForeignKey, 409, CodeForeignKey, false},
		{"check violation", func(g *gorm.DB) error {
			return g.Exec(`INSERT INTO tk_items (id, email, qty) VALUES (4, ?, -5)`, secret).Error
		}, ClassCheck, 422, CodeCheckViolation, false},
		{"not null violation", func(g *gorm.DB) error {
			return g.Exec(`INSERT INTO tk_items (id, email, qty) VALUES (5, NULL, 1)`).Error
		}, ClassNotNull, 422, CodeNotNullViolation, false},
	}
	for drv, db := range dbs {
		for _, tc := range cases {
			t.Run(string(drv)+"/"+tc.name, func(t *testing.T) {
				err := tc.run(db.Gorm())
				if err == nil {
					t.Fatal("statement succeeded; want an error")
				}
				d := Classify(err)
				if d == nil || d.Class != tc.class {
					t.Fatalf("Classify = %+v; want class %v (err %v)", d, tc.class, err)
				}
				if tc.class != ClassNotFound && d.Driver != string(drv) {
					t.Errorf("Driver = %q; want %q", d.Driver, drv)
				}
				if tc.constraint && !strings.Contains(d.Constraint, "email") {
					t.Errorf("Constraint = %q; want the email constraint", d.Constraint)
				}
				tkCheckResponse(t, err, tc.status, tc.code, secret)
			})
		}
		t.Run(string(drv)+"/value too long", func(t *testing.T) {
			err := db.Gorm().Exec(`INSERT INTO tk_items (id, email, code, qty) VALUES (6, ?, ?, 1)`, "long@example.com", "abcdefghij"+secret).Error
			d := Classify(err)
			want := ClassTooLong
			if drv == SQLite { // SQLite has no length types; a CHECK enforces it
				want = ClassCheck
			}
			if d == nil || d.Class != want {
				t.Fatalf("Classify = %+v; want %v (err %v)", d, want, err)
			}
			tkCheckResponse(t, err, 422, MapError(err).Code(), secret)
		})
	}
}

// tkCheckResponse renders err as a handler would and checks the status, the
// code and that neither SQL nor values leak, in every mode.
func tkCheckResponse(t *testing.T, err error, status int, code, secret string) {
	t.Helper()
	for _, mode := range []errs.Mode{errs.Production, errs.Development} {
		rec := httptest.NewRecorder()
		req := tkRequest(t, http.MethodPost, "/items", mode)
		errs.Write(rec, req, MapErrorContext(req.Context(), err))
		body := rec.Body.String()
		if rec.Code != status {
			t.Errorf("%v: status %d; want %d: %s", mode, rec.Code, status, body)
		}
		if !strings.Contains(body, `"code":"`+code+`"`) {
			t.Errorf("%v: body lacks code %q: %s", mode, code, body)
		}
		for _, leak := range []string{secret, "INSERT", "insert into", "DELETE", "SELECT", "taken@example.com"} {
			if strings.Contains(body, leak) {
				t.Errorf("%v: body leaks %q: %s", mode, leak, body)
			}
		}
	}
	var d *Error
	if !errors.As(MapError(err), &d) {
		t.Errorf("errors.As(MapError(err), *Error) failed")
	}
}

func TestUniqueConstraintNameOnlyInDevelopment(t *testing.T) {
	t.Parallel()
	err := &Error{Driver: "postgres", Code: "23505", Class: ClassUnique, Constraint: "users_email_key"}
	for _, tc := range []struct {
		mode errs.Mode
		want bool
	}{{errs.Production, false}, {errs.Staging, false}, {errs.Development, true}} {
		rec := httptest.NewRecorder()
		req := tkRequest(t, http.MethodGet, "/", tc.mode)
		errs.Write(rec, req, MapErrorContext(req.Context(), err))
		if got := strings.Contains(rec.Body.String(), "users_email_key"); got != tc.want {
			t.Errorf("%v: constraint shown = %v; want %v: %s", tc.mode, got, tc.want, rec.Body)
		}
	}
}

func TestMapErrorByCode(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		err    error
		status int
		code   string
		retry  bool
	}{
		{"nil", nil, 0, "", false},
		{"pg serialization", &pgconn.PgError{Code: "40001"}, 409, CodeConflict, true},
		{"pg deadlock", &pgconn.PgError{Code: "40P01"}, 409, CodeConflict, true},
		{"pg statement timeout", &pgconn.PgError{Code: "57014"}, 504, CodeTimeout, false},
		{"pg admin shutdown", &pgconn.PgError{Code: "57P01"}, 503, CodeUnavailable, false},
		{"pg connection exception", &pgconn.PgError{Code: "08006"}, 503, CodeUnavailable, false},
		{"pg bad text", &pgconn.PgError{Code: "22P02"}, 422, CodeInvalidValue, false},
		{"pg syntax error", &pgconn.PgError{Code: "42601", Message: "syntax error at or near \"SELEC\""}, 500, CodeDatabase, false},
		{"mysql deadlock", &mysql.MySQLError{Number: 1213}, 409, CodeConflict, true},
		{"mariadb record changed", &mysql.MySQLError{Number: 1020}, 409, CodeConflict, true},
		{"mysql lock wait", &mysql.MySQLError{Number: 1205}, 409, CodeConflict, false},
		{"mariadb statement timeout", &mysql.MySQLError{Number: 1969}, 504, CodeTimeout, false},
		{"mysql too many connections", &mysql.MySQLError{Number: 1040}, 503, CodeUnavailable, false},
		{"mysql invalid conn", mysql.ErrInvalidConn, 503, CodeUnavailable, false},
		{"sqlite busy", tkSQLiteErr(5), 409, CodeConflict, true},
		{"sqlite busy snapshot", tkSQLiteErr(517), 409, CodeConflict, true},
		{"sqlite interrupt", tkSQLiteErr(9), 504, CodeTimeout, false},
		{"deadline", context.DeadlineExceeded, 504, CodeTimeout, false},
		{"canceled", context.Canceled, 499, "request_canceled", false},
		{"retries exhausted", errors.Join(ErrRetriesExhausted, &pgconn.PgError{Code: "40001"}), 409, CodeRetriesExhausted, true},
		{"commit unknown", ErrCommitUnknown, 500, CodeCommitUnknown, false},
		{"pool exhausted", ErrPoolExhausted, 503, CodePoolExhausted, false},
		{"errs passes through", errs.New(errs.KindGone, "gone", "gone"), 410, "gone", false},
		{"unknown", errors.New("strange"), 500, CodeDatabase, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := MapError(tc.err)
			if tc.err == nil {
				if e != nil {
					t.Fatalf("MapError(nil) = %v", e)
				}
				return
			}
			if e.Status() != tc.status || e.Code() != tc.code {
				t.Fatalf("MapError = %d %s; want %d %s", e.Status(), e.Code(), tc.status, tc.code)
			}
			if d := Classify(tc.err); d != nil && d.Retryable != tc.retry {
				t.Errorf("Retryable = %v; want %v", d.Retryable, tc.retry)
			}
			if (tc.status == 409 && tc.code != CodeUniqueViolation && tc.code != CodeForeignKey) || tc.status == 503 {
				if e.Header().Get("Retry-After") == "" {
					t.Errorf("no Retry-After on %d %s", tc.status, tc.code)
				}
			}
			if strings.Contains(e.Error(), "SELEC") {
				t.Errorf("error text leaks SQL: %q", e.Error())
			}
		})
	}
	if d := classify(&mysql.MySQLError{Number: 1205}, true); !d.Retryable {
		t.Error("1205 is not retryable with RetryLockTimeouts")
	}
}

func TestStatementTimeoutMapsTo504(t *testing.T) {
	tkNoLeaks(t)
	t.Run("postgres statement_timeout", func(t *testing.T) {
		db := tkOpen(t, Options{Driver: Postgres, DSN: tkPostgresDB(t, "timeout")})
		err := db.Gorm().Transaction(func(tx *gorm.DB) error {
			if err := tx.Exec(`SET LOCAL statement_timeout = '50ms'`).Error; err != nil {
				return err
			}
			return tx.Exec(`SELECT pg_sleep(2)`).Error
		})
		if e := MapError(err); e.Status() != 504 {
			t.Fatalf("status %d (%v); want 504", e.Status(), err)
		}
	})
	t.Run("mariadb max_statement_time", func(t *testing.T) {
		db := tkOpen(t, Options{Driver: MySQL, DSN: tkMySQLDB(t, "timeout")})
		err := db.Gorm().Exec(`SET STATEMENT max_statement_time=0.05 FOR SELECT SLEEP(2) FROM DUAL WHERE 1 = (SELECT COUNT(*) FROM (SELECT SLEEP(2)) x)`).Error
		if e := MapError(err); e.Status() != 504 {
			t.Fatalf("status %d (%v); want 504", e.Status(), err)
		}
	})
	t.Run("context deadline", func(t *testing.T) {
		for drv, db := range map[Driver]*DB{
			Postgres: tkOpen(t, Options{Driver: Postgres, DSN: tkPostgresDB(t, "deadline")}),
			MySQL:    tkOpen(t, Options{Driver: MySQL, DSN: tkMySQLDB(t, "deadline")}),
		} {
			sleep := `SELECT pg_sleep(5)`
			if drv == MySQL {
				sleep = `SELECT SLEEP(5)`
			}
			// The connection is taken before the deadline starts, so on a
			// loaded machine the deadline cannot fall into the connect
			// phase (which would be a connection failure, 503): it always
			// interrupts the running statement.
			err := db.Gorm().Connection(func(conn *gorm.DB) error {
				ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
				defer cancel()
				return conn.WithContext(ctx).Exec(sleep).Error
			})
			if e := MapError(err); e.Status() != 504 {
				t.Errorf("%s: status %d (%v); want 504", drv, e.Status(), err)
			}
		}
	})
}

// tkSQLiteErr is the classification of an SQLite result code (the driver's
// error type cannot be built outside it; the real-database tests cover it).
func tkSQLiteErr(code int) error { return classifySQLite(code, errors.New("sqlite error")) }
