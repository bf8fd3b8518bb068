package shard

import (
	"strconv"
	"testing"

	"gorm.io/gorm"

	"github.com/covetgo/covet/dbkit"
)

func BenchmarkForKey(b *testing.B) {
	db := tkOpen(b, dbkit.Options{Driver: dbkit.SQLite, DSN: ":memory:"}).Gorm()
	shards := make([]*gorm.DB, 8)
	for i := range shards {
		shards[i] = db
	}
	s, err := New(Options{Shards: shards, Pinned: map[string]int{"vip": 1}})
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
