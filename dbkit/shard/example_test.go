package shard_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"gorm.io/gorm"

	"github.com/covetgo/covet/dbkit"
	"github.com/covetgo/covet/dbkit/shard"
)

type Note struct {
	ID   int64 `gorm:"primaryKey"`
	Body string
}

// exampleDB opens a fresh SQLite file for an example.
func exampleDB() (*dbkit.DB, func()) {
	dir, err := os.MkdirTemp("", "shard-example")
	if err != nil {
		panic(err)
	}
	db, err := dbkit.Open(context.Background(), dbkit.Options{
		Driver: dbkit.SQLite,
		DSN:    filepath.Join(dir, "app.db"),
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	return db, func() { db.Close(); os.RemoveAll(dir) }
}

// A shard set routes each tenant to one database; Gather queries all of
// them and MergeSorted merges their sorted pages.
func ExampleSet() {
	var shards []*gorm.DB
	for range 3 {
		db, cleanup := exampleDB()
		defer cleanup()
		_ = db.Gorm().AutoMigrate(&Note{})
		shards = append(shards, db.Gorm())
	}
	set, err := shard.New(shard.Options{Shards: shards})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	for i := int64(1); i <= 9; i++ {
		tenant := fmt.Sprintf("tenant-%d", i)
		set.ForKey(tenant).WithContext(ctx).Create(&Note{ID: i, Body: tenant})
	}
	pages, err := shard.Gather(ctx, set, func(ctx context.Context, shard int, db *gorm.DB) ([]Note, error) {
		var notes []Note
		return notes, db.Order("id").Limit(4).Find(&notes).Error
	})
	if err != nil {
		panic(err)
	}
	var perShard [][]Note
	for _, p := range pages {
		perShard = append(perShard, p.Value)
	}
	for _, n := range shard.MergeSorted(perShard, func(a, b Note) int { return int(a.ID - b.ID) }, 4) {
		fmt.Println(n.ID, n.Body)
	}
	// Output:
	// 1 tenant-1
	// 2 tenant-2
	// 3 tenant-3
	// 4 tenant-4
}
