package dbkit

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"gorm.io/gorm"
)

// TestMariaDBStatementTimeoutIs504 lets MariaDB kill statements with
// max_statement_time, with dbkit's default (text protocol, no statement
// cache) and with prepared statements turned on: each kill (1969) must come
// back from the server as a 504, and the connection must stay usable.
func TestMariaDBStatementTimeoutIs504(t *testing.T) {
	dsn := tkMySQLDB(t, "stmttime")
	mc, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	if mc.Params == nil {
		mc.Params = map[string]string{}
	}
	mc.Params["max_statement_time"] = "0.2"
	for name, gcfg := range map[string]*gorm.Config{"default": nil, "prepared": {PrepareStmt: true}} {
		t.Run(name, func(t *testing.T) {
			db := tkOpen(t, Options{Driver: MySQL, DSN: mc.FormatDSN(), Pool: Pool{MaxOpen: 1}, GORM: gcfg})
			if got := db.Gorm().PrepareStmt; got != (gcfg != nil) {
				t.Fatalf("PrepareStmt = %v", got)
			}
			tkExec(t, db, `CREATE TABLE IF NOT EXISTS tk_slow (id BIGINT PRIMARY KEY)`, `INSERT IGNORE INTO tk_slow VALUES (1)`)
			for qname, query := range map[string]func(ctx context.Context) error{
				"raw with args": func(ctx context.Context) error {
					var n int
					return db.WithContext(ctx).Raw(`SELECT SLEEP(?) FROM tk_slow WHERE id = ?`, 5, 1).Scan(&n).Error
				},
				"rows streamed": func(ctx context.Context) error {
					var n []int64
					return db.WithContext(ctx).Raw(`SELECT a.seq FROM seq_1_to_100000 a, seq_1_to_1000 b WHERE a.seq > ?`, 0).Scan(&n).Error
				},
				"builder": func(ctx context.Context) error {
					var n []int
					return db.WithContext(ctx).Table("tk_slow").Where("id = ?", 1).Pluck("SLEEP(5)", &n).Error
				},
			} {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				err := query(ctx)
				cancel()
				var my *mysql.MySQLError
				if !errors.As(err, &my) || my.Number != 1969 {
					t.Errorf("%s: error %v; want MariaDB's 1969 (statement killed), not the context deadline", qname, err)
					continue
				}
				if e := MapError(err); e.Status() != http.StatusGatewayTimeout {
					t.Errorf("%s: MapError status %d; want 504", qname, e.Status())
				}
				ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
				var one []int
				err = db.WithContext(ctx).Table("tk_slow").Where("id = ?", 1).Pluck("id", &one).Error
				cancel()
				if err != nil || len(one) != 1 {
					t.Errorf("%s: the next statement on the connection: %v %v", qname, one, err)
				}
			}
		})
	}
}
