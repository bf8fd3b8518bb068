package dbkit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync/atomic"
	"time"

	"github.com/glebarez/go-sqlite"
	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/covetgo/covet/errs"
)

// TxOptions tunes TxWith. The zero value is what Tx uses.
type TxOptions struct {
	// MaxAttempts bounds how often the transaction runs, counting the first
	// run. Zero: 5. One disables retries.
	MaxAttempts int
	// BaseDelay and MaxDelay shape the full-jitter backoff between attempts:
	// before attempt n+1 Tx sleeps a random duration in
	// [0, min(MaxDelay, BaseDelay·2^(n-1))). Zero: 5 ms and 500 ms.
	BaseDelay, MaxDelay time.Duration
	// Isolation is the isolation level (sql.LevelDefault: the server's).
	Isolation sql.IsolationLevel
	// ReadOnly starts a read-only transaction.
	ReadOnly bool
	// RetryLockTimeouts retries MySQL/MariaDB lock wait timeouts (1205),
	// which are not retried by default: the statement waited
	// innodb_lock_wait_timeout already.
	RetryLockTimeouts bool
	// OnRetry, when set, is called before each retry with the attempt that
	// failed (1-based) and its classified error.
	OnRetry func(attempt int, err *Error)
}

type txState struct {
	tx *gorm.DB
	// retryable is the last retryable error a statement of the transaction
	// met, recorded even when fn swallowed it: PostgreSQL then answers
	// COMMIT with ROLLBACK, and the transaction is retried for it.
	retryable atomic.Pointer[Error]
}

// trackTxError records a retryable statement error in the transaction the
// statement's context carries.
func trackTxError(db *gorm.DB) {
	if db.Error == nil {
		return
	}
	if st := txFrom(db.Statement.Context); st != nil {
		if d := Classify(db.Error); d != nil && d.Retryable {
			st.retryable.Store(d)
		}
	}
}

type txKey struct{}

func txFrom(ctx context.Context) *txState {
	if ctx == nil {
		return nil
	}
	s, _ := ctx.Value(txKey{}).(*txState)
	return s
}

// Tx runs fn in a transaction on db with TxOptions{}; see TxWith.
func Tx(ctx context.Context, db *gorm.DB, fn func(tx *gorm.DB) error) error {
	return TxWith(ctx, db, TxOptions{}, fn)
}

// TxWith runs fn in a transaction and commits it when fn returns nil. It
// rolls back when fn returns an error or panics (re-panicking after the
// rollback).
//
// At the outermost level, a serialization failure or deadlock (PostgreSQL
// 40001 and 40P01, MySQL/MariaDB 1213 and 1020, and 1205 with
// RetryLockTimeouts, SQLite busy or locked), whether raised by a statement or
// by COMMIT, rolls back and runs fn again after a full-jitter backoff, up to
// MaxAttempts and never past ctx. fn must therefore be safe to run again:
// no side effects outside the transaction. When the attempts run out the
// error wraps ErrRetriesExhausted and the last error.
//
// Inside a transaction (db is one, or ctx carries one of the same
// database, as in fn or after the Middleware began one), TxWith nests
// through GORM's Transaction: a uniquely named savepoint, rolled back to on
// error or panic and otherwise kept until the outer transaction ends
// (gorm.Config.DisableNestedTransaction turns savepoints off); it never
// retries, leaving that to the outermost level. When ctx carries a transaction of another database (another Open,
// another shard), TxWith runs nothing and returns ErrCrossDatabaseTx: a
// transaction cannot span databases, and silently writing to the carried
// one would put the rows in the wrong place.
//
// When the connection fails during COMMIT, the transaction may or may not
// have committed: TxWith returns an error wrapping ErrCommitUnknown and does
// not retry. When PostgreSQL answers COMMIT with ROLLBACK (a statement
// failed and fn ignored the error), nothing was committed: the error wraps
// pgx.ErrTxCommitRollback, and when the ignored error was a serialization
// failure or deadlock, the transaction is retried like any other.
func TxWith(ctx context.Context, db *gorm.DB, o TxOptions, fn func(tx *gorm.DB) error) error {
	if inTransaction(db.Statement) {
		// GORM's Transaction nests: a uniquely named savepoint, rolled
		// back on error or panic.
		return db.Transaction(fn)
	}
	if st := txFrom(ctx); st != nil {
		if !sameDatabase(st.tx, db) {
			return ErrCrossDatabaseTx
		}
		return st.tx.WithContext(ctx).Transaction(fn)
	}
	o = o.withDefaults()
	if !o.ReadOnly {
		markWrote(ctx)
	}
	for attempt := 1; ; attempt++ {
		err := runTx(ctx, db, o, fn)
		if err == nil || errors.Is(err, ErrCommitUnknown) {
			return err
		}
		d := classify(err, o.RetryLockTimeouts)
		if d == nil || !d.Retryable {
			return err
		}
		if attempt >= o.MaxAttempts {
			return fmt.Errorf("%w after %d attempts: %w", ErrRetriesExhausted, attempt, d)
		}
		if o.OnRetry != nil {
			o.OnRetry(attempt, d)
		}
		if err := sleep(ctx, backoff(o, attempt)); err != nil {
			return fmt.Errorf("%w (retrying after %w)", err, d)
		}
	}
}

