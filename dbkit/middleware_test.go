package dbkit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/covetgo/covet/errs"
)

func TestNewMiddlewareValidates(t *testing.T) {
	t.Parallel()
	db := tkOpen(t, Options{Driver: SQLite, DSN: ":memory:"})
	cases := []struct {
		name string
		db   *DB
		o    MiddlewareOptions
	}{
		{"nil db", nil, MiddlewareOptions{}},
		{"negative window", db, MiddlewareOptions{ReadYourWritesWindow: -1}},
		{"bad cookie name", db, MiddlewareOptions{CookieName: "a b;c"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewMiddleware(tc.db, tc.o); errs.KindOf(err) != errs.KindConfiguration {
				t.Fatalf("err %v; want a configuration error", err)
			}
		})
	}
	if From(context.Background()) != nil {
		t.Error("From without the middleware is not nil")
	}
	for _, tc := range []struct {
		timeout time.Duration
		bounded bool
	}{{0, true}, {time.Minute, true}, {-1, false}} {
		mw, err := NewMiddleware(db, MiddlewareOptions{Timeout: tc.timeout})
		if err != nil {
			t.Fatal(err)
		}
		mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, has := r.Context().Deadline()
			if has != tc.bounded {
				t.Errorf("Timeout %v: deadline set = %v; want %v", tc.timeout, has, tc.bounded)
			}
		})).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	}
}

func TestMiddlewareTransactionPerRequest(t *testing.T) {
	tkNoLeaks(t)
	for drv, db := range tkAll(t, "mwtx") {
		t.Run(string(drv), func(t *testing.T) {
			if err := db.Gorm().AutoMigrate(&tkAccount{}); err != nil {
				t.Fatal(err)
			}
			mw, err := NewMiddleware(db, MiddlewareOptions{Transaction: true})
			if err != nil {
				t.Fatal(err)
			}
			var id int64 = 100
			cases := []struct {
				name    string
				handler func(w http.ResponseWriter, r *http.Request)
				status  int
				kept    bool
			}{
				{"2xx commits", func(w http.ResponseWriter, r *http.Request) {
					w.WriteHeader(http.StatusCreated)
				}, 201, true},
				{"implicit 200 commits", func(w http.ResponseWriter, r *http.Request) {}, 200, true},
				{"write commits", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }, 200, true},
				{"3xx commits", func(w http.ResponseWriter, r *http.Request) {
					http.Redirect(w, r, "/next", http.StatusSeeOther)
				}, 303, true},
				{"4xx rolls back", func(w http.ResponseWriter, r *http.Request) {
					errs.Write(w, r, errs.New(errs.KindValidation, "", "bad"))
				}, 422, false},
				{"5xx rolls back", func(w http.ResponseWriter, r *http.Request) {
					w.WriteHeader(http.StatusInternalServerError)
				}, 500, false},
				{"nested Tx failure keeps the rest", func(w http.ResponseWriter, r *http.Request) {
					_ = Tx(r.Context(), From(r.Context()), func(tx *gorm.DB) error {
						tx.Create(&tkAccount{ID: 999999})
						return errors.New("inner")
					})
					w.WriteHeader(http.StatusOK)
				}, 200, true},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					id++
					myID := id
					h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						if !InTx(r.Context()) {
							t.Error("no transaction in the request context")
						}
						if err := From(r.Context()).Create(&tkAccount{ID: myID}).Error; err != nil {
							t.Fatal(err)
						}
						tc.handler(w, r)
					}))
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))
					if rec.Code != tc.status {
						t.Fatalf("status %d; want %d", rec.Code, tc.status)
					}
					var n int64
					db.Gorm().Model(&tkAccount{}).Where("id = ?", myID).Count(&n)
					if (n == 1) != tc.kept {
						t.Fatalf("row kept = %v; want %v", n == 1, tc.kept)
					}
				})
			}
			var n int64
			db.Gorm().Model(&tkAccount{}).Where("id = ?", 999999).Count(&n)
			if n != 0 {
				t.Error("the failed nested Tx's row was committed")
			}
			// net/http panics on a status outside 100-999 when it is
			// written: the transaction must not be committed first.
			for i, code := range []int{0, 99, 1000} {
				t.Run(fmt.Sprintf("invalid status %d rolls back", code), func(t *testing.T) {
					rowID := int64(5001 + i)
					h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						From(r.Context()).Create(&tkAccount{ID: rowID})
						w.WriteHeader(code)
					}))
					func() {
						defer func() {
							if r := recover(); r == nil {
								t.Fatalf("WriteHeader(%d) did not panic", code)
							}
						}()
						h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/", nil))
					}()
					var n int64
					db.Gorm().Model(&tkAccount{}).Where("id = ?", rowID).Count(&n)
					if n != 0 {
						t.Fatalf("a request that wrote status %d committed", code)
					}
				})
			}
			t.Run("panic rolls back and re-panics", func(t *testing.T) {
				h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					From(r.Context()).Create(&tkAccount{ID: 5000})
					panic("handler bug")
				}))
				func() {
					defer func() {
						if r := recover(); r != "handler bug" {
							t.Fatalf("recovered %v", r)
						}
					}()
					h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/", nil))
				}()
				var n int64
				db.Gorm().Model(&tkAccount{}).Where("id = ?", 5000).Count(&n)
				if n != 0 {
					t.Fatal("a panicking request committed")
				}
			})
		})
	}
}

