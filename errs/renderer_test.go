package errs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/covetgo/covet/observe"
)

// syncBuffer is a bytes.Buffer that many request goroutines may log into.
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

// app is one application of the two-modes test: its renderer and its logs.
type app struct {
	name        string
	logs, audit *syncBuffer
	rd          *Renderer
}

func newApp(t *testing.T, name string, mode Mode) *app {
	a := &app{name: name, logs: new(syncBuffer), audit: new(syncBuffer)}
	a.rd = renderer(t, Options{
		Mode:        mode,
		Logger:      slog.New(slog.NewJSONHandler(a.logs, nil)),
		AuditLogger: slog.New(slog.NewJSONHandler(a.audit, nil)),
	})
	return a
}

// appHandler fails in three ways; it names no Renderer, so what it writes
// depends only on the Renderer its application mounted.
func appHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/fail", Handle(func(w http.ResponseWriter, r *http.Request) error {
		return Wrap(errors.New("dial tcp: password=hunter2 refused"), KindDatabase, "", "Could not load the note.").With("note", 7)
	}))
	mux.HandleFunc("/panic", func(http.ResponseWriter, *http.Request) { panic("boom with token=hunter2") })
	mux.Handle("/denied", Handle(func(w http.ResponseWriter, r *http.Request) error {
		return New(KindAuthentication, "invalid_token", "Invalid token.")
	}))
	return mux
}

