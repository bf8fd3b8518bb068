package dbkit

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"gorm.io/plugin/dbresolver"
)

// tkFreeAddr returns a local address nothing listens on.
func tkFreeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// tkForward listens on addr and forwards every connection to target, until
// the test ends: a replica that comes up after Open.
func tkForward(t *testing.T, addr, target string) {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, u)
			mu.Unlock()
			wg.Go(func() { _, _ = io.Copy(u, c); _ = u.Close() })
			wg.Go(func() { _, _ = io.Copy(c, u); _ = c.Close() })
		}
	})
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
}

func tkUnique() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// TestOpenWithReplicaDown opens a database whose replica has nothing
// listening: Open must succeed, the replica stays out of rotation, and it
// joins once it answers.
func TestOpenWithReplicaDown(t *testing.T) {
	t.Run("postgres", func(t *testing.T) {
		primary, rep := tkPostgresDB(t, "downprimary"), tkPostgresDB(t, "downrep")
		tkSeedOrigin(t, primary, "primary")
		tkSeedOrigin(t, rep, "rep")
		addr := tkFreeAddr(t)
		u, err := url.Parse(rep)
		if err != nil {
			t.Fatal(err)
		}
		target := u.Host
		u.Host = addr
		tkReplicaDownCase(t, Options{Driver: Postgres, DSN: primary, Replicas: []string{u.String()}}, addr, target, func(t *testing.T, db *DB) {
			tkExec(t, db, `SELECT 1`)
		})
	})
	t.Run("mariadb", func(t *testing.T) {
		primary, rep := tkMySQLDB(t, "downprimary"), tkMySQLDB(t, "downrep")
		for dsn, name := range map[string]string{primary: "primary", rep: "rep"} {
			db := tkOpen(t, Options{Driver: MySQL, DSN: dsn})
			tkExec(t, db, `CREATE TABLE tk_origins (id BIGINT PRIMARY KEY, name TEXT)`, `INSERT INTO tk_origins VALUES (1, '`+name+`')`)
		}
		mc, err := mysql.ParseDSN(rep)
		if err != nil {
			t.Fatal(err)
		}
		addr := tkFreeAddr(t)
		target := mc.Addr
		mc.Addr = addr
		tkReplicaDownCase(t, Options{Driver: MySQL, DSN: primary, Replicas: []string{mc.FormatDSN()}}, addr, target, nil)
	})
}

func tkReplicaDownCase(t *testing.T, cfg Options, addr, target string, _ func(*testing.T, *DB)) {
	cfg.ReplicaCheckInterval = time.Hour
	cfg.PingTimeout = time.Second
	cfg.Logger = slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	db, err := Open(ctx, cfg)
	if err != nil {
		t.Fatalf("Open with the replica down: %v", err)
	}
	// Closed before the forwarder's cleanup cuts the replica's connections.
	defer func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	if h := db.ReplicaHealth(); len(h) != 1 || h[0] {
		t.Fatalf("ReplicaHealth = %v; want [false]", h)
	}
	bg := context.Background()
	for range 3 {
		if got := tkServedBy(t, db.WithContext(bg)); got != "primary" {
			t.Fatalf("served by %s while the replica is down; want primary", got)
		}
	}
	tkForward(t, addr, target)
	db.CheckReplicas(bg)
	if h := db.ReplicaHealth(); !h[0] {
		t.Fatalf("ReplicaHealth = %v after the replica came up; want [true]", h)
	}
	for range 3 {
		if got := tkServedBy(t, db.WithContext(bg)); got != "rep" {
			t.Fatalf("served by %s after the replica came up; want rep", got)
		}
	}
}

// TestReplicaRoundRobinRawReads sends raw reads with the replica intent and
// with dbresolver.Read: with two replicas each must get half of them.
func TestReplicaRoundRobinRawReads(t *testing.T) {
	f := tkReplicas(t, nil)
	bg := context.Background()
	cases := map[string]func() string{
		"IntentReplica": func() string { return tkRawServedBy(t, f.db.WithContext(WithIntent(bg, IntentReplica))) },
		"dbresolver.Read": func() string {
			return tkRawServedBy(t, f.db.WithContext(bg).Clauses(dbresolver.Read))
		},
		"builder": func() string { return tkServedBy(t, f.db.WithContext(bg)) },
	}
	for name, read := range cases {
		seen := map[string]int{}
		for range 10 {
			seen[read()]++
		}
		if seen["rep1"] != 5 || seen["rep2"] != 5 {
			t.Errorf("%s: served by %v; want 5 reads on each replica", name, seen)
		}
	}
}