// TestMiddlewareCommitFailureBecomesProblem makes COMMIT fail with a real
// deferred constraint violation on PostgreSQL: the handler's 200 must be
// replaced by the mapped problem response.
func TestMiddlewareCommitFailureBecomesProblem(t *testing.T) {
	tkNoLeaks(t)
	db := tkOpen(t, Options{Driver: Postgres, DSN: tkPostgresDB(t, "mwcommit")})
	tkExec(t, db, `CREATE TABLE tk_deferred (id BIGINT PRIMARY KEY, email TEXT,
		CONSTRAINT tk_deferred_email_key UNIQUE (email) DEFERRABLE INITIALLY DEFERRED)`)
	mw, err := NewMiddleware(db, MiddlewareOptions{Transaction: true, Isolation: sql.LevelReadCommitted})
	if err != nil {
		t.Fatal(err)
	}
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g := From(r.Context())
		if err := g.Exec(`INSERT INTO tk_deferred VALUES (1, 'a@example.com'), (2, 'a@example.com')`).Error; err != nil {
			t.Fatalf("deferred insert failed early: %v", err)
		}
		// Headers of the answer the handler meant to send.
		http.SetCookie(w, &http.Cookie{Name: "signed_up", Value: "1"})
		w.Header().Set("Location", "/accounts/1")
		_, err := w.Write([]byte("secret body"))
		if err == nil {
			t.Error("Write after a failed commit succeeded")
		}
	}))
	rec := httptest.NewRecorder()
	rec.Header().Set("X-Frame-Options", "DENY") // an outer stage's
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))
	for _, k := range []string{"Set-Cookie", "Location"} {
		if v := rec.Header().Get(k); v != "" {
			t.Errorf("the problem replacing the handler's answer carries its %s: %q", k, v)
		}
	}
	if rec.Header().Get("X-Frame-Options") != "DENY" {
		t.Error("an outer stage's header was dropped")
	}
	if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), CodeUniqueViolation) {
		t.Fatalf("status %d %s; want 409 %s", rec.Code, rec.Body, CodeUniqueViolation)
	}
	if strings.Contains(rec.Body.String(), "secret body") {
		t.Error("the handler's body leaked after a failed commit")
	}
}

func TestResponseWriterKeepsInterfaces(t *testing.T) {
	t.Parallel()
	db := tkOpen(t, Options{Driver: SQLite, DSN: ":memory:"})
	mw, _ := NewMiddleware(db, MiddlewareOptions{Transaction: true})
	h := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := w.(http.Flusher); !ok {
			t.Error("not a Flusher")
		}
		if _, ok := w.(http.Hijacker); !ok {
			t.Error("not a Hijacker")
		}
		if u, ok := w.(interface{ Unwrap() http.ResponseWriter }); !ok || u.Unwrap() == nil {
			t.Error("no Unwrap")
		}
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("Flush through ResponseController: %v", err)
		}
		_, _ = w.Write([]byte("x"))
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if !rec.Flushed || rec.Body.String() != "x" {
		t.Errorf("flushed %v body %q", rec.Flushed, rec.Body)
	}
}
