package dbkit_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"

	"gorm.io/gorm"

	"github.com/covetgo/covet/dbkit"
	"github.com/covetgo/covet/errs"
)

type Note struct {
	ID   int64 `gorm:"primaryKey"`
	Body string
}

// exampleDB opens a fresh SQLite file for an example.
func exampleDB() (*dbkit.DB, func()) {
	dir, err := os.MkdirTemp("", "dbkit-example")
	if err != nil {
		panic(err)
	}
	db, err := dbkit.Open(context.Background(), dbkit.Config{
		Driver: dbkit.SQLite,
		DSN:    filepath.Join(dir, "app.db"),
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	return db, func() { db.Close(); os.RemoveAll(dir) }
}

// Open a database, mount the Middleware, and answer with the request's
// handle; a missing row becomes a 404 problem response.
func ExampleOpen() {
	db, cleanup := exampleDB()
	defer cleanup()
	if err := db.Gorm().AutoMigrate(&Note{}); err != nil {
		panic(err)
	}
	db.Gorm().Create(&Note{ID: 1, Body: "hello"})

	mw, err := dbkit.NewMiddleware(db, dbkit.MiddlewareOptions{})
	if err != nil {
		panic(err)
	}
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n Note
		if err := dbkit.From(r.Context()).First(&n, r.URL.Query().Get("id")).Error; err != nil {
			errs.Write(w, r, db.MapError(err))
			return
		}
		fmt.Fprintln(w, n.Body)
	}))
	for _, id := range []string{"1", "2"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/notes?id="+id, nil))
		fmt.Println(rec.Code, strings.TrimSpace(rec.Body.String())[:min(rec.Body.Len(), 5)])
	}
	// Output:
	// 200 hello
	// 404 {"typ
}

// Tx commits when fn returns nil and rolls back when it fails; a unique
// violation maps to 409.
func ExampleTx() {
	db, cleanup := exampleDB()
	defer cleanup()
	_ = db.Gorm().AutoMigrate(&Note{})
	ctx := context.Background()

	err := dbkit.Tx(ctx, db.Gorm(), func(tx *gorm.DB) error {
		return tx.Create(&Note{ID: 1, Body: "first"}).Error
	})
	fmt.Println("first:", err)

	err = dbkit.Tx(ctx, db.Gorm(), func(tx *gorm.DB) error {
		if err := tx.Create(&Note{ID: 2, Body: "second"}).Error; err != nil {
			return err
		}
		return tx.Create(&Note{ID: 1, Body: "duplicate"}).Error
	})
	var dbErr *dbkit.Error
	mapped := dbkit.MapError(err)
	fmt.Println("second:", errors.As(mapped, &dbErr), dbErr.Class, mapped.Status())

	var count int64
	db.Gorm().Model(&Note{}).Count(&count)
	fmt.Println("notes:", count)
	// Output:
	// first: <nil>
	// second: true unique_violation 409
	// notes: 1
}

// A per-request transaction commits on success and rolls back on an error
// response.
func ExampleMiddleware_transaction() {
	db, cleanup := exampleDB()
	defer cleanup()
	_ = db.Gorm().AutoMigrate(&Note{})
	mw, _ := dbkit.NewMiddleware(db, dbkit.MiddlewareOptions{Transaction: true})
	var next int64
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next++
		dbkit.From(r.Context()).Create(&Note{ID: next, Body: r.URL.Query().Get("body")})
		if r.URL.Query().Get("body") == "" {
			errs.Write(w, r, errs.New(errs.KindValidation, "", "body is required"))
			return
		}
		w.WriteHeader(http.StatusCreated)
	}))
	for _, q := range []string{"?body=kept", "?body="} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/notes"+q, nil))
		fmt.Println(rec.Code)
	}
	var count int64
	db.Gorm().Model(&Note{}).Count(&count)
	fmt.Println("notes:", count)
	// Output:
	// 201
	// 422
	// notes: 1
}
