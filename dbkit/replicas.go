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
	"gorm.io/plugin/dbresolver"

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
	// (Raw, Exec) goes to the primary. dbkit never guesses from SQL text.
	IntentAuto Intent = iota
	// IntentPrimary sends every statement to the primary, for reads that
	// must see the latest data.
	IntentPrimary
	// IntentReplica lets raw SELECTs (Raw(...).Scan) go to a replica too.
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
// (or a context derived from it) writes through a DB with replicas (Create,
// Save, Update, Delete, Exec, or a Tx), every later read with it goes to the
// primary. The Middleware does this for each request.
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

type replica struct {
	sql     *sql.DB
	healthy atomic.Bool
}

type replicaSet struct {
	members  []*replica
	primary  gorm.ConnPool
	policy   ReplicaPolicy
	next     atomic.Uint64
	timeout  time.Duration
	interval time.Duration
	stop     chan struct{}
	wg       sync.WaitGroup
}

// Resolve implements dbresolver.Policy. dbresolver is given the replicas
// followed by the primary (so it always consults the policy: with a single
// entry it would skip it); Resolve picks a healthy replica by the policy,
// or that last entry, the primary, when none is healthy.
func (rs *replicaSet) Resolve(pools []gorm.ConnPool) gorm.ConnPool {
	n := len(pools) - 1
	if n <= 0 {
		if len(pools) == 1 {
			return pools[0]
		}
		return rs.primary
	}
	var start int
	if rs.policy == Random {
		start = rand.IntN(n)
	} else {
		start = int(rs.next.Add(1) % uint64(n))
	}
	for i := range n {
		j := (start + i) % n
		if j < len(rs.members) && rs.members[j].healthy.Load() {
			return pools[j]
		}
	}
	return pools[n]
}

func (d *DB) openReplicas(ctx context.Context, cfg Config, pool Pool) error {
	rs := &replicaSet{
		primary:  d.sql,
		policy:   cfg.ReplicaPolicy,
		timeout:  d.pingTimeout,
		interval: cfg.ReplicaCheckInterval,
		stop:     make(chan struct{}),
	}
	if rs.interval <= 0 {
		rs.interval = 5 * time.Second
	}
	d.replicas = rs
	dialectors := make([]gorm.Dialector, 0, len(cfg.Replicas))
	for i, dsn := range cfg.Replicas {
		if dsn == "" {
			return errs.Configf("dbkit: Config.Replicas[%d] is empty", i)
		}
		db, err := openPool(cfg.Driver, dsn, pool)
		if err != nil {
			return err
		}
		r := &replica{sql: db}
		rs.members = append(rs.members, r)
		dialectors = append(dialectors, dialector(cfg.Driver, db))
	}
	dialectors = append(dialectors, dialector(cfg.Driver, d.sql))
	// A replica that is down at start is not fatal: it starts out of
	// rotation and joins when its health check passes.
	rs.check(ctx)
	err := d.gorm.Use(dbresolver.Register(dbresolver.Config{Replicas: dialectors, Policy: rs}))
	if err != nil {
		return errs.Wrap(redactAll(err, cfg.Replicas), errs.KindServiceUnavailable, CodeUnavailable, "dbkit: setting up read replicas failed")
	}
	if err := d.registerRouting(); err != nil {
		return err
	}
	rs.wg.Add(1)
	go rs.loop()
	return nil
}

func redactAll(err error, dsns []string) error {
	for _, dsn := range dsns {
		err = redact(err, dsn)
	}
	return err
}

func (rs *replicaSet) loop() {
	defer rs.wg.Done()
	t := time.NewTicker(rs.interval)
	defer t.Stop()
	for {
		select {
		case <-rs.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				select {
				case <-rs.stop:
				case <-ctx.Done():
				}
				cancel()
			}()
			rs.check(ctx)
			cancel()
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
	close(rs.stop)
	rs.wg.Wait()
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

// ReplicaHealth reports, per replica in Config order, whether it is in
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

// ReplicaStats returns each replica pool's statistics, in Config order.
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

// The setting names dbresolver reads; dbkit removes them again after
// routing a statement so a reused statement is routed afresh.
const (
	resolverWrite = "gorm:db_resolver:write"
	resolverRead  = "gorm:db_resolver:read"
)

// registerRouting replaces dbresolver's SQL-text guess with routing by the
// statement kind and the context: builder reads follow the policy unless the
// context asks for the primary or has written; raw statements go to the
// primary unless the context says IntentReplica and has not written.
func (d *DB) registerRouting() error {
	// dbresolver's own callbacks run first (Before "*"); dbkit's run after
	// them and before the statement executes.
	cb := d.gorm.Callback()
	steps := []error{
		cb.Query().Before("gorm:query").Register("dbkit:route_read", routeRead),
		cb.Row().Before("gorm:row").Register("dbkit:route_read", routeRead),
		cb.Raw().Before("gorm:raw").Register("dbkit:route_write", routeWrite),
		cb.Create().Before("gorm:create").Register("dbkit:route_write", routeWrite),
		cb.Update().Before("gorm:update").Register("dbkit:route_write", routeWrite),
		cb.Delete().Before("gorm:delete").Register("dbkit:route_write", routeWrite),
	}
	if err := errors.Join(steps...); err != nil {
		return errs.Configf("dbkit: registering replica routing failed: %v", err)
	}
	return nil
}

func inTransaction(st *gorm.Statement) bool {
	_, ok := st.ConnPool.(gorm.TxCommitter)
	return ok
}

func routeRead(db *gorm.DB) {
	st := db.Statement
	if inTransaction(st) {
		return
	}
	ctx := st.Context
	intent := intentFrom(ctx)
	raw := st.SQL.Len() > 0
	_, forcedWrite := st.Settings.Load(resolverWrite)
	_, forcedRead := st.Settings.Load(resolverRead)
	switch {
	case forcedWrite || intent == IntentPrimary || Wrote(ctx) || (raw && intent != IntentReplica && !forcedRead):
		dbresolver.Write.ModifyStatement(st)
	case raw || forcedRead:
		dbresolver.Read.ModifyStatement(st)
	}
	st.Settings.Delete(resolverWrite)
	st.Settings.Delete(resolverRead)
}

func routeWrite(db *gorm.DB) {
	st := db.Statement
	if !inTransaction(st) {
		dbresolver.Write.ModifyStatement(st)
		st.Settings.Delete(resolverWrite)
	}
	markWrote(st.Context)
}

// replicaName is the db_name label of replica i.
func replicaName(name string, i int) string { return name + "_replica_" + strconv.Itoa(i) }
