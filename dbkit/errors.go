package dbkit

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"

	"github.com/glebarez/go-sqlite"
	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/covetgo/covet/errs"
)

// Class is what kind of failure a database error is, independent of the
// driver that reported it.
type Class uint8

// The classes. ClassOther is a database error dbkit does not recognise; it is
// reported as a 500.
const (
	ClassOther         Class = iota // unrecognised: 500
	ClassNotFound                   // no row matched (gorm.ErrRecordNotFound): 404
	ClassUnique                     // unique or primary-key violation: 409
	ClassForeignKey                 // foreign-key violation: 409
	ClassCheck                      // check constraint violation: 422
	ClassNotNull                    // NOT NULL violation: 422
	ClassTooLong                    // value too long or out of range for its column: 422
	ClassInvalidValue               // a value the column type cannot represent: 422
	ClassSerialization              // serialization failure or deadlock; retrying may succeed: 409
	ClassLockTimeout                // a lock wait timed out: 409
	ClassTimeout                    // statement timeout, query canceled, or context deadline: 504
	ClassConnection                 // the server could not be reached or went away: 503
	ClassExclusion                  // PostgreSQL exclusion constraint violation: 409
)

var classNames = [...]string{
	ClassOther:         "other",
	ClassNotFound:      "not_found",
	ClassUnique:        "unique_violation",
	ClassForeignKey:    "foreign_key_violation",
	ClassCheck:         "check_violation",
	ClassNotNull:       "not_null_violation",
	ClassTooLong:       "value_too_long",
	ClassInvalidValue:  "invalid_value",
	ClassSerialization: "serialization_failure",
	ClassLockTimeout:   "lock_timeout",
	ClassTimeout:       "timeout",
	ClassConnection:    "connection_failure",
	ClassExclusion:     "exclusion_violation",
}

// String returns the class's stable name, such as "unique_violation".
func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return "other"
}

// Error is a classified database error. It keeps the driver's error as its
// cause (errors.As reaches *pgconn.PgError, *mysql.MySQLError or
// *sqlite.Error), while its own text names only the driver, the code, the
// class and the constraint: never SQL text or bound values, which driver
// messages may contain.
type Error struct {
	// Driver is "postgres", "mysql" or "sqlite" (empty for errors that did
	// not come from a server, such as gorm.ErrRecordNotFound).
	Driver string
	// Code is the server's code: a PostgreSQL SQLSTATE ("23505"), a MySQL or
	// MariaDB error number ("1062"), or an SQLite extended result code
	// ("2067").
	Code string
	// Class is the driver-independent classification.
	Class Class
	// Constraint is the violated constraint or index name, when the driver
	// reports it.
	Constraint string
	// Retryable reports whether running the whole transaction again may
	// succeed (serialization failures and deadlocks; lock wait timeouts only
	// when classified with RetryLockTimeouts).
	Retryable bool
	// Err is the driver's error.
	Err error
}

// Error returns a text without SQL or values: "dbkit: postgres 23505
// unique_violation (constraint users_email_key)".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("dbkit: ")
	if e.Driver != "" {
		b.WriteString(e.Driver)
		b.WriteByte(' ')
	}
	if e.Code != "" {
		b.WriteString(e.Code)
		b.WriteByte(' ')
	}
	b.WriteString(e.Class.String())
	if e.Constraint != "" {
		b.WriteString(" (constraint ")
		b.WriteString(e.Constraint)
		b.WriteByte(')')
	}
	return b.String()
}

// Unwrap returns the driver's error.
func (e *Error) Unwrap() error { return e.Err }

// Sentinel errors of the transaction helpers.
var (
	// ErrRetriesExhausted wraps the last retryable error when Tx gave up.
	ErrRetriesExhausted = errors.New("dbkit: transaction retries exhausted")
	// ErrCommitUnknown is returned when the connection failed during COMMIT:
	// the transaction may or may not have been committed, so it is not
	// retried. The caller must check the outcome (for example by an
	// idempotency key) before doing the work again.
	ErrCommitUnknown = errors.New("dbkit: commit outcome unknown")
	// ErrPoolExhausted is reported when a request's deadline passed while it
	// waited for a free connection.
	ErrPoolExhausted = errors.New("dbkit: connection pool exhausted")
)

