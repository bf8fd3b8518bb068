package dbkit

import (
	"context"
	"database/sql"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"

	"github.com/covetgo/covet/errs"
)

// tkOrigin names the database that holds the row, so a read shows which
// database served it.
type tkOrigin struct {
	ID   int64 `gorm:"primaryKey;autoIncrement:false"`
	Name string
}

func (tkOrigin) TableName() string { return "tk_origins" }

func tkSeedOrigin(t *testing.T, dsn, name string) {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS tk_origins (id BIGINT PRIMARY KEY, name TEXT)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO tk_origins (id, name) VALUES (1, $1)`, name); err != nil {
		t.Fatal(err)
	}
}

func tkCreatePostgres(t *testing.T, full string) {
	t.Helper()
	db, err := sql.Open("pgx", testsvcPostgres(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE DATABASE ` + full); err != nil {
		t.Fatal(err)
	}
}

type tkReplicaFixture struct {
	db                  *DB
	primary, rep1, rep2 string
}

func tkReplicas(t *testing.T, reg prometheus.Registerer) tkReplicaFixture {
	t.Helper()
	f := tkReplicaFixture{
		primary: tkPostgresDB(t, "rprimary"),
		rep1:    tkPostgresDB(t, "rrep1"),
		rep2:    tkPostgresDB(t, "rrep2"),
	}
	tkSeedOrigin(t, f.primary, "primary")
	tkSeedOrigin(t, f.rep1, "rep1")
	tkSeedOrigin(t, f.rep2, "rep2")
	f.db = tkOpen(t, Options{
		Driver: Postgres, DSN: f.primary, Replicas: []string{f.rep1, f.rep2},
		ReplicaCheckInterval: time.Hour, PingTimeout: time.Second, Registerer: reg, Name: "replicated",
	})
	return f
}

// tkServedBy reads row 1 with g and returns which database answered.
func tkServedBy(t *testing.T, g *gorm.DB) string {
	t.Helper()
	var o tkOrigin
	if err := g.First(&o, 1).Error; err != nil {
		t.Fatalf("read: %v", err)
	}
	return o.Name
}

func tkRawServedBy(t *testing.T, g *gorm.DB) string {
	t.Helper()
	var name string
	if err := g.Raw(`SELECT name FROM tk_origins WHERE id = 1`).Scan(&name).Error; err != nil {
		t.Fatalf("raw read: %v", err)
	}
	return name
}

