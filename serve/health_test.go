package serve_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/serve"
)

// readyBody holds both shapes: the 200 body and the 503 problem, whose
// checks are under "context".
type readyBody struct {
	Status  any                 `json:"status"` // "ready", or the problem's 503
	Code    string              `json:"code"`
	Checks  []serve.CheckResult `json:"checks"`
	Context struct {
		Checks []serve.CheckResult `json:"checks"`
	} `json:"context"`
}

func decodeReady(t *testing.T, body string) readyBody {
	t.Helper()
	var b readyBody
	if err := json.Unmarshal([]byte(body), &b); err != nil {
		t.Fatalf("body is not JSON: %v: %s", err, body)
	}
	return b
}

// byName returns the checks of b (either shape) keyed by name.
func (b readyBody) byName() map[string]serve.CheckResult {
	out := map[string]serve.CheckResult{}
	for _, c := range append(b.Checks, b.Context.Checks...) {
		out[c.Name] = c
	}
	return out
}

func TestReadiness(t *testing.T) {
	t.Parallel()
	ok := func(context.Context) error { return nil }
	fails := func(context.Context) error { return errors.New("dial tcp 10.0.0.5:5432: connection refused") }
	slow := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	tests := []struct {
		name       string
		checks     map[string]func(context.Context) error
		wantStatus int
		wantCode   string
		wantStates map[string]string
	}{
		{"no checks", nil, 200, "", map[string]string{}},
		{"all pass", map[string]func(context.Context) error{"postgres": ok, "redis": ok}, 200, "",
			map[string]string{"postgres": serve.CheckOK, "redis": serve.CheckOK}},
		{"one fails", map[string]func(context.Context) error{"postgres": fails, "redis": ok}, 503, "not_ready",
			map[string]string{"postgres": serve.CheckFailed, "redis": serve.CheckOK}},
		{"one too slow", map[string]func(context.Context) error{"postgres": ok, "search": slow}, 503, "not_ready",
			map[string]string{"postgres": serve.CheckOK, "search": serve.CheckTimeout}},
		{"one panics", map[string]func(context.Context) error{"broken": func(context.Context) error { panic("nil pointer") }}, 503, "not_ready",
			map[string]string{"broken": serve.CheckFailed}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := start(t, serve.Options{CheckTimeout: 500 * time.Millisecond}, func(s *serve.Server) {
				for name, fn := range tc.checks {
					s.Check(name, fn)
				}
			})
			began := time.Now()
			code, body := srv.get(t, "/readyz")
			if took := time.Since(began); took > 2*time.Second {
				t.Errorf("readiness took %v with a 500ms timeout", took)
			}
			if code != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", code, tc.wantStatus, body)
			}
			b := decodeReady(t, body)
			checks := b.byName()
			if code != 200 {
				if b.Code != tc.wantCode {
					t.Errorf("code %q, want %q", b.Code, tc.wantCode)
				}
			} else if b.Status != "ready" {
				t.Errorf("status %q, want ready", b.Status)
			}
			if len(checks) != len(tc.wantStates) {
				t.Errorf("checks = %v, want %v", checks, tc.wantStates)
			}
			for name, state := range tc.wantStates {
				if checks[name].Status != state {
					t.Errorf("%s = %q, want %q", name, checks[name].Status, state)
				}
			}
			_ = srv.stop(t)
		})
	}
}

// TestReadinessErrorDetailByMode: the check's error text is shown
// (sanitized) outside Production and never in it. Each server has its own
// errs Renderer (Options.Errors), so the modes run side by side, and the
// handler's own errs.Write renders in its server's mode too.
func TestReadinessErrorDetailByMode(t *testing.T) {
	t.Parallel()
	failing := func(context.Context) error {
		return errors.New("auth failed with Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJlc2lnbmF0dXJl")
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		errs.Write(w, r, errs.Wrap(errors.New("store refused"), errs.KindDatabase, "", ""))
	})
	for _, tc := range []struct {
		mode     errs.Mode
		wantText bool
	}{{errs.Production, false}, {errs.Staging, true}, {errs.Development, true}} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			t.Parallel()
			rd, err := errs.NewRenderer(errs.Options{Mode: tc.mode, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			srv := start(t, serve.Options{Errors: rd, Handler: handler}, func(s *serve.Server) { s.Check("auth", failing) })
			_, body := srv.get(t, "/readyz")
			got := decodeReady(t, body).byName()["auth"].Error
			if (got != "") != tc.wantText {
				t.Errorf("error shown = %q, want shown %v", got, tc.wantText)
			}
			if strings.Contains(body, "eyJzdWIiOiIxMjM0In0") {
				t.Errorf("token leaked into the readiness body: %s", body)
			}
			if _, body := srv.get(t, "/app"); strings.Contains(body, "store refused") != tc.wantText {
				t.Errorf("the handler's problem in %v: %s", tc.mode, body)
			}
			_ = srv.stop(t)
		})
	}
}