// Classify returns err as an *Error when it is a database error dbkit
// recognises by the driver's code (never by message text), or nil. It
// unwraps: an *Error already in err's chain is returned as is.
func Classify(err error) *Error {
	return classify(err, false)
}

func classify(err error, retryLockTimeouts bool) *Error {
	if err == nil {
		return nil
	}
	var de *Error
	if errors.As(err, &de) {
		if retryLockTimeouts && de.Class == ClassLockTimeout && !de.Retryable {
			c := *de
			c.Retryable = true
			return &c
		}
		return de
	}
	var pg *pgconn.PgError
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		// Whatever the server answered while a connection was being
		// opened (55000 not accepting connections, 53300 too many
		// connections, 57P03 starting up, 3D000 no such database), the
		// database is unavailable to this request: classified before the
		// codes, which mean other things on an open connection.
		e := &Error{Driver: "postgres", Class: ClassConnection, Err: err}
		if errors.As(err, &pg) {
			e.Code = pg.Code
		}
		return e
	}
	if errors.As(err, &pg) {
		return classifyPostgres(pg, err)
	}
	var my *mysql.MySQLError
	if errors.As(err, &my) {
		return classifyMySQL(my, err, retryLockTimeouts)
	}
	var sq *sqlite.Error
	if errors.As(err, &sq) {
		return classifySQLite(sq.Code(), err)
	}
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound), errors.Is(err, sql.ErrNoRows):
		return &Error{Class: ClassNotFound, Err: err}
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Class: ClassTimeout, Err: err}
	case isConnectionError(err):
		return &Error{Class: ClassConnection, Err: err}
	}
	return nil
}

func classifyPostgres(pg *pgconn.PgError, err error) *Error {
	e := &Error{Driver: "postgres", Code: pg.Code, Constraint: pg.ConstraintName, Err: err}
	switch pg.Code {
	case "23505":
		e.Class = ClassUnique
	case "23503":
		e.Class = ClassForeignKey
	case "23514":
		e.Class = ClassCheck
	case "23P01":
		e.Class = ClassExclusion
	case "23502":
		e.Class = ClassNotNull
	case "22001", "22003":
		e.Class = ClassTooLong
	case "40001", "40P01":
		e.Class, e.Retryable = ClassSerialization, true
	case "55P03":
		e.Class = ClassLockTimeout
	case "57014":
		e.Class = ClassTimeout
	case "57P01", "57P02", "57P03", "53300":
		e.Class = ClassConnection
	default:
		switch {
		case strings.HasPrefix(pg.Code, "08"):
			e.Class = ClassConnection
		case strings.HasPrefix(pg.Code, "22"):
			e.Class = ClassInvalidValue
		}
	}
	return e
}

func classifyMySQL(my *mysql.MySQLError, err error, retryLockTimeouts bool) *Error {
	e := &Error{Driver: "mysql", Code: strconv.Itoa(int(my.Number)), Err: err}
	switch my.Number {
	case 1062, 1586, 1169:
		e.Class = ClassUnique
		e.Constraint = mysqlDuplicateKey(my.Message)
	case 1451, 1452, 1216, 1217:
		e.Class = ClassForeignKey
	case 3819, 4025:
		e.Class = ClassCheck
	case 1048, 1364:
		e.Class = ClassNotNull
	case 1406, 1264:
		e.Class = ClassTooLong
	case 1366, 1292, 1265:
		e.Class = ClassInvalidValue
	case 1213, 1020:
		e.Class, e.Retryable = ClassSerialization, true
	case 1205:
		e.Class, e.Retryable = ClassLockTimeout, retryLockTimeouts
	case 3024, 1969, 1317:
		e.Class = ClassTimeout
	case 1040, 1053, 1203, 1129, 1927, 2002, 2003, 2006, 2013, 1044, 1045, 1049:
		e.Class = ClassConnection
	}
	return e
}

// mysqlDuplicateKey extracts the index name from the server's 1062 message
// ("Duplicate entry '...' for key 'users.email'"): the class comes from the
// number; the message is read only for the constraint name, which the
// protocol carries nowhere else.
func mysqlDuplicateKey(msg string) string {
	const marker = " for key '"
	i := strings.LastIndex(msg, marker)
	if i < 0 {
		return ""
	}
	name := msg[i+len(marker):]
	name = strings.TrimSuffix(name, "'")
	if j := strings.LastIndexByte(name, '.'); j >= 0 {
		name = name[j+1:]
	}
	return name
}

