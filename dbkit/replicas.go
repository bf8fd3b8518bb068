package dbkit

import (
	"context"
	"database/sql"
	"errors"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"

	"github.com/covetgo/covet/errs"
)

// ReplicaPolicy chooses among healthy replicas.
type ReplicaPolicy uint8

// The replica policies.
const (
	// RoundRobin takes healthy replicas in turn (one atomic counter).
	RoundRobin ReplicaPolicy = iota
	// Random takes a healthy replica at random.
	Random
)

// Intent says where a context's reads may go. Writes always go to the
// primary.
type Intent uint8

// The intents.
const (
	// IntentAuto, the default: reads built by GORM (Find, First, Take,
	// Count, Pluck, Scan of a built query) may go to a replica; raw SQL
	// (Raw, Exec) goes to the primary.
	IntentAuto Intent = iota
	// IntentPrimary sends every statement to the primary, for reads that
	// must see the latest data.
	IntentPrimary
	// IntentReplica lets raw plain reads (Raw(...).Scan of a single
	// SELECT, WITH, VALUES or SHOW statement that neither writes nor locks)
	// go to a replica too. Any other raw statement is a write: it runs on
	// the primary and marks read-your-writes.
	IntentReplica
)

type intentKey struct{}

// WithIntent returns ctx carrying the routing intent for statements run
// with it. Read-your-writes (see ReadYourWrites) overrides IntentAuto and
// IntentReplica: after a write, reads go to the primary.
func WithIntent(ctx context.Context, i Intent) context.Context {
	return context.WithValue(ctx, intentKey{}, i)
}

func intentFrom(ctx context.Context) Intent {
	if ctx == nil {
		return IntentAuto
	}
	i, _ := ctx.Value(intentKey{}).(Intent)
	return i
}

// rywState records that a request (or a recent request of the same client)
// wrote, so its later reads go to the primary.
type rywState struct {
	wrote atomic.Bool
}

type rywKey struct{}

// ReadYourWrites returns ctx tracking writes: once a statement run with ctx
// (or a context derived from it) writes through a DB opened by Open
// (Create, Save, Update, Delete, Exec, a raw statement that is not a plain
// read such as Raw("UPDATE ... RETURNING ...").Scan, or a Tx), every later
// read with it goes to the primary. The Middleware does this for each
// request.
func ReadYourWrites(ctx context.Context) context.Context {
	if rywFrom(ctx) != nil {
		return ctx
	}
	return context.WithValue(ctx, rywKey{}, &rywState{})
}

// Wrote reports whether a statement run with ctx has written since
// ReadYourWrites (false when ctx does not track writes).
func Wrote(ctx context.Context) bool {
	s := rywFrom(ctx)
	return s != nil && s.wrote.Load()
}

func rywFrom(ctx context.Context) *rywState {
	if ctx == nil {
		return nil
	}
	s, _ := ctx.Value(rywKey{}).(*rywState)
	return s
}

func markWrote(ctx context.Context) {
	if s := rywFrom(ctx); s != nil && !s.wrote.Load() {
		s.wrote.Store(true)
	}
}

// replica is one read replica and its gorm.ConnPool: a read that fails
// with a connection error before returning rows (the replica died, or its
// connection was cut) takes the replica out of rotation until its health
// check passes and runs once more on the primary, the one database known
// to be needed anyway (replicas often fail together). Writes never reach
// a replica.
type replica struct {
	sql     *sql.DB
	pool    gorm.ConnPool // sql, or GORM's prepared-statement cache over it
	set     *replicaSet
	healthy atomic.Bool
}

func (r *replica) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return r.pool.PrepareContext(ctx, query)
}

func (r *replica) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return r.pool.ExecContext(ctx, query, args...)
}

func (r *replica) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	rows, err := r.pool.QueryContext(ctx, query, args...)
	if err == nil || ctx.Err() != nil {
		return rows, err
	}
	if d := Classify(err); d == nil || d.Class != ClassConnection {
		return rows, err
	}
	r.healthy.Store(false)
	return r.set.primary.QueryContext(ctx, query, args...)
}

