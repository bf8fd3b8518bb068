package dbkit

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"
)

type tkAccount struct {
	ID      int64 `gorm:"primaryKey;autoIncrement:false"`
	Balance int64
}

func (tkAccount) TableName() string { return "tk_accounts" }

// TestTxRetriesRealSerializationFailure runs the classic write-skew on
// PostgreSQL at SERIALIZABLE: two transactions each read the sum of all rows
// and insert a row based on it. The server aborts one with SQLSTATE 40001;
// Tx must retry it and both must finally commit.
func TestTxRetriesRealSerializationFailure(t *testing.T) {
	tkNoLeaks(t)
	db := tkOpen(t, Options{Driver: Postgres, DSN: tkPostgresDB(t, "serial")})
	if err := db.Gorm().AutoMigrate(&tkAccount{}); err != nil {
		t.Fatal(err)
	}
	tkExec(t, db, `INSERT INTO tk_accounts (id, balance) VALUES (1, 100)`)

	var (
		barrier sync.WaitGroup
		runs    atomic.Int32
		retries []*Error
		mu      sync.Mutex
	)
	barrier.Add(2)
	opts := TxOptions{
		Isolation: sql.LevelSerializable,
		OnRetry: func(attempt int, err *Error) {
			mu.Lock()
			retries = append(retries, err)
			mu.Unlock()
		},
	}
	work := func(id int64) error {
		first := true
		return TxWith(context.Background(), db.Gorm(), opts, func(tx *gorm.DB) error {
			runs.Add(1)
			var sum int64
			if err := tx.Model(&tkAccount{}).Select("COALESCE(SUM(balance), 0)").Scan(&sum).Error; err != nil {
				return err
			}
			if first {
				// Both transactions have read before either writes.
				first = false
				barrier.Done()
				barrier.Wait()
			}
			return tx.Create(&tkAccount{ID: id, Balance: sum}).Error
		})
	}
	errc := make(chan error, 2)
	for _, id := range []int64{10, 20} {
		go func() { errc <- work(id) }()
	}
	for range 2 {
		if err := <-errc; err != nil {
			t.Fatalf("Tx: %v", err)
		}
	}
	if len(retries) == 0 {
		t.Fatal("no retry happened; the conflict was not provoked")
	}
	for _, e := range retries {
		if e.Code != "40001" || e.Driver != "postgres" {
			t.Errorf("retried on %v; want SQLSTATE 40001", e)
		}
	}
	if got := runs.Load(); got != int32(2+len(retries)) {
		t.Errorf("fn ran %d times for %d retries", got, len(retries))
	}
	var n int64
	db.Gorm().Model(&tkAccount{}).Count(&n)
	if n != 3 {
		t.Errorf("%d rows; want 3 (both transactions committed once)", n)
	}
}

// TestTxRetriesRealDeadlock locks two MariaDB rows in opposite orders from
// two transactions; InnoDB kills one with error 1213 and Tx retries it.
func TestTxRetriesRealDeadlock(t *testing.T) {
	tkNoLeaks(t)
	db := tkOpen(t, Options{Driver: MySQL, DSN: tkMySQLDB(t, "deadlock")})
	if err := db.Gorm().AutoMigrate(&tkAccount{}); err != nil {
		t.Fatal(err)
	}
	tkExec(t, db, `INSERT INTO tk_accounts (id, balance) VALUES (1, 0), (2, 0)`)
	var (
		barrier sync.WaitGroup
		mu      sync.Mutex
		retries []*Error
	)
	barrier.Add(2)
	opts := TxOptions{OnRetry: func(_ int, err *Error) {
		mu.Lock()
		retries = append(retries, err)
		mu.Unlock()
	}}
	work := func(first, second int64) error {
		once := true
		return TxWith(context.Background(), db.Gorm(), opts, func(tx *gorm.DB) error {
			if err := tx.Exec(`UPDATE tk_accounts SET balance = balance + 1 WHERE id = ?`, first).Error; err != nil {
				return err
			}
			if once {
				once = false
				barrier.Done()
				barrier.Wait()
			}
			return tx.Exec(`UPDATE tk_accounts SET balance = balance + 1 WHERE id = ?`, second).Error
		})
	}
	errc := make(chan error, 2)
	go func() { errc <- work(1, 2) }()
	go func() { errc <- work(2, 1) }()
	for range 2 {
		if err := <-errc; err != nil {
			t.Fatalf("Tx: %v", err)
		}
	}
	if len(retries) == 0 {
		t.Fatal("no retry happened; the deadlock was not provoked")
	}
	for _, e := range retries {
		if e.Code != "1213" {
			t.Errorf("retried on %v; want 1213", e)
		}
	}
	var sum int64
	db.Gorm().Model(&tkAccount{}).Select("SUM(balance)").Scan(&sum)
	if sum != 4 {
		t.Errorf("sum %d; want 4 (each transaction applied exactly once)", sum)
	}
}