func TestReplicaRouting(t *testing.T) {
	tkNoLeaks(t)
	reg := prometheus.NewRegistry()
	f := tkReplicas(t, reg)
	db := f.db
	bg := context.Background()

	t.Run("round robin over replicas", func(t *testing.T) {
		seen := map[string]int{}
		for range 10 {
			seen[tkServedBy(t, db.WithContext(ReadYourWrites(bg)))]++
		}
		if seen["rep1"] != 5 || seen["rep2"] != 5 || seen["primary"] != 0 {
			t.Fatalf("served by %v; want 5 reads on each replica", seen)
		}
	})
	t.Run("intent", func(t *testing.T) {
		cases := []struct {
			name string
			got  func() string
			want []string
		}{
			{"builder read auto", func() string { return tkServedBy(t, db.WithContext(bg)) }, []string{"rep1", "rep2"}},
			{"raw read auto goes to primary", func() string { return tkRawServedBy(t, db.WithContext(bg)) }, []string{"primary"}},
			{"raw read with IntentReplica", func() string { return tkRawServedBy(t, db.WithContext(WithIntent(bg, IntentReplica))) }, []string{"rep1", "rep2"}},
			{"builder read with IntentPrimary", func() string { return tkServedBy(t, db.WithContext(WithIntent(bg, IntentPrimary))) }, []string{"primary"}},
			{"read inside a transaction", func() string {
				var got string
				if err := Tx(bg, db.Gorm(), func(tx *gorm.DB) error { got = tkServedBy(t, tx); return nil }); err != nil {
					t.Fatal(err)
				}
				return got
			}, []string{"primary"}},
		}
		for _, tc := range cases {
			for range 4 {
				got := tc.got()
				ok := false
				for _, w := range tc.want {
					ok = ok || got == w
				}
				if !ok {
					t.Errorf("%s: served by %s; want one of %v", tc.name, got, tc.want)
				}
			}
		}
	})
	t.Run("read your writes", func(t *testing.T) {
		ctx := ReadYourWrites(bg)
		if got := tkServedBy(t, db.WithContext(ctx)); got == "primary" {
			t.Fatalf("read before any write served by the primary")
		}
		if err := db.WithContext(ctx).Create(&tkOrigin{ID: 100, Name: "new"}).Error; err != nil {
			t.Fatal(err)
		}
		var o tkOrigin
		if err := db.WithContext(ctx).First(&o, 100).Error; err != nil {
			t.Fatalf("read after write did not see the write: %v", err)
		}
		for range 4 {
			if got := tkServedBy(t, db.WithContext(ctx)); got != "primary" {
				t.Fatalf("read after write served by %s; want primary", got)
			}
		}
		if got := tkServedBy(t, db.WithContext(ReadYourWrites(bg))); got == "primary" {
			t.Errorf("another request's read went to the primary")
		}
		other := ReadYourWrites(bg)
		if err := Tx(other, db.Gorm(), func(tx *gorm.DB) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if got := tkServedBy(t, db.WithContext(other)); got != "primary" {
			t.Errorf("read after a Tx served by %s; want primary", got)
		}
	})
	t.Run("failed replica leaves rotation and returns", func(t *testing.T) {
		tkDropPostgres(t, "covet_dbkit_rrep1")
		db.CheckReplicas(bg)
		if h := db.ReplicaHealth(); h[0] || !h[1] {
			t.Fatalf("health %v; want [false true]", h)
		}
		for range 6 {
			if got := tkServedBy(t, db.WithContext(bg)); got != "rep2" {
				t.Fatalf("served by %s with rep1 down; want rep2", got)
			}
		}
		tkDropPostgres(t, "covet_dbkit_rrep2")
		db.CheckReplicas(bg)
		for range 4 {
			if got := tkServedBy(t, db.WithContext(bg)); got != "primary" {
				t.Fatalf("served by %s with all replicas down; want primary", got)
			}
		}
		up, err := tkCountUp(reg)
		if err != nil || up != 0 {
			t.Errorf("dbkit_replica_up sum %v (%v); want 0", up, err)
		}
		tkCreatePostgres(t, "covet_dbkit_rrep1")
		tkSeedOrigin(t, f.rep1, "rep1")
		db.CheckReplicas(bg)
		for range 4 {
			if got := tkServedBy(t, db.WithContext(bg)); got != "rep1" {
				t.Fatalf("served by %s after rep1 recovered; want rep1", got)
			}
		}
	})
}

func tkCountUp(g prometheus.Gatherer) (float64, error) {
	mfs, err := g.Gather()
	if err != nil {
		return 0, err
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() == "dbkit_replica_up" {
			for _, m := range mf.GetMetric() {
				sum += m.GetGauge().GetValue()
			}
		}
	}
	return sum, nil
}

func TestMiddlewareReadYourWritesWindow(t *testing.T) {
	tkNoLeaks(t)
	f := tkReplicas(t, nil)
	mw, err := NewMiddleware(f.db, MiddlewareOptions{ReadYourWritesWindow: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g := From(r.Context())
		if r.Method == http.MethodPost {
			if err := g.Create(&tkOrigin{ID: 200, Name: "posted"}).Error; err != nil {
				errs.Write(w, r, MapError(err))
				return
			}
		}
		var o tkOrigin
		if err := g.First(&o, 1).Error; err != nil {
			errs.Write(w, r, MapError(err))
			return
		}
		_, _ = w.Write([]byte(o.Name))
	}))
	get := func(cookies ...*http.Cookie) string {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Body.String()
	}
	if got := get(); got == "primary" {
		t.Fatalf("plain GET served by the primary")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))
	if rec.Body.String() != "primary" {
		t.Errorf("POST's read after its write served by %q; want primary", rec.Body.String())
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Name != "covet_ryw" || !cookies[0].HttpOnly {
		t.Fatalf("cookies %v; want one HttpOnly covet_ryw", cookies)
	}
	for range 3 {
		if got := get(cookies[0]); got != "primary" {
			t.Fatalf("GET within the window served by %q; want primary", got)
		}
	}
	expired := &http.Cookie{Name: "covet_ryw", Value: "1"}
	garbage := &http.Cookie{Name: "covet_ryw", Value: "99999999999999999999999999"}
	forever := &http.Cookie{Name: "covet_ryw", Value: strconv.FormatInt(time.Now().Add(time.Hour).UnixMilli(), 10)}
	for _, c := range []*http.Cookie{expired, garbage, forever} {
		if got := get(c); got == "primary" {
			t.Errorf("cookie %q pinned reads to the primary", c.Value)
		}
	}
}

func TestReplicaHealthCheckRunsOnItsOwn(t *testing.T) {
	tkNoLeaks(t)
	primary, rep := tkPostgresDB(t, "hprimary"), tkPostgresDB(t, "hrep")
	tkSeedOrigin(t, primary, "primary")
	tkSeedOrigin(t, rep, "rep")
	db := tkOpen(t, Options{Driver: Postgres, DSN: primary, Replicas: []string{rep}, ReplicaCheckInterval: 50 * time.Millisecond, PingTimeout: time.Second})
	if got := tkServedBy(t, db.WithContext(context.Background())); got != "rep" {
		t.Fatalf("served by %s; want rep", got)
	}
	tkDropPostgres(t, "covet_dbkit_hrep")
	deadline := time.Now().Add(5 * time.Second)
	for db.ReplicaHealth()[0] && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if db.ReplicaHealth()[0] {
		t.Fatal("the periodic check did not take the dropped replica out")
	}
	if got := tkServedBy(t, db.WithContext(context.Background())); got != "primary" {
		t.Fatalf("served by %s; want primary", got)
	}
	if s := db.ReplicaStats(); len(s) != 1 {
		t.Errorf("ReplicaStats has %d entries", len(s))
	}
}
