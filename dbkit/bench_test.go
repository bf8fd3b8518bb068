package dbkit

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
)

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

type tkUser struct {
	ID     int64 `gorm:"primaryKey;autoIncrement:false"`
	Tenant string
}

func (tkUser) TableName() string { return "tk_users" }