// TestTxRetriesSQLiteBusy holds SQLite's write lock from a second pool so the
// first gets SQLITE_BUSY (busy_timeout 0), then releases it: the retry wins.
func TestTxRetriesSQLiteBusy(t *testing.T) {
	path := tkSQLitePath(t)
	a := tkOpen(t, Options{Driver: SQLite, DSN: path + "?_pragma=busy_timeout(0)"})
	b := tkOpen(t, Options{Driver: SQLite, DSN: path})
	if err := a.Gorm().AutoMigrate(&tkAccount{}); err != nil {
		t.Fatal(err)
	}
	lock := b.Gorm().Begin()
	if err := lock.Create(&tkAccount{ID: 1}).Error; err != nil {
		t.Fatal(err)
	}
	var retried atomic.Int32
	done := make(chan error, 1)
	go func() {
		done <- TxWith(context.Background(), a.Gorm(), TxOptions{MaxAttempts: 50, BaseDelay: 20 * time.Millisecond, OnRetry: func(_ int, e *Error) {
			if e.Driver == "sqlite" && e.Retryable {
				retried.Add(1)
			}
		}}, func(tx *gorm.DB) error {
			return tx.Create(&tkAccount{ID: 2}).Error
		})
	}()
	deadline := time.Now().Add(5 * time.Second)
	for retried.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if err := lock.Commit().Error; err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Tx: %v", err)
	}
	if retried.Load() == 0 {
		t.Fatal("no SQLITE_BUSY retry")
	}
}

