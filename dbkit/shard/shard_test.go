package shard

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"gorm.io/gorm"

	"github.com/covetgo/covet/dbkit"
	"github.com/covetgo/covet/errs"
)

type tkUser struct {
	ID     int64 `gorm:"primaryKey;autoIncrement:false"`
	Tenant string
}

func (tkUser) TableName() string { return "tk_users" }

func TestNewShardSetValidates(t *testing.T) {
	t.Parallel()
	db := tkOpen(t, dbkit.Options{Driver: dbkit.SQLite, DSN: ":memory:"}).Gorm()
	two := []*gorm.DB{db, db}
	cases := []struct {
		name string
		o    Options
	}{
		{"no shards", Options{}},
		{"nil shard", Options{Shards: []*gorm.DB{db, nil}}},
		{"fewer logical than physical", Options{Shards: two, Logical: 1}},
		{"too many logical", Options{Shards: two, Logical: 1<<16 + 1}},
		{"placement length", Options{Shards: two, Logical: 4, Placement: []int{0, 1}}},
		{"placement range", Options{Shards: two, Logical: 2, Placement: []int{0, 2}}},
		{"pin range", Options{Shards: two, Pinned: map[string]int{"acme": 5}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.o); errs.KindOf(err) != errs.KindConfiguration {
				t.Fatalf("err %v; want a configuration error", err)
			}
		})
	}
}

func TestShardRouting(t *testing.T) {
	db := tkOpen(t, dbkit.Options{Driver: dbkit.SQLite, DSN: ":memory:"}).Gorm()
	shards := []*gorm.DB{db, db, db, db}
	s, err := New(Options{Shards: shards, Logical: 1024, Pinned: map[string]int{"big-tenant": 3}})
	if err != nil {
		t.Fatal(err)
	}
	counts := make([]int, 4)
	placement := DefaultPlacement(1024, 4)
	for i := range 40000 {
		k := "tenant-" + strconv.Itoa(i)
		idx := s.Index(k)
		if idx != s.Index(k) {
			t.Fatal("routing is not deterministic")
		}
		if want := placement[s.Logical(k)]; idx != want {
			t.Fatalf("%s: index %d; want the placement of logical %d (%d)", k, idx, s.Logical(k), want)
		}
		counts[idx]++
	}
	for i, c := range counts {
		if math.Abs(float64(c)-10000) > 600 {
			t.Errorf("shard %d got %d of 40000 keys; want about 10000", i, c)
		}
	}
	if got := s.Index("big-tenant"); got != 3 {
		t.Errorf("pinned tenant on %d; want 3", got)
	}
	if s.ForKey("x") != db || s.Len() != 4 || s.Shard(2) != db {
		t.Error("accessors")
	}
	// A stable hash: these values must never change between releases.
	if got := JumpHash(HashKey("tenant-42"), 1024); got != JumpHash(HashKey("tenant-42"), 1024) || HashKey("") == HashKey("a") {
		t.Error("hash unstable")
	}
	if got := JumpHash(12345, 0); got != 0 {
		t.Errorf("JumpHash with no buckets = %d", got)
	}
	if allocs := testing.AllocsPerRun(1000, func() { _ = s.ForKey("tenant-12345") }); allocs != 0 {
		t.Errorf("ForKey allocates %v times", allocs)
	}
}

func TestMovesAboutOneNth(t *testing.T) {
	t.Parallel()
	keys := make([]string, 100000)
	for i := range keys {
		keys[i] = "user:" + strconv.Itoa(i)
	}
	for _, tc := range []struct{ from, to int }{{10, 11}, {4, 5}, {16, 20}, {100, 101}} {
		t.Run(fmt.Sprintf("%d to %d", tc.from, tc.to), func(t *testing.T) {
			moves := Moves(keys, tc.from, tc.to)
			want := float64(tc.to-tc.from) / float64(tc.to)
			got := float64(len(moves)) / float64(len(keys))
			if math.Abs(got-want) > 0.01 {
				t.Errorf("moved %.4f of keys; want about %.4f", got, want)
			}
			for _, m := range moves {
				if m.To < tc.from {
					t.Fatalf("key %s moved between old buckets (%d to %d)", m.Key, m.From, m.To)
				}
			}
		})
	}
	if len(Moves(keys, 8, 8)) != 0 {
		t.Error("keys moved without a change")
	}
	moved := MovedLogical([]int{0, 0, 1, 1}, []int{0, 2, 1, 2})
	if len(moved) != 2 || moved[0].Key != "1" || moved[1].To != 2 {
		t.Errorf("MovedLogical = %+v", moved)
	}
}