// TestTwoModesInOneProcess serves a Production and a Development application
// from one process and hits both at once: each renders its own mode and
// logs only to its own loggers.
func TestTwoModesInOneProcess(t *testing.T) {
	t.Parallel()
	prod, dev := newApp(t, "prod", Production), newApp(t, "dev", Development)
	ids, err := observe.NewRequestID(observe.RequestIDOptions{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	for _, a := range []*app{prod, dev} {
		mux.Handle("/"+a.name+"/", http.StripPrefix("/"+a.name, ids.Handler(a.rd.Recover(appHandler()))))
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()

	const rounds = 40
	t.Run("group", func(t *testing.T) {
		for _, a := range []*app{prod, dev} {
			t.Run(a.name, func(t *testing.T) {
				t.Parallel()
				for i := range rounds {
					for _, path := range []string{"/fail", "/panic", "/denied"} {
						checkAppResponse(t, srv, a, path, i)
					}
				}
			})
		}
	})

	for _, a := range []*app{prod, dev} {
		other := map[string]string{"prod": "dev", "dev": "prod"}[a.name]
		logs, audit := a.logs.String(), a.audit.String()
		if n := strings.Count(logs, `"msg":"request failed"`); n != rounds {
			t.Errorf("%s: %d failures logged, want %d", a.name, n, rounds)
		}
		if n := strings.Count(logs, `"msg":"panic recovered"`); n != rounds {
			t.Errorf("%s: %d panics logged, want %d", a.name, n, rounds)
		}
		if n := strings.Count(audit, `"code":"invalid_token"`); n != rounds {
			t.Errorf("%s: %d audit records, want %d", a.name, n, rounds)
		}
		if !strings.Contains(logs+audit, `"request_id":"`+a.name+`-`) || strings.Contains(logs+audit, `"request_id":"`+other+`-`) || strings.Contains(logs+audit, "hunter2") {
			t.Errorf("%s logs hold the other app's requests or a secret:\n%s\n%s", a.name, logs, audit)
		}
	}
}

func checkAppResponse(t *testing.T, srv *httptest.Server, a *app, path string, i int) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/"+a.name+path, nil)
	req.Header.Set("X-Request-ID", fmt.Sprintf("%s-%d", a.name, i))
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("%s%s #%d: %v: %s", a.name, path, i, err, body)
	}
	if strings.Contains(string(body), "hunter2") {
		t.Fatalf("%s%s: secret in the body: %s", a.name, path, body)
	}
	if path == "/denied" {
		if _, hasStack := m["stack"]; resp.StatusCode != 401 || hasStack {
			t.Fatalf("%s%s: %d %s", a.name, path, resp.StatusCode, body)
		}
		return
	}
	if resp.StatusCode != 500 {
		t.Fatalf("%s%s: status %d", a.name, path, resp.StatusCode)
	}
	shown := shownDetail(m)
	want := "the cause, the stack"
	if path == "/fail" {
		want = "the cause, the context, the stack"
	}
	if a.rd.Mode() == Production && shown != "" || a.rd.Mode() == Development && shown != want {
		t.Fatalf("%v %s shows %q: %s", a.rd.Mode(), path, shown, body)
	}
}

// shownDetail lists what a 500 problem shows beyond Production's generic
// body: the cause, the context and the stack.
func shownDetail(m map[string]any) string {
	var shown []string
	if detail, _ := m["detail"].(string); detail != genericDetail {
		shown = append(shown, "the cause")
	}
	if m["context"] != nil {
		shown = append(shown, "the context")
	}
	if _, hasStack := m["stack"]; hasStack {
		shown = append(shown, "the stack")
	}
	return strings.Join(shown, ", ")
}

func TestNewRendererRefuses(t *testing.T) {
	t.Parallel()
	for _, o := range []Options{
		{Mode: Development + 1},
		{TypeBase: "docs/problems/"},
		{TypeBase: "https://%zz/"},
	} {
		if rd, err := NewRenderer(o); !errors.Is(err, KindConfiguration) || rd != nil {
			t.Errorf("NewRenderer(%+v) = %v, %v; want a configuration error", o, rd, err)
		}
	}
	rd, err := NewRenderer(Options{Mode: Staging, TypeBase: "https://errors.example.com/"})
	if err != nil || rd.Mode() != Staging || rd.Sanitizer() != defaultSanitizer || rd.Logger() != slog.Default() || rd.AuditEnabled() {
		t.Fatalf("valid options: %v %v", rd, err)
	}
}

// TestRendererFromContext: the package functions follow the Renderer of the
// request's context, and fall back to the default without one.
func TestRendererFromContext(t *testing.T) {
	t.Parallel()
	var audit syncBuffer
	rd := renderer(t, Options{Mode: Development, Logger: slog.New(slog.DiscardHandler), AuditLogger: slog.New(slog.NewJSONHandler(&audit, nil))})
	if RendererFrom(context.Background()) != Default() {
		t.Fatal("no Renderer in the context must give the default")
	}
	ctx := WithRenderer(context.Background(), rd)
	if RendererFrom(ctx) != rd {
		t.Fatal("RendererFrom lost the Renderer")
	}
	r := httptest.NewRequest(http.MethodGet, "/x", nil).WithContext(ctx)
	err := Wrap(errors.New("disk on fire"), KindInternal, "", "")
	if p := string(Problem(r, err)); !strings.Contains(p, "disk on fire") || !strings.Contains(p, `"stack"`) {
		t.Fatalf("Problem did not use the context's Development renderer: %s", p)
	}
	rec := httptest.NewRecorder()
	Write(rec, r, err)
	if !strings.Contains(rec.Body.String(), "disk on fire") {
		t.Fatalf("Write did not use the context's renderer: %s", rec.Body.String())
	}
	Audit(ctx, "login", slog.String("user", "ann"))
	if !strings.Contains(audit.String(), `"user":"ann"`) {
		t.Fatalf("Audit did not use the context's renderer: %s", audit.String())
	}
	// rd.Handler does not stack a second context value for the same renderer.
	var seen *http.Request
	inner := rd.Handler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { seen = r }))
	inner.ServeHTTP(httptest.NewRecorder(), r)
	if seen != r {
		t.Error("Handler copied a request that already carried its Renderer")
	}
}

// TestDefault changes the package default, so it does not run in parallel;
// it restores the default before the parallel tests start.
func TestDefault(t *testing.T) {
	old := Default()
	defer SetDefault(old)
	if old.Mode() != Production {
		t.Fatalf("the initial default is %v", old.Mode())
	}
	var logs bytes.Buffer
	Configure(Config{Mode: Staging, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if CurrentMode() != Staging || Default().Mode() != Staging {
		t.Fatal("Configure did not set the default")
	}
	SetMode(Development)
	if CurrentMode() != Development || DefaultSanitizer() != defaultSanitizer {
		t.Fatal("SetMode did not keep the rest of the default")
	}
	Write(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil), errors.New("plain"))
	if !strings.Contains(logs.String(), "plain") {
		t.Fatalf("SetMode lost the logger: %s", logs.String())
	}
	SetDefault(nil)
	if Default() == nil || Default().Mode() != Production {
		t.Fatal("SetDefault(nil) must restore the initial default")
	}
}
