package main

import (
	"embed"
	"io/fs"

	"github.com/covetgo/covet/dbkit"
	"github.com/covetgo/covet/dbkit/migrate"
)

// migrationFiles holds one folder of goose migrations per dialect, so each
// database gets its native types. MySQL commits DDL implicitly, so every
// migration holds a single statement.
//
//go:embed migrations
var migrationFiles embed.FS

// newMigrator returns the migrator for the database's dialect. Its lock lets
// several instances start together and still apply each migration once.
func newMigrator(db *dbkit.DB) (*migrate.Migrator, error) {
	dir, err := fs.Sub(migrationFiles, "migrations/"+string(db.Driver()))
	if err != nil {
		return nil, err
	}
	return migrate.New(db, migrate.Options{FS: dir})
}