func (o TxOptions) withDefaults() TxOptions {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	if o.BaseDelay <= 0 {
		o.BaseDelay = 5 * time.Millisecond
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = 500 * time.Millisecond
	}
	return o
}

// CodeCrossDatabaseTx is the errs code of ErrCrossDatabaseTx.
const CodeCrossDatabaseTx = "cross_database_transaction"

// ErrCrossDatabaseTx is returned by Tx and TxWith when ctx carries a
// transaction of one database and the call names another. It is an
// *errs.Error of kind Internal (a programming error, answered 500): run the
// work for the other database outside the carried transaction (with a
// context that does not carry it, such as context.WithoutCancel of the
// request's parent) or on the same database.
var ErrCrossDatabaseTx = errs.New(errs.KindInternal, CodeCrossDatabaseTx,
	"dbkit: the context carries a transaction of another database; a transaction cannot span databases")

// sameDatabase reports whether a and b are handles of the same opened
// database: sessions and transactions of one gorm.Open share its dialector.
func sameDatabase(a, b *gorm.DB) bool {
	if a.Config == nil || b.Config == nil {
		return false
	}
	da, db := a.Config.Dialector, b.Config.Dialector
	t := reflect.TypeOf(da)
	return t == reflect.TypeOf(db) && t != nil && t.Comparable() && da == db
}

func backoff(o TxOptions, attempt int) time.Duration {
	ceil := o.MaxDelay
	if shift := attempt - 1; shift < 30 {
		if d := o.BaseDelay << shift; d > 0 && d < ceil {
			ceil = d
		}
	}
	return rand.N(ceil)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// runTx runs one attempt in GORM's Transaction, which begins, commits,
// and rolls back on error or panic. What dbkit adds is the state nested
// calls and the statement callbacks find in the context, a last check of
// ctx before COMMIT, and the reading of a failed COMMIT (commitError).
func runTx(ctx context.Context, db *gorm.DB, o TxOptions, fn func(tx *gorm.DB) error) error {
	var opts []*sql.TxOptions
	if o.Isolation != sql.LevelDefault || o.ReadOnly {
		opts = append(opts, &sql.TxOptions{Isolation: o.Isolation, ReadOnly: o.ReadOnly})
	}
	st := &txState{}
	committing := false
	err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		st.tx = tx.WithContext(context.WithValue(ctx, txKey{}, st))
		if err := fn(st.tx); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		committing = true
		return nil
	}, opts...)
	if err == nil || !committing {
		return err
	}
	if d := st.retryable.Load(); d != nil && errors.Is(err, pgx.ErrTxCommitRollback) {
		// fn swallowed a serialization failure; the server rolled back at
		// COMMIT because of it.
		return fmt.Errorf("%w (COMMIT rolled back after %w)", err, d)
	}
	return commitError(err)
}

// commitError is the error of a failed COMMIT: err itself when the
// transaction certainly did not commit, otherwise ErrCommitUnknown.
func commitError(err error) error {
	if commitRefused(err) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrCommitUnknown, safeError(err))
}

// commitRefused reports whether a failed COMMIT certainly did not commit:
// the server answered with an error other than a connection failure (a
// backend terminated around COMMIT reports one) or with ROLLBACK (pgx's
// ErrTxCommitRollback: an earlier error had aborted the transaction), the
// transaction was already over, or the driver knows nothing was sent.
func commitRefused(err error) bool {
	if d := Classify(err); d != nil && d.Class == ClassConnection && !pgconn.SafeToRetry(err) {
		return false
	}
	var pg *pgconn.PgError
	var my *mysql.MySQLError
	var sq *sqlite.Error
	return errors.As(err, &pg) || errors.As(err, &my) || errors.As(err, &sq) ||
		errors.Is(err, pgx.ErrTxCommitRollback) || errors.Is(err, sql.ErrTxDone) || errors.Is(err, gorm.ErrInvalidTransaction) ||
		pgconn.SafeToRetry(err)
}

// safeError returns err's classification when it has one, so the text
// carries no driver message.
func safeError(err error) error {
	if d := Classify(err); d != nil {
		return d
	}
	return &Error{Class: ClassOther, Err: err}
}

// InTx reports whether ctx carries a transaction begun by Tx or by the
// Middleware.
func InTx(ctx context.Context) bool { return txFrom(ctx) != nil }

// Tx runs fn in a transaction on d with TxOptions{}: d.Tx(ctx, fn) is
// Tx(ctx, d.Gorm(), fn).
func (d *DB) Tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return TxWith(ctx, d.gorm, TxOptions{}, fn)
}

// TxWith is TxWith(ctx, d.Gorm(), o, fn).
func (d *DB) TxWith(ctx context.Context, o TxOptions, fn func(tx *gorm.DB) error) error {
	return TxWith(ctx, d.gorm, o, fn)
}
