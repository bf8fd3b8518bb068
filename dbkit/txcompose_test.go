package dbkit

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"github.com/covetgo/covet/errs"
)

type tkLedger struct {
	ID   int64 `gorm:"primaryKey;autoIncrement:false"`
	Note string
}

func (tkLedger) TableName() string { return "tk_ledger_compose" }

func tkLedgerCount(t *testing.T, db *DB) int64 {
	t.Helper()
	var n int64
	if err := db.Gorm().Model(&tkLedger{}).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// TestTxRefusesCrossDatabaseNesting runs Tx on database B while the context
// carries a transaction of database A: the row must not land in A, and the
// call must be refused rather than reported as a success.
func TestTxRefusesCrossDatabaseNesting(t *testing.T) {
	pairs := map[Driver][2]*DB{
		Postgres: {
			tkOpen(t, Options{Driver: Postgres, DSN: tkPostgresDB(t, "xdb_a")}),
			tkOpen(t, Options{Driver: Postgres, DSN: tkPostgresDB(t, "xdb_b")}),
		},
		MySQL: {
			tkOpen(t, Options{Driver: MySQL, DSN: tkMySQLDB(t, "xdb_a")}),
			tkOpen(t, Options{Driver: MySQL, DSN: tkMySQLDB(t, "xdb_b")}),
		},
		SQLite: {
			tkOpen(t, Options{Driver: SQLite, DSN: tkSQLitePath(t)}),
			tkOpen(t, Options{Driver: SQLite, DSN: tkSQLitePath(t)}),
		},
	}
	for drv, p := range pairs {
		t.Run(string(drv), func(t *testing.T) {
			a, b := p[0], p[1]
			for _, db := range p {
				if err := db.Gorm().AutoMigrate(&tkLedger{}); err != nil {
					t.Fatal(err)
				}
			}
			ctx := context.Background()
			var inner error
			err := a.Tx(ctx, func(tx *gorm.DB) error {
				if err := tx.Create(&tkLedger{ID: 1, Note: "a"}).Error; err != nil {
					return err
				}
				inner = Tx(tx.Statement.Context, b.Gorm(), func(tx *gorm.DB) error {
					return tx.Create(&tkLedger{ID: 2, Note: "meant for b"}).Error
				})
				// Same database: nests as a savepoint.
				return Tx(tx.Statement.Context, a.Gorm(), func(tx *gorm.DB) error {
					return tx.Create(&tkLedger{ID: 3, Note: "a again"}).Error
				})
			})
			if err != nil {
				t.Fatalf("outer Tx: %v", err)
			}
			if !errors.Is(inner, ErrCrossDatabaseTx) {
				t.Fatalf("Tx on another database inside a transaction = %v; want ErrCrossDatabaseTx", inner)
			}
			if e := MapError(inner); e.Code() != CodeCrossDatabaseTx || e.Kind() != errs.KindInternal {
				t.Errorf("MapError = %s %v; want %s internal", e.Code(), e.Kind(), CodeCrossDatabaseTx)
			}
			if n := tkLedgerCount(t, a); n != 2 {
				t.Errorf("database A holds %d rows; want 2 (nothing meant for B)", n)
			}
			if n := tkLedgerCount(t, b); n != 0 {
				t.Errorf("database B holds %d rows; want 0", n)
			}

			// A handle that is itself a transaction of B nests in B even
			// when ctx carries A's transaction.
			err = a.Tx(ctx, func(txa *gorm.DB) error {
				return b.Tx(context.Background(), func(txb *gorm.DB) error {
					return Tx(txa.Statement.Context, txb, func(tx *gorm.DB) error {
						return tx.Create(&tkLedger{ID: 4, Note: "b"}).Error
					})
				})
			})
			if err != nil {
				t.Fatalf("nesting on B's transaction: %v", err)
			}
			if n := tkLedgerCount(t, b); n != 1 {
				t.Errorf("database B holds %d rows; want 1", n)
			}
		})
	}
}

// TestTxCommitRolledBack swallows an error inside the transaction, so
// PostgreSQL answers COMMIT with ROLLBACK: that is a definite failure, not
// an unknown outcome, and a swallowed serialization failure is retried.
func TestTxCommitRolledBack(t *testing.T) {
	db := tkOpen(t, Options{Driver: Postgres, DSN: tkPostgresDB(t, "commitrb")})
	ctx := context.Background()
	raise := func(code string) string {
		return `DO $$ BEGIN RAISE EXCEPTION 'swallowed' USING ERRCODE = '` + code + `'; END $$`
	}

	runs := 0
	err := db.Tx(ctx, func(tx *gorm.DB) error {
		runs++
		if runs == 1 {
			_ = tx.Exec(raise("40001")).Error
		}
		return nil
	})
	if err != nil || runs != 2 {
		t.Fatalf("swallowed 40001: Tx = %v after %d runs; want nil after 2", err, runs)
	}

	runs = 0
	err = db.Tx(ctx, func(tx *gorm.DB) error {
		runs++
		_ = tx.Exec(raise("23505")).Error
		return nil
	})
	if err == nil || runs != 1 {
		t.Fatalf("swallowed 23505: Tx = %v after %d runs; want an error after 1", err, runs)
	}
	if errors.Is(err, ErrCommitUnknown) {
		t.Errorf("a COMMIT answered with ROLLBACK reported as %v", err)
	}
	if !errors.Is(err, pgx.ErrTxCommitRollback) {
		t.Errorf("error %v does not wrap pgx.ErrTxCommitRollback", err)
	}
	if code := MapError(err).Code(); code == CodeCommitUnknown {
		t.Errorf("MapError code %s", code)
	}
}
