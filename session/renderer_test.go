package session

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/covetgo/covet/errs"
)

// TestTwoRenderersInOneProcess: two applications share one process and one
// Manager, one with a Production renderer that audits, one with a
// Development renderer that does not. Served in parallel, each request
// follows its own application's renderer: only Development holds the
// response and turns a change after the headers into a 500, and only the
// Production application's audit log records renewals.
func TestTwoRenderersInOneProcess(t *testing.T) {
	t.Parallel()
	var audit logBuffer
	prod := testRenderer(t, errs.Production, audit.logger())
	dev := testRenderer(t, errs.Development, nil)
	var logs logBuffer
	m := newTestManager(t, Options{Logger: logs.logger()})
	app := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/start":
			From(r).Set("user", "u1")
		case "/renew":
			if err := Renew(r); err != nil {
				t.Errorf("Renew: %v", err)
			}
		case "/late":
			_, _ = io.WriteString(w, "body")
			From(r).Set("late", "value")
		}
	}))
	servers := map[errs.Mode]*httptest.Server{
		errs.Production:  httptest.NewServer(prod.Handler(app)),
		errs.Development: httptest.NewServer(dev.Handler(app)),
	}
	const perApp = 8
	var wg sync.WaitGroup
	for mode, srv := range servers {
		t.Cleanup(srv.Close)
		for range perApp {
			wg.Go(func() {
				status, body := lateChange(t, srv)
				switch mode {
				case errs.Development:
					if status != http.StatusInternalServerError || !strings.Contains(body, "session_changed_after_headers") {
						t.Errorf("Development app: %d %s, want 500 session_changed_after_headers", status, body)
					}
				default:
					if status != http.StatusOK || body != "body" {
						t.Errorf("Production app: %d %q, want 200 body", status, body)
					}
				}
			})
		}
	}
	wg.Wait()
	if n := strings.Count(audit.String(), "session.renewed"); n != perApp {
		t.Errorf("Production audit log has %d renewals, want %d (one per Production request, none from Development):\n%s", n, perApp, audit.String())
	}
}

// lateChange starts a session on srv, renews it, and then asks for the
// change made after the headers; it returns that response.
func lateChange(t *testing.T, srv *httptest.Server) (int, string) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Transport: srv.Client().Transport, Jar: jar}
	for _, path := range []string{"/start", "/renew"} {
		res, err := c.Get(srv.URL + path)
		if err != nil {
			t.Error(err)
			return 0, ""
		}
		_ = res.Body.Close()
	}
	res, err := c.Get(srv.URL + "/late")
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}