// SQLite primary and extended result codes dbkit classifies.
const (
	sqliteBusy                 = 5
	sqliteLocked               = 6
	sqliteInterrupt            = 9
	sqliteCantOpen             = 14
	sqliteConstraint           = 19
	sqliteTooBig               = 18
	sqliteMismatch             = 20
	sqliteConstraintCheck      = 275
	sqliteConstraintForeignKey = 787
	sqliteConstraintNotNull    = 1299
	sqliteConstraintPrimaryKey = 1555
	sqliteConstraintUnique     = 2067
	sqliteConstraintRowID      = 2579
	sqliteConstraintDataType   = 3091
)

func classifySQLite(code int, err error) *Error {
	e := &Error{Driver: "sqlite", Code: strconv.Itoa(code), Err: err}
	switch code {
	case sqliteConstraintUnique, sqliteConstraintPrimaryKey, sqliteConstraintRowID:
		e.Class = ClassUnique
		e.Constraint = sqliteUniqueColumns(err)
	case sqliteConstraintForeignKey:
		e.Class = ClassForeignKey
	case sqliteConstraintCheck:
		e.Class = ClassCheck
	case sqliteConstraintNotNull:
		e.Class = ClassNotNull
	case sqliteConstraintDataType, sqliteMismatch:
		e.Class = ClassInvalidValue
	case sqliteTooBig:
		e.Class = ClassTooLong
	case sqliteInterrupt:
		e.Class = ClassTimeout
	case sqliteCantOpen:
		e.Class = ClassConnection
	default:
		switch code & 0xff {
		case sqliteBusy, sqliteLocked:
			e.Class, e.Retryable = ClassSerialization, true
		case sqliteConstraint:
			e.Class = ClassCheck
		}
	}
	return e
}

// sqliteUniqueColumns extracts "table.column" from SQLite's unique
// violation message ("UNIQUE constraint failed: users.email"): SQLite names
// no constraint, and the class already came from the result code.
func sqliteUniqueColumns(err error) string {
	msg := err.Error()
	const marker = "constraint failed: "
	i := strings.LastIndex(msg, marker)
	if i < 0 {
		return ""
	}
	cols := msg[i+len(marker):]
	if j := strings.IndexAny(cols, " ()"); j >= 0 {
		cols = cols[:j]
	}
	return strings.TrimRight(cols, ",")
}

func isConnectionError(err error) bool {
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed) {
		return true
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return true
	}
	return pgconn.SafeToRetry(err) || errors.Is(err, io.EOF)
}

// Problem codes of the errs errors MapError returns.
const (
	CodeNotFound         = "not_found"
	CodeUniqueViolation  = "unique_violation"
	CodeForeignKey       = "foreign_key_violation"
	CodeExclusion        = "exclusion_violation"
	CodeCheckViolation   = "check_violation"
	CodeNotNullViolation = "not_null_violation"
	CodeValueTooLong     = "value_too_long"
	CodeInvalidValue     = "invalid_value"
	CodeConflict         = "transaction_conflict"
	CodeRetriesExhausted = "transaction_retries_exhausted"
	CodeCommitUnknown    = "commit_outcome_unknown"
	CodeTimeout          = "database_timeout"
	CodeUnavailable      = "database_unavailable"
	CodePoolExhausted    = "database_busy"
	CodeDatabase         = "database_error"
)