// TestReadinessCoalescesProbes: concurrent probes share one run of the
// checks, so a probe flood does not multiply the load on dependencies.
func TestReadinessCoalescesProbes(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		gate := make(chan struct{})
		srv, _ := startMem(t, serve.Options{CheckTimeout: 10 * time.Second}, func(s *serve.Server) {
			s.Check("db", func(ctx context.Context) error {
				calls.Add(1)
				select {
				case <-gate:
				case <-ctx.Done():
				}
				return nil
			})
		})
		h := srv.s.Readyz()
		var finished sync.WaitGroup
		codes := make(chan int, 20)
		for range 20 {
			finished.Go(func() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
				codes <- rec.Code
			})
		}
		synctest.Wait() // every probe has joined the run the gate holds open
		if n := calls.Load(); n != 1 {
			t.Errorf("20 concurrent probes ran the check %d times", n)
		}
		close(gate)
		finished.Wait()
		close(codes)
		for c := range codes {
			if c != http.StatusOK {
				t.Errorf("probe got %d", c)
			}
		}
		_ = srv.stop(t)
	})
}

// TestReadinessBackToBack: a probe right after another must run the
// checks again, not find them still marked as running.
func TestReadinessBackToBack(t *testing.T) {
	t.Parallel()
	srv := start(t, serve.Options{}, func(s *serve.Server) {
		s.Check("a", func(context.Context) error { return nil })
		s.Check("b", func(context.Context) error { return nil })
	})
	h := srv.s.Readyz()
	req := httptest.NewRequest(http.MethodGet, "/readyz", nil)
	for i := range 1000 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("probe %d = %d %s", i, rec.Code, rec.Body.String())
		}
	}
	_ = srv.stop(t)
}

// TestReadinessStuckCheckNotRestarted: a check that ignores its context is
// reported as timed out and not started again while it is still running.
func TestReadinessStuckCheckNotRestarted(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		unstick := make(chan struct{})
		srv, _ := startMem(t, serve.Options{CheckTimeout: 50 * time.Millisecond}, func(s *serve.Server) {
			s.Check("stuck", func(context.Context) error {
				calls.Add(1)
				<-unstick // ignores its context
				return nil
			})
		})
		for range 5 {
			code, body := srv.get(t, "/readyz")
			if code != http.StatusServiceUnavailable || decodeReady(t, body).byName()["stuck"].Status != serve.CheckTimeout {
				t.Errorf("probe = %d %s, want 503 with stuck timed out", code, body)
			}
		}
		if n := calls.Load(); n != 1 {
			t.Errorf("stuck check started %d times, want 1", n)
		}
		close(unstick)
		synctest.Wait() // the stuck call has returned
		if code, body := srv.get(t, "/readyz"); code != http.StatusOK {
			t.Fatalf("readiness did not recover after the check returned: %d %s", code, body)
		}
		_ = srv.stop(t)
	})
}

func TestProbes(t *testing.T) {
	t.Parallel()
	srv := start(t, serve.Options{HealthPath: "/live", ReadyPath: "/ready"}, nil)
	tests := []struct {
		name, method, path string
		wantStatus         int
		wantBody           string
	}{
		{"liveness", http.MethodGet, "/live", 200, `{"status":"ok"}`},
		{"liveness head", http.MethodHead, "/live", 200, ""},
		{"readiness", http.MethodGet, "/ready", 200, `{"status":"ready","checks":[]}`},
		{"default path is the app's now", http.MethodGet, "/healthz", 200, "app"},
		{"post to a probe", http.MethodPost, "/live", 405, `"code":"method_not_allowed"`},
		{"delete readiness", http.MethodDelete, "/ready", 405, `"code":"method_not_allowed"`},
		{"probe path with suffix goes to the app", http.MethodGet, "/live/x", 200, "app"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.url+tc.path, nil)
			resp, err := srv.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.wantStatus || !strings.Contains(string(b), tc.wantBody) {
				t.Errorf("%d %s, want %d containing %s", resp.StatusCode, b, tc.wantStatus, tc.wantBody)
			}
			if resp.StatusCode == 405 && resp.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow = %q", resp.Header.Get("Allow"))
			}
		})
	}
	_ = srv.stop(t)
}

// TestProbeHandlersBeforeRun: mounted elsewhere before Run, readiness
// reports that the server is starting.
func TestProbeHandlersBeforeRun(t *testing.T) {
	t.Parallel()
	s, err := serve.New(serve.Options{Handler: http.NotFoundHandler(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	s.Readyz().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), `"code":"starting"`) {
		t.Errorf("readyz before Run = %d %s", rec.Code, rec.Body.String())
	}
	rec = httptest.NewRecorder()
	s.Healthz().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if rec.Code != http.StatusOK {
		t.Errorf("healthz before Run = %d", rec.Code)
	}
}

func TestCheckRegistrationErrors(t *testing.T) {
	t.Parallel()
	s, err := serve.New(serve.Options{Handler: http.NotFoundHandler()})
	if err != nil {
		t.Fatal(err)
	}
	s.Check("db", func(context.Context) error { return nil })
	for _, tc := range []struct {
		name string
		call func()
	}{
		{"duplicate", func() { s.Check("db", func(context.Context) error { return nil }) }},
		{"empty name", func() { s.Check("", func(context.Context) error { return nil }) }},
		{"nil func", func() { s.Check("x", nil) }},
		{"unnamed hook", func() { s.Hook(serve.Hook{}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			tc.call()
		})
	}
}