// QueryRowContext has no failover: *sql.Row reports its error only when
// scanned.
func (r *replica) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return r.pool.QueryRowContext(ctx, query, args...)
}

type replicaSet struct {
	members  []*replica
	primary  gorm.ConnPool
	policy   ReplicaPolicy
	next     atomic.Uint64
	timeout  time.Duration
	interval time.Duration
	stop     context.CancelFunc // ends the health checks
	wg       sync.WaitGroup
}

// pick returns a healthy replica chosen by the policy (consulted once), or
// nil when there is none.
func (rs *replicaSet) pick() *replica {
	n := len(rs.members)
	var start int
	if rs.policy == Random {
		start = rand.IntN(n)
	} else {
		start = int((rs.next.Add(1) - 1) % uint64(n))
	}
	for i := range n {
		if r := rs.members[(start+i)%n]; r.healthy.Load() {
			return r
		}
	}
	return nil
}

// member returns the replica whose pool p is, or nil.
func (rs *replicaSet) member(p gorm.ConnPool) *replica {
	if r, ok := p.(*replica); ok && r.set == rs {
		return r
	}
	return nil
}

func (d *DB) openReplicas(ctx context.Context, o Options, pool Pool, gcfg *gorm.Config) error {
	rs := &replicaSet{
		primary:  d.gorm.ConnPool,
		policy:   o.ReplicaPolicy,
		timeout:  d.pingTimeout,
		interval: o.ReplicaCheckInterval,
	}
	if rs.interval <= 0 {
		rs.interval = 5 * time.Second
	}
	for i, dsn := range o.Replicas {
		if dsn == "" {
			rs.closeMembers()
			return errs.Configf("dbkit: Options.Replicas[%d] is empty", i)
		}
		db, err := openPool(o.Driver, dsn, pool)
		if err != nil {
			rs.closeMembers()
			return err
		}
		r := &replica{sql: db, pool: db, set: rs}
		if gcfg.PrepareStmt {
			r.pool = gorm.NewPreparedStmtDB(db, gcfg.PrepareStmtMaxSize, gcfg.PrepareStmtTTL)
		}
		rs.members = append(rs.members, r)
	}
	// A replica that is down at start is not fatal: nothing here connects
	// to it but the health check, which leaves it out of rotation until it
	// answers.
	rs.check(ctx)
	d.replicas = rs
	ctx, rs.stop = context.WithCancel(context.Background())
	rs.wg.Go(func() { rs.loop(ctx) })
	return nil
}

// loop checks the replicas every interval until ctx ends.
func (rs *replicaSet) loop(ctx context.Context) {
	t := time.NewTicker(rs.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			rs.check(ctx)
		}
	}
}

// check pings every replica concurrently and records the outcome.
func (rs *replicaSet) check(ctx context.Context) {
	var wg sync.WaitGroup
	for _, r := range rs.members {
		wg.Go(func() {
			pctx, cancel := context.WithTimeout(ctx, rs.timeout)
			defer cancel()
			r.healthy.Store(r.sql.PingContext(pctx) == nil)
		})
	}
	wg.Wait()
}

func (rs *replicaSet) close() error {
	rs.stop()
	rs.wg.Wait()
	return rs.closeMembers()
}

func (rs *replicaSet) closeMembers() error {
	var errList []error
	for _, r := range rs.members {
		errList = append(errList, r.sql.Close())
	}
	return errors.Join(errList...)
}

// CheckReplicas pings every replica now (rather than at the next interval)
// and takes failing ones out of rotation, returning to rotation those that
// answer. It does nothing without replicas.
func (d *DB) CheckReplicas(ctx context.Context) {
	if d.replicas != nil {
		d.replicas.check(ctx)
	}
}

