package bench

import (
	"context"
	"database/sql"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/glebarez/go-sqlite"
	"github.com/glebarez/sqlite"
	_ "github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	gormlogger "gorm.io/gorm/logger"

	"github.com/covetgo/covet/dbkit"
	"github.com/covetgo/covet/dbkit/shard"
)

// dbkitItem is the row every variant reads and writes.
type dbkitItem struct {
	ID    int64 `gorm:"primaryKey;autoIncrement:false"`
	Name  string
	Price int64
}

// dbkitVariant is one way to reach the same database.
type dbkitVariant struct {
	name  string
	gorm  *gorm.DB // nil for database/sql
	sql   *sql.DB
	table string
	// ctx, when set, is the context the variant runs with (carrying a
	// routing intent), made once as a request would.
	ctx context.Context
}

// dbkitTarget opens the variants on one database: dbkit, GORM with its
// defaults, GORM configured as dbkit configures it (the same statement
// cache and pool, so the difference is dbkit's own layer), and
// database/sql.
func dbkitTarget(b *testing.B, drv dbkit.Driver) []dbkitVariant {
	b.Helper()
	var dsn, sqlDriver string
	var dial func(string) gorm.Dialector
	switch drv {
	case dbkit.SQLite:
		dsn = filepath.Join(b.TempDir(), "bench.db")
		sqlDriver = "sqlite"
		dial = func(d string) gorm.Dialector { return sqlite.Open(d) }
	case dbkit.Postgres:
		dsn = dbkitPostgres(b)
		sqlDriver = "pgx"
		dial = func(d string) gorm.Dialector { return postgres.Open(d) }
	}
	ctx := context.Background()
	kit, err := dbkit.Open(ctx, dbkit.Options{Driver: drv, DSN: dsn, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { kit.Close() })
	// Plain GORM with its default logger silenced, as dbkit's logs nothing
	// below its slow threshold.
	quiet := gormlogger.Default.LogMode(gormlogger.Silent)
	// Plain GORM and database/sql get WAL too; the "same config" GORM gets
	// every setting dbkit applies (pragmas, statement cache, pool).
	plainDSN, sameDSN := dsn, dsn
	if drv == dbkit.SQLite {
		plainDSN = dsn + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)"
		sameDSN = dsn + "?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_pragma=busy_timeout(5000)&_txlock=immediate"
	}
	plain, err := gorm.Open(dial(plainDSN), &gorm.Config{Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	same, err := gorm.Open(dial(sameDSN), &gorm.Config{Logger: quiet, PrepareStmt: drv == dbkit.SQLite, PrepareStmtTTL: 10 * 365 * 24 * time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	raw, err := sql.Open(sqlDriver, sameDSN)
	if err != nil {
		b.Fatal(err)
	}
	for _, g := range []*gorm.DB{plain, same} {
		s, _ := g.DB()
		p := kit.Pool()
		s.SetMaxOpenConns(p.MaxOpen)
		s.SetMaxIdleConns(p.MaxIdle)
		b.Cleanup(func() { s.Close() })
	}
	raw.SetMaxOpenConns(kit.Pool().MaxOpen)
	raw.SetMaxIdleConns(kit.Pool().MaxIdle)
	b.Cleanup(func() { raw.Close() })
	vs := []dbkitVariant{
		{name: "dbkit", gorm: kit.Gorm(), table: "bench_items_dbkit"},
		{name: "gorm", gorm: plain, table: "bench_items_gorm"},
		{name: "gorm_same_config", gorm: same, table: "bench_items_gorm_same"},
		{name: "database_sql", sql: raw, table: "bench_items_sql"},
	}
	if drv == dbkit.Postgres {
		// dbkit with a replica (the same server), read with the primary
		// intent: configuring replicas must not slow primary reads.
		rep, err := dbkit.Open(ctx, dbkit.Options{Driver: drv, DSN: dsn, Replicas: []string{dsn}, ReplicaCheckInterval: time.Hour, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { rep.Close() })
		vs = append(vs, dbkitVariant{name: "dbkit_replicas_primary_intent", gorm: rep.Gorm(), table: "bench_items_dbkit_rep",
			ctx: dbkit.WithIntent(context.Background(), dbkit.IntentPrimary)})
	}
	for _, v := range vs {
		stmts := []string{
			"DROP TABLE IF EXISTS " + v.table,
			"CREATE TABLE " + v.table + " (id BIGINT PRIMARY KEY, name VARCHAR(100) NOT NULL, price BIGINT NOT NULL)",
		}
		for _, s := range stmts {
			if err := kit.Gorm().Exec(s).Error; err != nil {
				b.Fatal(err)
			}
		}
		rows := make([]dbkitItem, 1000)
		for i := range rows {
			rows[i] = dbkitItem{ID: int64(i + 1), Name: "item " + strconv.Itoa(i), Price: int64(i * 10)}
		}
		if err := kit.Gorm().Table(v.table).CreateInBatches(rows, 200).Error; err != nil {
			b.Fatal(err)
		}
	}
	return vs
}

// dbkitPostgres creates a covet_dbkit_bench_<pid> database on the local
// server (COVET_TEST_POSTGRES_DSN), or skips. The process ID keeps
// concurrent runs on a shared server from dropping each other's database.
func dbkitPostgres(b *testing.B) string {
	admin := os.Getenv("COVET_TEST_POSTGRES_DSN")
	if admin == "" {
		admin = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	u, err := url.Parse(admin)
	if err != nil {
		b.Fatal(err)
	}
	if c, err := net.DialTimeout("tcp", u.Host, time.Second); err != nil {
		b.Skipf("PostgreSQL unreachable: %v", err)
	} else {
		c.Close()
	}
	name := "covet_dbkit_bench_" + strconv.Itoa(os.Getpid())
	db, err := sql.Open("pgx", admin)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Exec("CREATE DATABASE " + name); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		db, err := sql.Open("pgx", admin)
		if err == nil {
			_, _ = db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
			db.Close()
		}
	})
	u.Path = "/" + name
	return u.String()
}

func dbkitPlaceholders(drv dbkit.Driver, n, cols int) string {
	var sb strings.Builder
	k := 1
	for r := range n {
		if r > 0 {
			sb.WriteByte(',')
		}
		sb.WriteByte('(')
		for c := range cols {
			if c > 0 {
				sb.WriteByte(',')
			}
			if drv == dbkit.Postgres {
				sb.WriteString("$" + strconv.Itoa(k))
			} else {
				sb.WriteByte('?')
			}
			k++
		}
		sb.WriteByte(')')
	}
	return sb.String()
}

func benchDBKitLookup(b *testing.B, drv dbkit.Driver) {
	ctx := context.Background()
	for _, v := range dbkitTarget(b, drv) {
		b.Run(v.name, func(b *testing.B) {
			q := "SELECT id, name, price FROM " + v.table + " WHERE id = ?"
			if drv == dbkit.Postgres {
				q = strings.Replace(q, "?", "$1", 1)
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				id := int64(i%1000 + 1)
				var it dbkitItem
				var err error
				if v.gorm != nil {
					err = v.gorm.WithContext(v.context(ctx)).Table(v.table).First(&it, id).Error
				} else {
					err = v.sql.QueryRowContext(ctx, q, id).Scan(&it.ID, &it.Name, &it.Price)
				}
				if err != nil || it.ID != id {
					b.Fatalf("lookup %d: %v", id, err)
				}
			}
		})
	}
}

var dbkitNextID atomic.Int64

func benchDBKitInsert10(b *testing.B, drv dbkit.Driver) {
	ctx := context.Background()
	dbkitNextID.Store(1_000_000)
	for _, v := range dbkitTarget(b, drv) {
		b.Run(v.name, func(b *testing.B) {
			q := "INSERT INTO " + v.table + " (id, name, price) VALUES " + dbkitPlaceholders(drv, 10, 3)
			rows := make([]dbkitItem, 10)
			args := make([]any, 0, 30)
			b.ReportAllocs()
			for b.Loop() {
				for j := range rows {
					rows[j] = dbkitItem{ID: dbkitNextID.Add(1), Name: "new item", Price: 42}
				}
				var err error
				if v.gorm != nil {
					err = v.gorm.WithContext(v.context(ctx)).Table(v.table).Create(&rows).Error
				} else {
					args = args[:0]
					for _, r := range rows {
						args = append(args, r.ID, r.Name, r.Price)
					}
					_, err = v.sql.ExecContext(ctx, q, args...)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDBKit_PKLookup_SQLite(b *testing.B)   { benchDBKitLookup(b, dbkit.SQLite) }
func BenchmarkDBKit_PKLookup_Postgres(b *testing.B) { benchDBKitLookup(b, dbkit.Postgres) }
func BenchmarkDBKit_Insert10_SQLite(b *testing.B)   { benchDBKitInsert10(b, dbkit.SQLite) }
func BenchmarkDBKit_Insert10_Postgres(b *testing.B) { benchDBKitInsert10(b, dbkit.Postgres) }

// BenchmarkDBKit_ForKey measures the shard router alone (target: at most
// 50 ns and no allocation).
func BenchmarkDBKit_ForKey(b *testing.B) {
	kit, err := dbkit.Open(context.Background(), dbkit.Options{Driver: dbkit.SQLite, DSN: ":memory:", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer kit.Close()
	shards := make([]*gorm.DB, 8)
	for i := range shards {
		shards[i] = kit.Gorm()
	}
	set, err := shard.New(shard.Options{Shards: shards})
	if err != nil {
		b.Fatal(err)
	}
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = "tenant-" + strconv.Itoa(i*7919)
	}
	// The machine is shared: the CPU time of this goroutine's thread is
	// steadier than wall time under load, so it is reported too.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	var cpu0 time.Duration
	for i := 0; b.Loop(); i++ {
		if i == 0 {
			cpu0 = dbkitThreadCPU()
		}
		_ = set.ForKey(keys[i&1023])
	}
	b.ReportMetric(float64(dbkitThreadCPU()-cpu0)/float64(b.N), "cpu-ns/op")
}

// dbkitThreadCPU returns the CPU time of the calling OS thread (Linux
// RUSAGE_THREAD).
func dbkitThreadCPU() time.Duration {
	const rusageThread = 1
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchDBKitInterleaved runs the variants in turn within each iteration, so
// the machine's load at any moment hits all of them alike, and reports each
// variant's median time per operation (medians resist the preemption spikes
// of a shared machine) plus dbkit's ratio to identically configured GORM
// ("dbkit/gorm_same") and to GORM's defaults ("dbkit/gorm").
func benchDBKitInterleaved(b *testing.B, drv dbkit.Driver, insert bool) {
	ctx := context.Background()
	vs := dbkitTarget(b, drv)
	var gormVs []dbkitVariant
	for _, v := range vs {
		if v.gorm != nil {
			gormVs = append(gormVs, v)
		}
	}
	spent := make([][]time.Duration, len(gormVs))
	rows := make([]dbkitItem, 10)
	next := int64(5_000_000)
	b.ReportAllocs()
	n := 0
	for i := 0; b.Loop(); i++ {
		for k := range gormVs {
			// Rotate the order so no variant always runs first.
			v := gormVs[(k+i)%len(gormVs)]
			idx := (k + i) % len(gormVs)
			start := time.Now()
			var err error
			if insert {
				for j := range rows {
					next++
					rows[j] = dbkitItem{ID: next, Name: "new item", Price: 42}
				}
				err = v.gorm.WithContext(v.context(ctx)).Table(v.table).Create(&rows).Error
			} else {
				var it dbkitItem
				err = v.gorm.WithContext(v.context(ctx)).Table(v.table).First(&it, int64(i%1000+1)).Error
			}
			spent[idx] = append(spent[idx], time.Since(start))
			if err != nil {
				b.Fatal(err)
			}
		}
		n++
	}
	_ = n
	med := make([]float64, len(gormVs))
	for k, v := range gormVs {
		slices.Sort(spent[k])
		med[k] = float64(spent[k][len(spent[k])/2])
		b.ReportMetric(med[k], v.name+"-median-ns/op")
	}
	b.ReportMetric(med[0]/med[2], "dbkit/gorm_same")
	b.ReportMetric(med[0]/med[1], "dbkit/gorm")
	if len(med) > 3 {
		b.ReportMetric(med[3]/med[0], "dbkit_replicas_primary/dbkit")
	}
}

// context returns the variant's own context, if it has one, or ctx.
func (v dbkitVariant) context(ctx context.Context) context.Context {
	if v.ctx != nil {
		return v.ctx
	}
	return ctx
}

func BenchmarkDBKit_Interleaved_PKLookup_SQLite(b *testing.B) {
	benchDBKitInterleaved(b, dbkit.SQLite, false)
}
func BenchmarkDBKit_Interleaved_PKLookup_Postgres(b *testing.B) {
	benchDBKitInterleaved(b, dbkit.Postgres, false)
}
func BenchmarkDBKit_Interleaved_Insert10_SQLite(b *testing.B) {
	benchDBKitInterleaved(b, dbkit.SQLite, true)
}
func BenchmarkDBKit_Interleaved_Insert10_Postgres(b *testing.B) {
	benchDBKitInterleaved(b, dbkit.Postgres, true)
}
