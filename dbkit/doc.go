// Package dbkit makes GORM production-ready for a web service: it opens
// PostgreSQL, MySQL/MariaDB and SQLite on tuned pools, checks their health,
// routes reads to replicas, retries transactions that lost a race, and
// turns database errors into problem+json responses. Its subpackages shard
// data across databases (shard) and apply migrations (migrate).
//
// # Open, pool and health
//
// Open takes a Driver and a DSN and applies a per-driver pool Profile
// (max idle equal to max open, lifetimes with per-connection jitter, MySQL
// lifetimes under the 5-minute idle cut of common load balancers, one
// connection with WAL for SQLite). DB.Ready is a readiness check, pool
// statistics go to Prometheus when Options.Registerer is set, and the slog
// GORM Logger logs slow and failed queries with the request ID and without
// bound values in Production. DSNs never appear in errors or logs.
//
// # Context, replicas and read-your-writes
//
// Every helper takes a context; the request's deadline bounds its queries.
// With Options.Replicas, GORM-built reads go to a healthy replica (round
// robin or random, the policy consulted once per statement) and everything
// else to the primary; WithIntent changes that per context, and
// ReadYourWrites (done by the Middleware for every request) sends a
// context's reads to the primary once it has written. Raw SQL counts as a
// read only when it is certainly one (a single SELECT, WITH, VALUES or
// SHOW that neither writes nor locks); any other raw statement is a write:
// it runs on the primary and marks the context. A replica that is down at
// Open, fails its health check, or loses a read's connection is out of
// rotation until its check passes; the read that met the failure runs once
// more on the primary (reads only, never writes). Routing is dbkit's own
// pair of GORM callbacks rather than gorm.io/plugin/dbresolver, whose
// registration connects to every replica and whose callbacks cannot be
// combined with a second routing rule without consulting the policy twice;
// its Read and Write clauses are still honoured.
//
// # Transactions
//
// Tx (or DB.Tx) runs fn in GORM's Transaction, which commits, rolls back
// (also on panic) and nests through savepoints. dbkit adds what GORM does
// not: retries of serialization failures and deadlocks at the outermost
// level with full-jitter backoff (also one that fn swallowed and PostgreSQL
// turned into a ROLLBACK at COMMIT); nesting found through the context, on
// the same database only (a transaction of another database or shard in the
// context is refused with ErrCrossDatabaseTx, never joined); and a COMMIT
// lost with its connection reported as ErrCommitUnknown instead of being
// retried. The Middleware gives each request its handle (From) and can
// wrap the request in a transaction committed only on a 1xx-3xx status.
//
// # Sharding and migrations
//
// Two concerns next to the GORM layer live in packages of their own:
// package shard routes keys to databases, queries every shard and issues
// IDs unique across shards; package migrate applies versioned SQL
// migrations under a lock. Both take what Open returns.
//
// # Errors
//
// MapError turns a database error into an *errs.Error by the driver's code
// (SQLSTATE, MySQL error number, SQLite extended result code): not found
// 404, unique, exclusion and foreign-key violations 409, check and length
// violations 422, exhausted retries 409 with Retry-After, timeouts 504,
// unreachable servers 503 with Retry-After, including any error a server
// sends while a connection is being opened (too many connections, starting
// up, not accepting connections). Responses never contain SQL or values;
// errors.As reaches the classified *Error and the driver's own error.
// What depends on the errs mode (a unique constraint's name in a response,
// bound values and driver messages in logs) follows the errs Renderer of the
// request's context (MapErrorContext, statements run with r.Context()), and
// the package default where there is none. (GORM's TranslateError knows
// only duplicate keys and foreign keys, and no HTTP status.) The Logger is
// GORM's slog logger with the request ID on every line, bound values
// dropped in Production, and failed statements logged by dbkit: by
// their classified text rather than the driver's message (which may quote
// values), handled failures at Debug, an unavailable or slow database at
// Warn, and only unrecognised failures at Error (GORM's logs every failure
// at Error).
//
// # Example
//
//	//go:embed migrations/*.sql
//	var migrations embed.FS
//
//	func run(ctx context.Context) error {
//		db, err := dbkit.Open(ctx, dbkit.Options{
//			Driver:     dbkit.Postgres,
//			DSN:        os.Getenv("DATABASE_URL"),
//			Replicas:   []string{os.Getenv("DATABASE_REPLICA_URL")},
//			Registerer: prometheus.DefaultRegisterer,
//		})
//		if err != nil {
//			return err
//		}
//		defer db.Close()
//
//		files, _ := fs.Sub(migrations, "migrations")
//		m, err := migrate.New(db, migrate.Options{FS: files})
//		if err != nil {
//			return err
//		}
//		if _, err := m.Up(ctx); err != nil {
//			return err
//		}
//
//		scope, err := dbkit.NewMiddleware(db, dbkit.MiddlewareOptions{
//			Timeout:              5 * time.Second,
//			ReadYourWritesWindow: 2 * time.Second,
//		})
//		if err != nil {
//			return err
//		}
//		mux := http.NewServeMux()
//		mux.HandleFunc("POST /notes", func(w http.ResponseWriter, r *http.Request) {
//			err := dbkit.Tx(r.Context(), dbkit.From(r.Context()), func(tx *gorm.DB) error {
//				return tx.Create(&Note{Body: r.FormValue("body")}).Error
//			})
//			if err != nil {
//				errs.Write(w, r, db.MapErrorContext(r.Context(), err)) // 409 on a duplicate, 504 on a timeout, ...
//				return
//			}
//			w.WriteHeader(http.StatusCreated)
//		})
//		return http.ListenAndServe(":8080", scope.Handler(mux))
//	}
//
// db.Ready and m.Ready have the signature of a readiness check
// (func(context.Context) error).
package dbkit
