package migrate_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing/fstest"

	"github.com/covetgo/covet/dbkit"
	"github.com/covetgo/covet/dbkit/migrate"
)

// Apply the pending migrations at start-up; Ready then reports the schema
// current, as a readiness check would.
func ExampleMigrator() {
	dir, err := os.MkdirTemp("", "migrate-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	db, err := dbkit.Open(ctx, dbkit.Options{Driver: dbkit.SQLite, DSN: filepath.Join(dir, "app.db"), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	defer db.Close()
	files := fstest.MapFS{
		"00001_notes.sql": {Data: []byte("-- +goose Up\nCREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);\n-- +goose Down\nDROP TABLE notes;\n")},
		"00002_owner.sql": {Data: []byte("-- +goose Up\nALTER TABLE notes ADD COLUMN owner TEXT;\n-- +goose Down\nALTER TABLE notes DROP COLUMN owner;\n")},
	}
	m, err := migrate.New(db, migrate.Options{FS: files, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		panic(err)
	}
	fmt.Println("ready before:", m.Ready(ctx) == nil)
	results, err := m.Up(ctx)
	if err != nil {
		panic(err)
	}
	for _, r := range results {
		fmt.Println("applied", r.Source.Version)
	}
	fmt.Println("ready after:", m.Ready(ctx) == nil)
	// Output:
	// ready before: false
	// applied 1
	// applied 2
	// ready after: true
}