// ReplicaHealth reports, per replica in Options.Replicas order, whether it is in
// rotation.
func (d *DB) ReplicaHealth() []bool {
	if d.replicas == nil {
		return nil
	}
	out := make([]bool, len(d.replicas.members))
	for i, r := range d.replicas.members {
		out[i] = r.healthy.Load()
	}
	return out
}

// ReplicaStats returns each replica pool's statistics, in Options.Replicas order.
func (d *DB) ReplicaStats() []sql.DBStats {
	if d.replicas == nil {
		return nil
	}
	out := make([]sql.DBStats, len(d.replicas.members))
	for i, r := range d.replicas.members {
		out[i] = r.sql.Stats()
	}
	return out
}

// The settings gorm.io/plugin/dbresolver's Read and Write clauses store on
// a statement; dbkit honours them without the plugin.
const (
	resolverWrite = "gorm:db_resolver:write"
	resolverRead  = "gorm:db_resolver:read"
)

// registerCallbacks installs dbkit's statement callbacks: routing (reads to
// a replica or the primary, writes to the primary), read-your-writes
// marking, and the record of retryable errors a transaction's function
// swallowed. They run first (routing) and last (the record) in each chain.
func (d *DB) registerCallbacks() error {
	cb := d.gorm.Callback()
	steps := []error{
		cb.Query().Before("*").Register("dbkit:route", d.routeRead),
		cb.Row().Before("*").Register("dbkit:route", d.routeRead),
		cb.Raw().Before("*").Register("dbkit:route", d.routeWrite),
		cb.Create().Before("*").Register("dbkit:route", d.routeWrite),
		cb.Update().Before("*").Register("dbkit:route", d.routeWrite),
		cb.Delete().Before("*").Register("dbkit:route", d.routeWrite),
		cb.Query().After("*").Register("dbkit:track", trackTxError),
		cb.Row().After("*").Register("dbkit:track", trackTxError),
		cb.Raw().After("*").Register("dbkit:track", trackTxError),
		cb.Create().After("*").Register("dbkit:track", trackTxError),
		cb.Update().After("*").Register("dbkit:track", trackTxError),
		cb.Delete().After("*").Register("dbkit:track", trackTxError),
	}
	if err := errors.Join(steps...); err != nil {
		return errs.Configf("dbkit: registering statement callbacks failed: %v", err)
	}
	return nil
}

func inTransaction(st *gorm.Statement) bool {
	_, ok := st.ConnPool.(gorm.TxCommitter)
	return ok
}

// routeRead routes a query: a raw statement that is not certainly a plain
// read is a write; a read goes to a replica (chosen once, by the policy)
// when replicas are configured, the statement is not in a transaction or
// on a pinned connection, does not lock rows, and the context allows it.
func (d *DB) routeRead(db *gorm.DB) {
	st := db.Statement
	raw := st.SQL.Len() > 0
	if raw && !readOnlySQL(st.SQL.String()) {
		d.routeWrite(db)
		return
	}
	rs := d.replicas
	if rs == nil || (st.ConnPool != rs.primary && rs.member(st.ConnPool) == nil) {
		return
	}
	st.ConnPool = rs.primary
	ctx := st.Context
	intent := intentFrom(ctx)
	if intent == IntentPrimary || Wrote(ctx) {
		return
	}
	if _, ok := st.Settings.Load(resolverWrite); ok {
		return
	}
	if _, locks := st.Clauses["FOR"]; locks {
		return
	}
	if raw && intent != IntentReplica {
		if _, ok := st.Settings.Load(resolverRead); !ok {
			return
		}
	}
	if r := rs.pick(); r != nil {
		st.ConnPool = r
	}
}

// routeWrite marks the context as having written and sends the statement
// to the primary.
func (d *DB) routeWrite(db *gorm.DB) {
	st := db.Statement
	markWrote(st.Context)
	if rs := d.replicas; rs != nil && rs.member(st.ConnPool) != nil {
		st.ConnPool = rs.primary
	}
}

// replicaName is the db_name label of replica i.
func replicaName(name string, i int) string { return name + "_replica_" + strconv.Itoa(i) }
