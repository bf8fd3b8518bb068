package dbkit

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/covetgo/covet/errs"
)

// syncBuffer is a bytes.Buffer safe for concurrent log writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestTwoRenderersInOneProcess: one DB and one Middleware serve two
// applications in one process, one with a Production errs Renderer and one
// with a Development Renderer, in parallel. Each request follows its own
// application's Renderer: bound values reach the log and the unique
// constraint's name reaches the response only for the Development one.
func TestTwoRenderersInOneProcess(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	l := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	db := tkOpen(t, Options{Driver: SQLite, DSN: tkSQLitePath(t), Logger: l,
		Log: LoggerOptions{SlowQuery: time.Nanosecond, LogParams: true}})
	tkExec(t, db, `CREATE TABLE rd_users (email TEXT UNIQUE)`, `INSERT INTO rd_users (email) VALUES ('taken@example.com')`)
	mw, err := NewMiddleware(db, MiddlewareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	app := mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tx := From(r.Context())
		if err := tx.Exec(`INSERT INTO rd_users (email) VALUES (?)`, "param-"+r.URL.Query().Get("v")).Error; err != nil {
			errs.Write(w, r, db.MapErrorContext(r.Context(), err))
			return
		}
		err := tx.Exec(`INSERT INTO rd_users (email) VALUES (?)`, "taken@example.com").Error
		errs.Write(w, r, db.MapErrorContext(r.Context(), err))
	}))
	servers := map[errs.Mode]*httptest.Server{}
	for _, mode := range []errs.Mode{errs.Production, errs.Development} {
		srv := httptest.NewServer(tkRenderer(t, mode).Handler(app))
		t.Cleanup(srv.Close)
		servers[mode] = srv
	}
	const perApp = 6
	var wg sync.WaitGroup
	for mode, srv := range servers {
		for i := range perApp {
			wg.Go(func() {
				res, err := srv.Client().Get(fmt.Sprintf("%s/?v=%v-%d", srv.URL, mode, i))
				if err != nil {
					t.Error(err)
					return
				}
				defer res.Body.Close()
				body, _ := io.ReadAll(res.Body)
				shown := strings.Contains(string(body), "rd_users.email")
				if res.StatusCode != http.StatusConflict || !strings.Contains(string(body), CodeUniqueViolation) ||
					shown != (mode == errs.Development) {
					t.Errorf("%v app: %d %s; want 409 %s with the constraint only in Development", mode, res.StatusCode, body, CodeUniqueViolation)
				}
			})
		}
	}
	wg.Wait()
	out := logs.String()
	for i := range perApp {
		if !strings.Contains(out, fmt.Sprintf("param-%v-%d", errs.Development, i)) {
			t.Errorf("Development request %d: bound value not logged", i)
		}
	}
	if strings.Contains(out, "param-"+errs.Production.String()) {
		t.Errorf("Production requests logged bound values:\n%s", out)
	}
}
