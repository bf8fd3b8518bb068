package dbkit

import (
	"context"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
)

func BenchmarkForKey(b *testing.B) {
	db := tkOpen(b, Options{Driver: SQLite, DSN: ":memory:"}).Gorm()
	shards := make([]*gorm.DB, 8)
	for i := range shards {
		shards[i] = db
	}
	s, err := NewShardSet(ShardSetOptions{Shards: shards, Pinned: map[string]int{"vip": 1}})
	if err != nil {
		b.Fatal(err)
	}
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = "tenant-" + strconv.Itoa(i*7919)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		_ = s.ForKey(keys[i&1023])
	}
}

func BenchmarkIDGeneratorNext(b *testing.B) {
	g, _ := NewIDGenerator(1)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = g.Next()
	}
}

func BenchmarkMapError(b *testing.B) {
	err := &pgconn.PgError{Code: "23505", ConstraintName: "users_email_key"}
	b.ReportAllocs()
	for b.Loop() {
		_ = MapError(err)
	}
}

func BenchmarkPrimaryKeyLookupSQLite(b *testing.B) {
	db := tkOpen(b, Options{Driver: SQLite, DSN: tkSQLitePath(b)})
	if err := db.Gorm().AutoMigrate(&tkUser{}); err != nil {
		b.Fatal(err)
	}
	for i := range 100 {
		db.Gorm().Create(&tkUser{ID: int64(i + 1), Tenant: "t"})
	}
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		var u tkUser
		if err := db.WithContext(ctx).First(&u, int64(i%100+1)).Error; err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTxSQLite(b *testing.B) {
	db := tkOpen(b, Options{Driver: SQLite, DSN: tkSQLitePath(b)})
	if err := db.Gorm().AutoMigrate(&tkUser{}); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		err := Tx(ctx, db.Gorm(), func(tx *gorm.DB) error {
			return tx.Create(&tkUser{ID: int64(i + 1), Tenant: "t"}).Error
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