// TestReadYourWritesCatchesRawWrites writes through raw SQL (a RETURNING
// query read with Scan, and Exec) under each intent: the write must run on
// the primary and mark the context, so the next read goes to the primary.
func TestReadYourWritesCatchesRawWrites(t *testing.T) {
	f := tkReplicas(t, nil)
	bg := context.Background()
	writes := map[string]func(ctx context.Context) (string, error){
		"raw UPDATE RETURNING": func(ctx context.Context) (string, error) {
			var name string
			err := f.db.WithContext(ctx).Raw(`UPDATE tk_origins SET name = name WHERE id = 1 RETURNING name`).Scan(&name).Error
			return name, err
		},
		"raw WITH UPDATE": func(ctx context.Context) (string, error) {
			var name string
			err := f.db.WithContext(ctx).Raw(`WITH u AS (UPDATE tk_origins SET name = name WHERE id = 1 RETURNING name) SELECT name FROM u`).Scan(&name).Error
			return name, err
		},
		"raw SELECT FOR UPDATE": func(ctx context.Context) (string, error) {
			var name string
			err := f.db.WithContext(ctx).Raw(`SELECT name FROM tk_origins WHERE id = 1 FOR UPDATE`).Scan(&name).Error
			return name, err
		},
		"Exec": func(ctx context.Context) (string, error) {
			return "primary", f.db.WithContext(ctx).Exec(`UPDATE tk_origins SET name = name WHERE id = 1`).Error
		},
	}
	for name, write := range writes {
		for _, intent := range []Intent{IntentAuto, IntentReplica} {
			ctx := WithIntent(ReadYourWrites(bg), intent)
			got, err := write(ctx)
			if err != nil {
				t.Fatalf("%s (intent %d): %v", name, intent, err)
			}
			if got != "primary" {
				t.Errorf("%s (intent %d) ran on %s; want primary", name, intent, got)
			}
			if !Wrote(ctx) {
				t.Errorf("%s (intent %d) did not mark the context", name, intent)
			}
			if got := tkRawServedBy(t, f.db.WithContext(ctx)); got != "primary" {
				t.Errorf("%s (intent %d): the next read was served by %s; want primary", name, intent, got)
			}
		}
	}
}

// TestReplicaReadFailover terminates the replica pool's backends while a
// loop reads: each read whose connection died must be answered by the
// primary (or another replica), so no read fails.
func TestReplicaReadFailover(t *testing.T) {
	dsn := tkPostgresDB(t, "failover")
	tkSeedOrigin(t, dsn, "row")
	app := "covet_dbkit_fo_" + tkUnique()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	db := tkOpen(t, Options{
		Driver: Postgres, DSN: dsn, Replicas: []string{u.String(), u.String()},
		ReplicaCheckInterval: 20 * time.Millisecond, PingTimeout: time.Second,
		Pool: Pool{MaxOpen: 4},
	})
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var killed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(3 * time.Millisecond):
			}
			var n int64
			err := admin.QueryRowContext(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()`, app).Scan(&n)
			if err == nil {
				killed.Add(n)
			}
		}
	})
	var failed []error
	reads := 0
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) || killed.Load() < 20 {
		if ctx.Err() != nil {
			break
		}
		var o tkOrigin
		if err := db.WithContext(ctx).First(&o, 1).Error; err != nil {
			failed = append(failed, err)
		}
		reads++
	}
	close(stop)
	wg.Wait()
	if killed.Load() < 20 {
		t.Fatalf("only %d replica backends were terminated; the test proves nothing", killed.Load())
	}
	if len(failed) > 0 {
		msgs := make([]string, 0, 3)
		for _, e := range failed[:min(3, len(failed))] {
			msgs = append(msgs, e.Error())
		}
		t.Fatalf("%d of %d reads failed while %d replica backends were terminated: %s", len(failed), reads, killed.Load(), strings.Join(msgs, "; "))
	}
	t.Logf("%d reads, %d replica backends terminated, none failed", reads, killed.Load())
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatal("the read loop ran out of time")
	}
}
