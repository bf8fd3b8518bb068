package shard

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/covetgo/covet/dbkit"
)

// TestIDGeneratorCloseTwiceAndConcurrently closes a leased generator from
// several goroutines and again afterwards.
func TestIDGeneratorCloseTwiceAndConcurrently(t *testing.T) {
	db := tkOpen(t, dbkit.Options{Driver: dbkit.Postgres, DSN: tkPostgresDB(t, "idclose")})
	ctx := context.Background()
	g, err := LeaseIDGenerator(ctx, db.Gorm(), LeaseOptions{Table: "tk_nodes_close"})
	if err != nil {
		t.Fatal(err)
	}
	// Hold the lease row locked, so the release waits until the lock goes.
	lock := db.Gorm().Begin()
	if err := lock.Exec(`SELECT 1 FROM tk_nodes_close WHERE node = ? FOR UPDATE`, g.Node()).Error; err != nil {
		t.Fatal(err)
	}
	// Let the lock go once a Close is waiting for it in PostgreSQL.
	go func() {
		defer lock.Rollback()
		deadline := time.Now().Add(10 * time.Second)
		for {
			var waiting int64
			if err := db.Gorm().Raw(`SELECT count(*) FROM pg_stat_activity
				WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting).Error; err != nil {
				t.Error(err)
				return
			}
			if waiting > 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Error("no Close waited for the locked lease row")
				return
			}
			time.Sleep(5 * time.Millisecond) // polls PostgreSQL, a separate process
		}
	}()
	held := func() int64 {
		var n int64
		if err := db.Gorm().Raw(`SELECT count(*) FROM tk_nodes_close WHERE node = ?`, g.Node()).Scan(&n).Error; err != nil {
			t.Error(err)
		}
		return n
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 8 {
		wg.Go(func() {
			<-start
			if err := g.Close(ctx); err != nil {
				t.Error(err)
			}
			// Every Close returns once the node is released.
			if n := held(); n != 0 {
				t.Errorf("Close returned while the node was still leased")
			}
		})
	}
	close(start)
	wg.Wait()
	if err := g.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Next(); !errors.Is(err, ErrNodeLeaseLost) {
		t.Errorf("Next after Close: %v; want ErrNodeLeaseLost", err)
	}
}