// tkShardSets builds a shard set of three PostgreSQL databases and one of
// three dbkit.SQLite files, each with the users table.
func tkShardSets(t *testing.T) map[string]*Set {
	t.Helper()
	out := map[string]*Set{}
	var pg, lite []*gorm.DB
	for i := range 3 {
		pg = append(pg, tkOpen(t, dbkit.Options{Driver: dbkit.Postgres, DSN: tkPostgresDB(t, "shard"+strconv.Itoa(i))}).Gorm())
		lite = append(lite, tkOpen(t, dbkit.Options{Driver: dbkit.SQLite, DSN: tkSQLitePath(t)}).Gorm())
	}
	for name, dbs := range map[string][]*gorm.DB{"postgres": pg, "sqlite": lite} {
		for _, db := range dbs {
			if err := db.AutoMigrate(&tkUser{}); err != nil {
				t.Fatal(err)
			}
		}
		s, err := New(Options{Shards: dbs, Logical: 64, Timeout: 300 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		out[name] = s
	}
	return out
}

func TestShardSetOnRealDatabases(t *testing.T) {
	tkNoLeaks(t)
	for name, s := range tkShardSets(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			gen, err := NewIDGenerator(7)
			if err != nil {
				t.Fatal(err)
			}
			var all []tkUser
			for i := range 90 {
				tenant := "tenant-" + strconv.Itoa(i%30)
				id, _ := gen.Next()
				u := tkUser{ID: id, Tenant: tenant}
				if err := s.ForKey(tenant).WithContext(ctx).Create(&u).Error; err != nil {
					t.Fatal(err)
				}
				all = append(all, u)
			}
			// Every row is on its tenant's shard and nowhere else.
			res, err := Gather(ctx, s, func(ctx context.Context, shard int, db *gorm.DB) ([]tkUser, error) {
				var us []tkUser
				return us, db.Find(&us).Error
			})
			if err != nil {
				t.Fatal(err)
			}
			total := 0
			for _, r := range res {
				for _, u := range r.Value {
					if s.Index(u.Tenant) != r.Shard {
						t.Fatalf("tenant %s found on shard %d; routes to %d", u.Tenant, r.Shard, s.Index(u.Tenant))
					}
				}
				total += len(r.Value)
			}
			if total != 90 {
				t.Fatalf("%d rows across shards; want 90", total)
			}

			// Scatter-gather one page: each shard sorts and limits, the merge
			// yields the global page.
			const limit = 10
			pages, err := Gather(ctx, s, func(ctx context.Context, shard int, db *gorm.DB) ([]tkUser, error) {
				var us []tkUser
				return us, db.Order("id DESC").Limit(limit).Find(&us).Error
			})
			if err != nil {
				t.Fatal(err)
			}
			var per [][]tkUser
			for _, p := range pages {
				per = append(per, p.Value)
			}
			got := MergeSorted(per, func(a, b tkUser) int { return cmp.Compare(b.ID, a.ID) }, limit)
			slices.SortFunc(all, func(a, b tkUser) int { return cmp.Compare(b.ID, a.ID) })
			if !slices.Equal(got, all[:limit]) {
				t.Fatalf("merged page %v; want %v", got, all[:limit])
			}
		})
	}
}

