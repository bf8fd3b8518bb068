// Package dbkit makes GORM production-ready for a web service: it opens
// PostgreSQL, MySQL/MariaDB and SQLite on tuned pools, checks their health,
// routes reads to replicas, shards data across databases, retries
// transactions that lost a race, applies migrations, and turns database
// errors into problem+json responses.
//
// # Open, pool and health
//
// Open takes a Driver and a DSN and applies a per-driver pool Profile
// (max idle equal to max open, lifetimes with per-connection jitter, MySQL
// lifetimes under the 5-minute idle cut of common load balancers, one
// connection with WAL for SQLite). DB.Ready is a readiness check, pool
// statistics go to Prometheus when Config.Registerer is set, and the slog
// GORM Logger logs slow and failed queries with the request ID and without
// bound values in Production. DSNs never appear in errors or logs.
//
// # Context, replicas and read-your-writes
//
// Every helper takes a context; the request's deadline bounds its queries.
// With Config.Replicas, GORM-built reads go to a healthy replica (round
// robin or random) and everything else to the primary; WithIntent changes
// that per context, and ReadYourWrites (done by the Middleware for every
// request) sends a context's reads to the primary once it has written. A
// replica failing its health check leaves the rotation until it answers.
//
// # Transactions
//
// Tx commits or rolls back (also on panic), retries serialization failures
// and deadlocks at the outermost level with full-jitter backoff, nests
// through savepoints, and reports a COMMIT lost with its connection as
// ErrCommitUnknown instead of retrying it. The Middleware gives each request
// its handle (From) and can wrap the request in a transaction committed
// only on a 1xx-3xx status.
//
// # Sharding
//
// A ShardSet routes a key to one of several databases with jump consistent
// hash over logical shards (ForKey does not allocate), with pinned keys for
// tenants that need their own database. Logical shards are placed on
// databases by rendezvous hashing (DefaultPlacement), so appending a
// database moves only the logical shards it wins, about 1/N of the keys for
// N databases; MovedLogical lists exactly which. The balance is
// statistical: with the default 1024 logical shards each database holds
// within about 6 % of its share up to 8 databases (pass Placement for an
// exact split). Note that this placement differs from the contiguous ranges
// of earlier versions: a deployment that relied on those must pass them as
// Placement. Gather and Each query every shard with a concurrency bound and
// a per-shard timeout; MergeSorted combines per-shard sorted pages; Moves
// plans a change of the logical shard count; IDGenerator issues IDs unique
// across shards, with node numbers leased from the database.
//
// # Errors
//
// MapError turns a database error into an *errs.Error by the driver's code
// (SQLSTATE, MySQL error number, SQLite extended result code): not found
// 404, unique and foreign-key violations 409, check and length violations
// 422, exhausted retries 409 with Retry-After, timeouts 504, unreachable
// servers 503. Responses never contain SQL or values; errors.As reaches the
// classified *Error and the driver's own error.
//
// # Migrations
//
// Migrator applies versioned SQL migrations from an fs.FS (an embed.FS)
// with goose's Provider, locked so instances starting together apply each
// migration once, and offers Ready, which fails until the schema is
// current. Use it for every schema a deployed service depends on;
// GORM's AutoMigrate suits prototypes and tests, since it never drops or
// renames and keeps no history.
package dbkit