// MapError turns a database error into an *errs.Error for a response,
// keeping err as the cause (so errors.As still finds the *Error and the
// driver's error):
//
//	not found                           → 404 not_found
//	unique violation                    → 409 unique_violation (constraint name only in Development)
//	foreign-key violation               → 409 foreign_key_violation
//	exclusion violation (23P01)         → 409 exclusion_violation
//	check, NOT NULL, length, bad value  → 422
//	serialization failure / deadlock    → 409 transaction_conflict, Retry-After: 1
//	retries exhausted                   → 409 transaction_retries_exhausted, Retry-After: 1
//	commit outcome unknown              → 500 commit_outcome_unknown
//	pool exhausted                      → 503 database_busy, Retry-After: 1
//	statement timeout, deadline         → 504 database_timeout
//	connection failure, or any error    → 503 database_unavailable, Retry-After: 1
//	  the server sent while connecting
//	anything else                       → 500 database_error
//
// No message contains SQL text or bound values. MapError(nil) is nil; an
// *errs.Error passes through unchanged; a canceled context maps as errs.From
// maps it.
//
// MapError asks the package default errs Renderer (errs.Default) whether it
// is in Development; a handler uses MapErrorContext with the request's
// context, so each application's Renderer decides.
func MapError(err error) *errs.Error {
	return MapErrorContext(context.Background(), err)
}

// MapErrorContext is MapError for a request: the constraint name of a
// unique violation is shown only when the errs Renderer of ctx
// (errs.RendererFrom, the package default when ctx carries none) is in
// Development.
func MapErrorContext(ctx context.Context, err error) *errs.Error {
	if err == nil {
		return nil
	}
	var ee *errs.Error
	if errors.As(err, &ee) {
		return ee
	}
	switch {
	case errors.Is(err, ErrPoolExhausted):
		return errs.Wrap(err, errs.KindServiceUnavailable, CodePoolExhausted, "The database is busy; try again shortly.").WithHeader("Retry-After", "1")
	case errors.Is(err, ErrCommitUnknown):
		return errs.Wrap(err, errs.KindDatabase, CodeCommitUnknown, "The outcome of the change is unknown; check before retrying.")
	case errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded):
		return errs.From(err)
	}
	exhausted := errors.Is(err, ErrRetriesExhausted)
	d := Classify(err)
	if exhausted {
		return errs.Wrap(err, errs.KindConflict, CodeRetriesExhausted, "The change conflicted with concurrent changes; try again.").WithHeader("Retry-After", "1")
	}
	if d == nil {
		d = &Error{Class: ClassOther, Err: err}
	}
	// The cause is the *Error, whose text carries no SQL or values, so
	// neither a Development response nor a log line shows them.
	r, ok := classResponses[d.Class]
	if !ok {
		return errs.Wrap(d, errs.KindDatabase, CodeDatabase, "A database error occurred.")
	}
	e := errs.Wrap(d, r.kind, r.code, r.msg)
	if r.retry {
		e = e.WithHeader("Retry-After", "1")
	}
	if d.Class == ClassUnique && d.Constraint != "" && errs.RendererFrom(ctx).Mode() == errs.Development {
		e = e.WithPublic("constraint", d.Constraint)
	}
	return e
}

// classResponses is how MapError answers each class; retry adds
// Retry-After: 1.
var classResponses = map[Class]struct {
	kind      errs.Kind
	code, msg string
	retry     bool
}{
	ClassNotFound:      {errs.KindNotFound, CodeNotFound, "The resource was not found.", false},
	ClassUnique:        {errs.KindConflict, CodeUniqueViolation, "A resource with the same unique value already exists.", false},
	ClassExclusion:     {errs.KindConflict, CodeExclusion, "The change conflicts with an existing resource.", false},
	ClassForeignKey:    {errs.KindConflict, CodeForeignKey, "The change refers to a resource that does not exist or is still referenced.", false},
	ClassCheck:         {errs.KindValidation, CodeCheckViolation, "A value does not satisfy a constraint.", false},
	ClassNotNull:       {errs.KindValidation, CodeNotNullViolation, "A required value is missing.", false},
	ClassTooLong:       {errs.KindValidation, CodeValueTooLong, "A value is too long or out of range.", false},
	ClassInvalidValue:  {errs.KindValidation, CodeInvalidValue, "A value has the wrong type or format.", false},
	ClassSerialization: {errs.KindConflict, CodeConflict, "The change conflicted with concurrent changes; try again.", true},
	ClassLockTimeout:   {errs.KindConflict, CodeConflict, "The change conflicted with concurrent changes; try again.", true},
	ClassTimeout:       {errs.KindTimeout, CodeTimeout, "The database took too long to answer.", false},
	ClassConnection:    {errs.KindServiceUnavailable, CodeUnavailable, "The database is unavailable; try again shortly.", true},
}
