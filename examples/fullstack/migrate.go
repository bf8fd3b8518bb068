package main

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"

	"github.com/covetgo/covet/dbkit"
)

//go:embed migrations
var migrationFiles embed.FS

// newMigrator returns the goose provider for the database's dialect.
func newMigrator(db *dbkit.DB) (*goose.Provider, error) {
	var dialect goose.Dialect
	switch db.Driver() {
	case dbkit.Postgres:
		dialect = goose.DialectPostgres
	case dbkit.MySQL:
		dialect = goose.DialectMySQL
	default:
		dialect = goose.DialectSQLite3
	}
	dir, err := fs.Sub(migrationFiles, "migrations/"+string(db.Driver()))
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(dialect, db.SQL(), dir)
}

// migrationsCurrent is a readiness check: it fails while migrations are pending.
func migrationsCurrent(p *goose.Provider) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		pending, err := p.HasPending(ctx)
		if err != nil {
			return err
		}
		if pending {
			return fmt.Errorf("migrations pending")
		}
		return nil
	}
}