func TestGatherIsolatesSlowDeadAndPanickingShards(t *testing.T) {
	tkNoLeaks(t)
	s := tkShardSets(t)["postgres"]
	dead := tkOpen(t, dbkit.Options{Driver: dbkit.SQLite, DSN: tkSQLitePath(t)})
	shards := []*gorm.DB{s.Shard(0), s.Shard(1), s.Shard(2), dead.Gorm()}
	set, err := New(Options{Shards: shards, Timeout: 300 * time.Millisecond, Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := dead.SQL().Close(); err != nil {
		t.Fatal(err)
	}
	var running, peak atomic.Int32
	start := time.Now()
	res, err := Gather(context.Background(), set, func(ctx context.Context, shard int, db *gorm.DB) (int, error) {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		switch shard {
		case 1:
			return 0, db.Exec("SELECT pg_sleep(5)").Error
		case 2:
			panic("shard code bug")
		}
		var one int
		return one, db.Raw("SELECT 1").Scan(&one).Error
	})
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Gather took %v; the slow shard was not cut off at its timeout", took)
	}
	var ge *GatherError
	if !errors.As(err, &ge) {
		t.Fatalf("err %v; want *GatherError", err)
	}
	if len(ge.Failed) != 3 || ge.Failed[0] != nil || ge.Total != 4 {
		t.Fatalf("failed shards %v; want 1, 2 and 3", ge.Failed)
	}
	if res[0].Err != nil || res[0].Value != 1 {
		t.Errorf("healthy shard result %+v", res[0])
	}
	if dbkit.MapError(res[1].Err).Status() != 504 {
		t.Errorf("slow shard error %v; want a timeout", res[1].Err)
	}
	if peak.Load() > 2 {
		t.Errorf("%d shards ran at once; Concurrency is 2", peak.Load())
	}

	// All-or-nothing: the first failure cancels the slow shard too.
	start = time.Now()
	all, err := GatherAll(context.Background(), set, func(ctx context.Context, shard int, db *gorm.DB) (int, error) {
		if shard == 0 {
			return 0, errors.New("shard 0 refuses")
		}
		return 0, db.Exec("SELECT pg_sleep(5)").Error
	})
	if err == nil || all != nil || time.Since(start) > 3*time.Second {
		t.Fatalf("GatherAll = %v, %v after %v", all, err, time.Since(start))
	}
	if err := set.Each(context.Background(), func(ctx context.Context, shard int, db *gorm.DB) error { return nil }); err != nil {
		t.Errorf("Each: %v", err)
	}
}

func TestMergeSorted(t *testing.T) {
	t.Parallel()
	ints := func(a, b int) int { return cmp.Compare(a, b) }
	cases := []struct {
		name  string
		pages [][]int
		limit int
		want  []int
	}{
		{"empty", nil, 5, []int{}},
		{"one page", [][]int{{1, 2, 3}}, 2, []int{1, 2}},
		{"interleaved", [][]int{{1, 4, 7}, {2, 5, 8}, {3, 6, 9}}, 5, []int{1, 2, 3, 4, 5}},
		{"no limit", [][]int{{1, 3}, {}, {2}}, 0, []int{1, 2, 3}},
		{"limit above total", [][]int{{1}, {0}}, 10, []int{0, 1}},
		{"ties keep shard order", [][]int{{1, 1}, {1}}, 3, []int{1, 1, 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := MergeSorted(tc.pages, ints, tc.limit); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v; want %v", got, tc.want)
			}
		})
	}
	type item struct{ key, shard int }
	pages := [][]item{{{1, 0}, {2, 0}}, {{1, 1}}, {{0, 2}, {1, 2}}}
	got := MergeSorted(pages, func(a, b item) int { return cmp.Compare(a.key, b.key) }, 4)
	if want := []item{{0, 2}, {1, 0}, {1, 1}, {1, 2}}; !slices.Equal(got, want) {
		t.Errorf("equal keys: got %v; want them in shard order %v", got, want)
	}
}

func TestIDGenerator(t *testing.T) {
	t.Parallel()
	if _, err := NewIDGenerator(MaxNode + 1); err == nil {
		t.Fatal("node out of range accepted")
	}
	g, _ := NewIDGenerator(513)
	seen := make(map[int64]bool, 200000)
	var last int64
	for range 200000 {
		id, err := g.Next()
		if err != nil {
			t.Fatal(err)
		}
		if id <= last || seen[id] {
			t.Fatalf("id %d not increasing/unique after %d", id, last)
		}
		seen[id], last = true, id
	}
	ts, node, _ := ParseID(last)
	if node != 513 || time.Since(ts) > time.Minute || time.Since(ts) < -time.Minute {
		t.Errorf("ParseID = %v, %d", ts, node)
	}
}

