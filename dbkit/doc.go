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
// # Sharding
//
// GORM's sharding plugin splits tables within one database; dbkit routes
// whole keys to databases.
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
// # Migrations
//
// Migrator applies versioned SQL migrations from an fs.FS (an embed.FS)
// with goose's Provider. Down and DownTo roll back; Ready fails until the
// schema is current. Instances starting together apply each migration
// once, under one lock per version table: on PostgreSQL goose's table
// locker (rather than its session locker, because a lock row also holds
// behind PgBouncer in transaction pooling, where a session advisory lock
// does not). goose has no locker for MySQL/MariaDB or SQLite, so dbkit
// keeps its own there (GET_LOCK on a connection of its own; an flock on a
// file next to the SQLite database), held around the whole operation
// because goose computes what is pending before it locks. On MySQL/MariaDB,
// whose DDL is not transactional, a failed migration may be partly applied;
// the error names the version and says what to check: keep one DDL
// statement per migration there. Use Migrator for every schema a deployed
// service depends on; GORM's AutoMigrate suits prototypes and tests, since
// it never drops or renames, keeps no history, and two instances running
// it at once race each other.
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
//		m, err := dbkit.NewMigrator(db, dbkit.MigrateOptions{FS: files})
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
//
// For sharded data:
//
//	set, err := dbkit.NewShardSet(dbkit.ShardSetOptions{
//		Shards:  []*gorm.DB{shard0.Gorm(), shard1.Gorm(), shard2.Gorm()},
//		Pinned:  map[string]int{"big-customer": 2},
//		Timeout: 500 * time.Millisecond,
//	})
//	// one tenant
//	set.ForKey(tenantID).WithContext(ctx).Create(&order)
//	// all tenants: newest 20 orders across shards
//	pages, err := dbkit.Gather(ctx, set, func(ctx context.Context, shard int, db *gorm.DB) ([]Order, error) {
//		var page []Order
//		return page, db.Order("id DESC").Limit(20).Find(&page).Error
//	})
//	// err is a *dbkit.GatherError when some shards failed; the others' results are valid.
package dbkit