func TestTxCommitRollbackPanicAndSavepoints(t *testing.T) {
	for drv, db := range tkAll(t, "txnest") {
		t.Run(string(drv), func(t *testing.T) {
			if err := db.Gorm().AutoMigrate(&tkAccount{}); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			count := func() int64 {
				var n int64
				if err := db.Gorm().Model(&tkAccount{}).Count(&n).Error; err != nil {
					t.Fatal(err)
				}
				return n
			}
			boom := errors.New("boom")

			if err := Tx(ctx, db.Gorm(), func(tx *gorm.DB) error { return tx.Create(&tkAccount{ID: 1}).Error }); err != nil {
				t.Fatal(err)
			}
			if err := Tx(ctx, db.Gorm(), func(tx *gorm.DB) error {
				if err := tx.Create(&tkAccount{ID: 2}).Error; err != nil {
					return err
				}
				return boom
			}); !errors.Is(err, boom) {
				t.Fatalf("err %v; want boom", err)
			}
			if n := count(); n != 1 {
				t.Fatalf("%d rows after a failed Tx; want 1", n)
			}

			func() {
				defer func() {
					if r := recover(); r != "kaboom" {
						t.Fatalf("recovered %v; want the re-panic", r)
					}
				}()
				_ = Tx(ctx, db.Gorm(), func(tx *gorm.DB) error {
					tx.Create(&tkAccount{ID: 3})
					panic("kaboom")
				})
			}()
			if n := count(); n != 1 {
				t.Fatalf("%d rows after a panicking Tx; want 1", n)
			}

			// Nested: the inner failure rolls back to its savepoint only.
			var names []string
			err := Tx(ctx, db.Gorm(), func(tx *gorm.DB) error {
				if err := tx.Create(&tkAccount{ID: 10}).Error; err != nil {
					return err
				}
				if err := Tx(tx.Statement.Context, tx, func(inner *gorm.DB) error {
					names = append(names, "inner-ok")
					return inner.Create(&tkAccount{ID: 11}).Error
				}); err != nil {
					return err
				}
				if err := Tx(tx.Statement.Context, tx, func(inner *gorm.DB) error {
					if err := inner.Create(&tkAccount{ID: 12}).Error; err != nil {
						return err
					}
					return Tx(context.Background(), inner, func(deeper *gorm.DB) error {
						deeper.Create(&tkAccount{ID: 13})
						return boom
					})
				}); !errors.Is(err, boom) {
					t.Errorf("nested err %v; want boom", err)
				}
				func() {
					defer func() { _ = recover() }()
					_ = Tx(tx.Statement.Context, tx, func(inner *gorm.DB) error {
						inner.Create(&tkAccount{ID: 14})
						panic("inner")
					})
				}()
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			db.Gorm().Model(&tkAccount{}).Order("id").Pluck("id", &ids)
			if want := []int64{1, 10, 11}; !equalInts(ids, want) {
				t.Fatalf("ids %v; want %v", ids, want)
			}
			if len(names) != 1 {
				t.Errorf("inner ran %d times", len(names))
			}
		})
	}
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestTxRetriesExhaustedAndContextBound(t *testing.T) {
	db := tkOpen(t, Options{Driver: SQLite, DSN: tkSQLitePath(t)})
	var runs int
	conflict := classifySQLite(sqliteBusy, errors.New("database is locked"))
	err := TxWith(context.Background(), db.Gorm(), TxOptions{MaxAttempts: 3, BaseDelay: time.Millisecond}, func(tx *gorm.DB) error {
		runs++
		return conflict
	})
	if !errors.Is(err, ErrRetriesExhausted) || runs != 3 {
		t.Fatalf("err %v after %d runs; want ErrRetriesExhausted after 3", err, runs)
	}
	if e := MapError(err); e.Status() != 409 || e.Header().Get("Retry-After") == "" {
		t.Errorf("exhausted maps to %d, Retry-After %q", e.Status(), e.Header().Get("Retry-After"))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	runs = 0
	err = TxWith(ctx, db.Gorm(), TxOptions{MaxAttempts: 1000, BaseDelay: 20 * time.Millisecond, MaxDelay: 40 * time.Millisecond}, func(tx *gorm.DB) error {
		runs++
		return conflict
	})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
		t.Fatalf("err %v after %v; want the context's deadline", err, time.Since(start))
	}

	runs = 0
	err = Tx(context.Background(), db.Gorm(), func(tx *gorm.DB) error {
		runs++
		return errors.New("not retryable")
	})
	if err == nil || runs != 1 {
		t.Fatalf("non-retryable error ran %d times", runs)
	}
}

// TestTxCommitOutcomeUnknown kills the transaction's own backend just before
// COMMIT, so the commit hits a dead connection: Tx must report
// ErrCommitUnknown and must not run fn again.
func TestTxCommitOutcomeUnknown(t *testing.T) {
	db := tkOpen(t, Options{Driver: Postgres, DSN: tkPostgresDB(t, "commitlost")})
	if err := db.Gorm().AutoMigrate(&tkAccount{}); err != nil {
		t.Fatal(err)
	}
	killer := tkOpen(t, Options{Driver: Postgres, DSN: testsvcPostgres(t)})
	runs := 0
	err := Tx(context.Background(), db.Gorm(), func(tx *gorm.DB) error {
		runs++
		var pid int
		if err := tx.Raw("SELECT pg_backend_pid()").Scan(&pid).Error; err != nil {
			return err
		}
		if err := tx.Create(&tkAccount{ID: 1}).Error; err != nil {
			return err
		}
		return killer.Gorm().Exec("SELECT pg_terminate_backend(?)", pid).Error
	})
	if !errors.Is(err, ErrCommitUnknown) {
		t.Fatalf("err %v; want ErrCommitUnknown", err)
	}
	if runs != 1 {
		t.Fatalf("fn ran %d times; an unknown commit must not be retried", runs)
	}
	if e := MapError(err); e.Code() != CodeCommitUnknown {
		t.Errorf("code %s; want %s", e.Code(), CodeCommitUnknown)
	}
}