func TestLeasedIDGeneratorsNeverShareANode(t *testing.T) {
	tkNoLeaks(t)
	for drv, db := range tkAll(t, "idlease") {
		t.Run(string(drv), func(t *testing.T) {
			ctx := context.Background()
			var gens []*IDGenerator
			var mu sync.Mutex
			var wg sync.WaitGroup
			for range 6 {
				wg.Go(func() {
					g, err := LeaseIDGenerator(ctx, db.Gorm(), LeaseOptions{TTL: time.Hour})
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					gens = append(gens, g)
					mu.Unlock()
				})
			}
			wg.Wait()
			if len(gens) != 6 {
				t.Fatalf("%d of 6 generators leased a node", len(gens))
			}
			defer func() {
				for _, g := range gens {
					_ = g.Close(ctx)
				}
			}()
			nodes := map[int]bool{}
			for _, g := range gens {
				if nodes[g.Node()] {
					t.Fatalf("node %d leased twice", g.Node())
				}
				nodes[g.Node()] = true
				if _, err := g.Next(); err != nil {
					t.Fatal(err)
				}
			}
			// A lease that ran out locally stops the generator until a
			// renewal succeeds.
			l := gens[0].lease
			l.expires.Store(1)
			if _, err := gens[0].Next(); !errors.Is(err, ErrNodeLeaseLost) {
				t.Fatalf("expired lease issues IDs: %v", err)
			}
			if l.renewOnce(ctx) {
				t.Fatal("renewal of a held lease reported it lost")
			}
			if _, err := gens[0].Next(); err != nil {
				t.Fatalf("renewed lease does not issue IDs: %v", err)
			}
			// Someone else takes the node: the generator must stop.
			victim := gens[1]
			if err := db.Gorm().Exec(`UPDATE dbkit_id_nodes SET holder = 'thief' WHERE node = ?`, victim.Node()).Error; err != nil {
				t.Fatal(err)
			}
			if !victim.lease.renewOnce(ctx) {
				t.Fatal("renewal of a stolen lease did not report it lost")
			}
			if _, err := victim.Next(); !errors.Is(err, ErrNodeLeaseLost) {
				t.Fatalf("stolen lease still issues IDs: %v", err)
			}
			for _, g := range gens {
				if err := g.Close(ctx); err != nil {
					t.Error(err)
				}
			}
			var left int64
			db.Gorm().Table("dbkit_id_nodes").Where("holder <> 'thief'").Count(&left)
			if left != 0 {
				t.Errorf("%d leases left after Close", left)
			}
		})
	}
	if _, err := LeaseIDGenerator(context.Background(), nil, LeaseOptions{Table: "x; DROP TABLE y"}); errs.KindOf(err) != errs.KindConfiguration {
		t.Errorf("bad table name: %v", err)
	}
}

// TestLeaseRenewalLoop runs the background renewal on fake time: it keeps
// the lease alive well past its TTL, and stops the generator once another
// holder took the node.
func TestLeaseRenewalLoop(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		db, err := dbkit.Open(ctx, dbkit.Options{Driver: dbkit.SQLite, DSN: ":memory:", Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		g, err := LeaseIDGenerator(ctx, db.Gorm(), LeaseOptions{TTL: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer g.Close(ctx)
		time.Sleep(10 * time.Second)
		if _, err := g.Next(); err != nil {
			t.Fatalf("lease not renewed: %v", err)
		}
		if err := db.Gorm().Exec(`UPDATE dbkit_id_nodes SET holder = 'thief' WHERE node = ?`, g.Node()).Error; err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second / 2)
		if _, err := g.Next(); !errors.Is(err, ErrNodeLeaseLost) {
			t.Fatalf("stolen lease still issues IDs: %v", err)
		}
	})
}
