package observe_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/covetgo/covet/observe"
)

// trustAllRequestID keeps every valid incoming ID, so a test can predict
// the request_id it logs.
var trustAllRequestID = func() func(http.Handler) http.Handler {
	s, err := observe.NewRequestID(observe.RequestIDOptions{TrustAllIncoming: true})
	if err != nil {
		panic(err)
	}
	return s.Handler
}()

// logSink collects JSON access-log records written by a slog handler.
type logSink struct {
	mu       sync.Mutex
	buf      bytes.Buffer
	lines    int
	wrote    *sync.Cond // set by wait
	timedOut bool
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lines += bytes.Count(p, []byte("\n"))
	if s.wrote != nil {
		s.wrote.Broadcast()
	}
	return s.buf.Write(p)
}

// wait blocks until n lines have been written, failing the test after a
// generous timeout: the server writes them from its own goroutines.
func (s *logSink) wait(t *testing.T, n int) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.wrote == nil {
		s.wrote = sync.NewCond(&s.mu)
	}
	timer := time.AfterFunc(10*time.Second, func() {
		s.mu.Lock()
		s.timedOut = true
		s.wrote.Broadcast()
		s.mu.Unlock()
	})
	defer timer.Stop()
	for s.lines < n && !s.timedOut {
		s.wrote.Wait()
	}
	if s.lines < n {
		t.Fatalf("%d log lines after 10s, want %d", s.lines, n)
	}
}

func (s *logSink) records(t *testing.T) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(s.buf.Bytes()))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %v: %q", err, sc.Text())
		}
		out = append(out, m)
	}
	return out
}

func (s *logSink) one(t *testing.T) map[string]any {
	t.Helper()
	recs := s.records(t)
	if len(recs) != 1 {
		t.Fatalf("got %d log records, want 1: %s", len(recs), s.buf.String())
	}
	return recs[0]
}

func (s *logSink) raw() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func newAccessLog(t *testing.T, opts observe.AccessLogOptions) (*observe.AccessLogStage, *logSink) {
	t.Helper()
	sink := &logSink{}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewJSONHandler(sink, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	s, err := observe.NewAccessLog(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s, sink
}

func TestAccessLogFields(t *testing.T) {
	t.Parallel()
	// The bubble's clock makes the handler's 2ms exact and instant.
	synctest.Test(t, testAccessLogFields)
}

func testAccessLogFields(t *testing.T) {
	al, sink := newAccessLog(t, observe.AccessLogOptions{})
	r := chi.NewRouter()
	r.Use(trustAllRequestID, al.Handler)
	r.Get("/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(2 * time.Millisecond)
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, "hello")
	})

	req := httptest.NewRequest(http.MethodGet, "/users/12345?secret=x", nil)
	req.RemoteAddr = "198.51.100.9:40000"
	req.Header.Set("X-Request-ID", "req-abc")
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)

	got := sink.one(t)
	want := map[string]any{
		"level":      "INFO",
		"msg":        observe.DefaultAccessLogMessage,
		"method":     "GET",
		"route":      "/users/{id}",
		"status":     float64(201),
		"bytes":      float64(5),
		"client_ip":  "198.51.100.9",
		"request_id": "req-abc",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if d, ok := got["duration"].(float64); !ok || d != float64(2*time.Millisecond) {
		t.Errorf("duration = %v, want 2ms in nanoseconds", got["duration"])
	}
	if _, ok := got["time"]; !ok {
		t.Error("record has no time")
	}
	if raw := sink.raw(); strings.Contains(raw, "12345") || strings.Contains(raw, "secret") {
		t.Errorf("log line contains the raw path or query: %s", raw)
	}
}

func TestAccessLogLevels(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		handler   http.HandlerFunc
		status    float64
		level     string
		wantPanic bool
	}{
		{"ok", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("x")) }, 200, "INFO", false},
		{"nothing written", func(http.ResponseWriter, *http.Request) {}, 200, "INFO", false},
		{"redirect", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusFound) }, 302, "INFO", false},
		{"not found", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNotFound) }, 404, "WARN", false},
		{"too many", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTooManyRequests) }, 429, "WARN", false},
		{"internal", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) }, 500, "ERROR", false},
		{"unavailable", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }, 503, "ERROR", false},
		{"early hints then ok", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusAccepted)
		}, 202, "INFO", false},
		{"second WriteHeader ignored", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusTeapot)
			w.WriteHeader(http.StatusOK)
		}, 418, "WARN", false},
		{"panic before writing", func(http.ResponseWriter, *http.Request) { panic("boom") }, 500, "ERROR", true},
		{"panic after writing", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusOK)
			panic("boom")
		}, 200, "ERROR", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			al, sink := newAccessLog(t, observe.AccessLogOptions{})
			h := al.Handler(tc.handler)
			func() {
				defer func() {
					if v := recover(); (v != nil) != tc.wantPanic {
						t.Errorf("recovered %v, want panic %v", v, tc.wantPanic)
					}
				}()
				h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
			}()
			got := sink.one(t)
			if got["status"] != tc.status || got["level"] != tc.level {
				t.Errorf("status %v level %v, want %v %v", got["status"], got["level"], tc.status, tc.level)
			}
			if p, _ := got["panic"].(bool); p != tc.wantPanic {
				t.Errorf("panic attribute = %v, want %v", got["panic"], tc.wantPanic)
			}
		})
	}
}

func TestAccessLogSkipPaths(t *testing.T) {
	t.Parallel()
	al, sink := newAccessLog(t, observe.AccessLogOptions{SkipPaths: []string{"/healthz", "/readyz"}})
	called := 0
	h := al.Handler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { called++ }))
	for _, target := range []string{"/healthz", "/readyz", "/healthz/", "/readyz?full=1", "/api/healthz"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, target, nil))
	}
	if called != 5 {
		t.Errorf("handler ran %d times, want 5", called)
	}
	if n := len(sink.records(t)); n != 2 {
		t.Errorf("logged %d records, want 2 (/healthz/ and /api/healthz): %s", n, sink.raw())
	}
}

func TestNewAccessLogRejectsBadOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts observe.AccessLogOptions
	}{
		{"empty skip path", observe.AccessLogOptions{SkipPaths: []string{""}}},
		{"relative skip path", observe.AccessLogOptions{SkipPaths: []string{"healthz"}}},
		{"full URL", observe.AccessLogOptions{SkipPaths: []string{"http://x/healthz"}}},
		{"Logger and Writer", observe.AccessLogOptions{Logger: slog.Default(), Writer: io.Discard}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if s, err := observe.NewAccessLog(tc.opts); err == nil || s != nil {
				t.Errorf("NewAccessLog = %v, %v; want an error", s, err)
			}
		})
	}
}

// copyRequest is a stage that hands a copied request on, as most stages do.
func copyRequest(next http.Handler) http.Handler {
	type key struct{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), key{}, "v")))
	})
}

func TestAccessLogAttrsAndRouteFromInnerStages(t *testing.T) {
	t.Parallel()
	al, sink := newAccessLog(t, observe.AccessLogOptions{})
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		observe.AddAttrs(r.Context(), slog.String("user", "alice"))
		observe.SetRoute(r.Context(), "/files/{name}")
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				observe.AddAttrs(r.Context(), slog.Int("worker", i))
			}()
		}
		wg.Wait()
	})
	h := al.Handler(copyRequest(copyRequest(inner)))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/files/passwd", nil))
	got := sink.one(t)
	if got["user"] != "alice" || got["route"] != "/files/{name}" {
		t.Errorf("user %v route %v, want alice /files/{name}", got["user"], got["route"])
	}
	if _, ok := got["worker"]; !ok {
		t.Errorf("attributes added from goroutines are missing: %v", got)
	}
}

func TestAddAttrsWithoutAccessLogIsNoop(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	observe.AddAttrs(ctx, slog.String("user", "alice"))
	observe.SetRoute(ctx, "/x")
	r := httptest.NewRequest(http.MethodGet, "/x", nil)
	if got := observe.Route(r); got != observe.UnmatchedRoute {
		t.Errorf("Route = %q, want %q", got, observe.UnmatchedRoute)
	}
}

func TestRoute(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		handler func(wrap func(http.Handler) http.Handler) http.Handler
		target  string
		want    string
	}{
		{"chi pattern", func(wrap func(http.Handler) http.Handler) http.Handler {
			r := chi.NewRouter()
			r.Use(wrap)
			r.Get("/users/{id}", func(http.ResponseWriter, *http.Request) {})
			return r
		}, "/users/7", "/users/{id}"},
		{"chi mounted sub-router", func(wrap func(http.Handler) http.Handler) http.Handler {
			sub := chi.NewRouter()
			sub.Get("/notes/{id}/tags/*", func(http.ResponseWriter, *http.Request) {})
			r := chi.NewRouter()
			r.Use(wrap)
			r.Mount("/api", sub)
			return r
		}, "/api/notes/1/tags/a/b", "/api/notes/{id}/tags/*"},
		{"chi not found", func(wrap func(http.Handler) http.Handler) http.Handler {
			r := chi.NewRouter()
			r.Use(wrap)
			r.Get("/users/{id}", func(http.ResponseWriter, *http.Request) {})
			return r
		}, "/etc/passwd", observe.UnmatchedRoute},
		{"chi wrapped from outside, captured inside", func(wrap func(http.Handler) http.Handler) http.Handler {
			r := chi.NewRouter()
			r.Use(copyRequest, observe.CaptureRoute)
			r.Get("/users/{id}", func(http.ResponseWriter, *http.Request) {})
			return wrap(r)
		}, "/users/7", "/users/{id}"},
		{"ServeMux pattern without method", func(wrap func(http.Handler) http.Handler) http.Handler {
			mux := http.NewServeMux()
			mux.HandleFunc("GET /items/{id}", func(http.ResponseWriter, *http.Request) {})
			return wrap(mux)
		}, "/items/9", "/items/{id}"},
		{"ServeMux host pattern", func(wrap func(http.Handler) http.Handler) http.Handler {
			mux := http.NewServeMux()
			mux.HandleFunc("GET example.com/items/", func(http.ResponseWriter, *http.Request) {})
			return wrap(mux)
		}, "http://example.com/items/9", "example.com/items/"},
		{"ServeMux behind a copying stage, no capture", func(wrap func(http.Handler) http.Handler) http.Handler {
			mux := http.NewServeMux()
			mux.HandleFunc("GET /items/{id}", func(http.ResponseWriter, *http.Request) {})
			return wrap(copyRequest(mux))
		}, "/items/9", observe.UnmatchedRoute},
		{"ServeMux behind a copying stage, captured", func(wrap func(http.Handler) http.Handler) http.Handler {
			mux := http.NewServeMux()
			mux.HandleFunc("GET /items/{id}", func(http.ResponseWriter, *http.Request) {})
			return wrap(copyRequest(observe.CaptureRoute(mux)))
		}, "/items/9", "/items/{id}"},
		{"ServeMux no match", func(wrap func(http.Handler) http.Handler) http.Handler {
			mux := http.NewServeMux()
			mux.HandleFunc("GET /items/{id}", func(http.ResponseWriter, *http.Request) {})
			return wrap(mux)
		}, "/admin/../../x", observe.UnmatchedRoute},
		{"SetRoute beats the router", func(wrap func(http.Handler) http.Handler) http.Handler {
			mux := http.NewServeMux()
			mux.HandleFunc("GET /items/{id}", func(_ http.ResponseWriter, r *http.Request) {
				observe.SetRoute(r.Context(), "/custom")
			})
			return wrap(observe.CaptureRoute(mux))
		}, "/items/9", "/custom"},
		{"bare handler", func(wrap func(http.Handler) http.Handler) http.Handler {
			return wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		}, "/anything/at/all", observe.UnmatchedRoute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			wrap := func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					r = observe.Track(r)
					next.ServeHTTP(w, r)
					got = observe.Route(r)
				})
			}
			tc.handler(wrap).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, tc.target, nil))
			if got != tc.want {
				t.Errorf("Route = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestTrackKeepsAnExistingRecord(t *testing.T) {
	t.Parallel()
	r := observe.Track(httptest.NewRequest(http.MethodGet, "/", nil))
	if again := observe.Track(r); again != r {
		t.Error("Track copied a request that already had a record")
	}
}

func TestAccessLogClientIP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		opts       observe.AccessLogOptions
		remoteAddr string
		want       string
	}{
		{"ipv4 with port", observe.AccessLogOptions{}, "192.0.2.10:1234", "192.0.2.10"},
		{"ipv6 with port", observe.AccessLogOptions{}, "[2001:db8::1]:443", "2001:db8::1"},
		{"no port", observe.AccessLogOptions{}, "192.0.2.10", "192.0.2.10"},
		{"resolver option", observe.AccessLogOptions{ClientIP: func(r *http.Request) string { return "203.0.113.1" }}, "10.0.0.1:1", "203.0.113.1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			al, sink := newAccessLog(t, tc.opts)
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.RemoteAddr = tc.remoteAddr
			al.Handler(http.NotFoundHandler()).ServeHTTP(httptest.NewRecorder(), req)
			if got := sink.one(t)["client_ip"]; got != tc.want {
				t.Errorf("client_ip = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestAccessLogHostileRequest(t *testing.T) {
	t.Parallel()
	al, sink := newAccessLog(t, observe.AccessLogOptions{})
	h := al.Handler(http.NotFoundHandler())
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Method = "GET\r\n{\"level\":\"INFO\"}"
	req.URL.Path = "/\"}\n{\"forged\":true,\"x\":\"" + strings.Repeat("A", 10000)
	req.RemoteAddr = "not an address"
	h.ServeHTTP(httptest.NewRecorder(), req)
	got := sink.one(t) // exactly one line that parses
	if _, forged := got["forged"]; forged || strings.Contains(sink.raw(), "AAAA") {
		t.Errorf("request path leaked into the log: %s", sink.raw())
	}
	if got["method"] != req.Method {
		t.Errorf("method = %q, want it escaped verbatim", got["method"])
	}
}

func TestAccessLogDisabledLevel(t *testing.T) {
	t.Parallel()
	sink := &logSink{}
	logger := slog.New(slog.NewJSONHandler(sink, &slog.HandlerOptions{Level: slog.LevelError}))
	al, err := observe.NewAccessLog(observe.AccessLogOptions{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	h := al.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			w.WriteHeader(http.StatusBadGateway)
		}
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/ok", nil))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/fail", nil))
	recs := sink.records(t)
	if len(recs) != 1 || recs[0]["status"] != float64(502) {
		t.Errorf("records = %v, want only the 502", recs)
	}
}

func TestAccessLogDefaultLogger(t *testing.T) {
	sink := &logSink{}
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(sink, nil)))
	defer slog.SetDefault(prev)
	observe.AccessLog(http.NotFoundHandler()).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodDelete, "/x", nil))
	got := sink.one(t)
	if got["method"] != "DELETE" || got["status"] != float64(404) || got["level"] != "WARN" {
		t.Errorf("record = %v", got)
	}
}

// TestAccessLogWriterInterfaces runs a real server so the wrapped writer is
// net/http's own, and checks that what a handler reaches through the
// wrapper (directly or with http.ResponseController) still works.
func TestAccessLogWriterInterfaces(t *testing.T) {
	t.Parallel()
	al, sink := newAccessLog(t, observe.AccessLogOptions{})
	srv := httptest.NewServer(al.Handler(writerInterfacesMux(t)))
	defer srv.Close()

	for _, tc := range []struct{ path, body string }{
		{"/flush", "first;second"},
		{"/deadline", ""},
		{"/readfrom", strings.Repeat("z", 4096)},
		{"/hijack", "hijacked"},
	} {
		resp, err := http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != tc.body {
			t.Errorf("%s: body %q, want %q", tc.path, b, tc.body)
		}
	}
	srv.Close()
	// Close does not wait for a handler that hijacked its connection.
	sink.wait(t, 4)

	byRoute := map[string]map[string]any{}
	for _, rec := range sink.records(t) {
		byRoute[rec["route"].(string)] = rec
	}
	if got := byRoute["/readfrom"]["bytes"]; got != float64(4096) {
		t.Errorf("ReadFrom bytes logged = %v, want 4096", got)
	}
	if got := byRoute["/flush"]["bytes"]; got != float64(len("first;second")) {
		t.Errorf("flush bytes logged = %v", got)
	}
	if got := byRoute["/hijack"]["hijacked"]; got != true {
		t.Errorf("hijacked = %v, want true: %v", got, byRoute["/hijack"])
	}
}

// writerInterfacesMux has one route per optional interface, each checking
// that it works through the access log's writer.
func writerInterfacesMux(t *testing.T) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /flush", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := w.(http.Flusher); !ok {
			t.Error("wrapper is not an http.Flusher")
		}
		_, _ = io.WriteString(w, "first;")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("Flush: %v", err)
		}
		_, _ = io.WriteString(w, "second")
	})
	mux.HandleFunc("GET /deadline", func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if err := rc.SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Errorf("SetWriteDeadline through the wrapper: %v", err)
		}
		if err := rc.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Errorf("SetReadDeadline through the wrapper: %v", err)
		}
		if u, ok := w.(interface{ Unwrap() http.ResponseWriter }); !ok || u.Unwrap() == nil {
			t.Error("wrapper has no Unwrap")
		}
	})
	mux.HandleFunc("GET /readfrom", func(w http.ResponseWriter, r *http.Request) {
		rf, ok := w.(io.ReaderFrom)
		if !ok {
			t.Error("wrapper is not an io.ReaderFrom")
			return
		}
		if n, err := rf.ReadFrom(strings.NewReader(strings.Repeat("z", 4096))); n != 4096 || err != nil {
			t.Errorf("ReadFrom = %d, %v", n, err)
		}
	})
	mux.HandleFunc("GET /hijack", func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("Hijack through the wrapper: %v", err)
			return
		}
		defer conn.Close()
		_, _ = brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
		_ = brw.Flush()
	})
	return mux
}

// TestAccessLogWriterWithoutOptionalInterfaces wraps a writer that has none
// of the optional interfaces: the wrapper must report ErrNotSupported
// through ResponseController instead of panicking, and still copy bodies.
func TestAccessLogWriterWithoutOptionalInterfaces(t *testing.T) {
	t.Parallel()
	al, sink := newAccessLog(t, observe.AccessLogOptions{})
	h := al.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, _, err := http.NewResponseController(w).Hijack(); err == nil {
			t.Error("Hijack succeeded on a writer that cannot hijack")
		}
		w.(http.Flusher).Flush() // must not panic
		n, err := io.Copy(w, strings.NewReader("abc"))
		if n != 3 || err != nil {
			t.Errorf("io.Copy = %d, %v", n, err)
		}
	}))
	w := &plainWriter{h: http.Header{}}
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	if w.body.String() != "abc" {
		t.Errorf("body = %q", w.body.String())
	}
	if got := sink.one(t); got["bytes"] != float64(3) || got["hijacked"] != nil {
		t.Errorf("record = %v", got)
	}
}

type plainWriter struct {
	h    http.Header
	body bytes.Buffer
}

func (w *plainWriter) Header() http.Header         { return w.h }
func (w *plainWriter) Write(p []byte) (int, error) { return w.body.Write(p) }
func (w *plainWriter) WriteHeader(int)             {}

func BenchmarkAccessLog(b *testing.B) {
	benchAccessLog(b, observe.AccessLogOptions{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
}

func BenchmarkAccessLogWriter(b *testing.B) {
	benchAccessLog(b, observe.AccessLogOptions{Writer: io.Discard})
}

func benchAccessLog(b *testing.B, opts observe.AccessLogOptions) {
	al, err := observe.NewAccessLog(opts)
	if err != nil {
		b.Fatal(err)
	}
	h := al.Handler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok"))
	}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	w := &plainWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		w.body.Reset()
		h.ServeHTTP(w, req)
	}
}

// The Writer option writes the records the Logger option gives a slog
// JSON handler: same fields, same values, in every outcome.
func TestAccessLogWriterMatchesLogger(t *testing.T) {
	t.Parallel()
	var lines bytes.Buffer
	byWriter, err := observe.NewAccessLog(observe.AccessLogOptions{Writer: &lines})
	if err != nil {
		t.Fatal(err)
	}
	byLogger, sink := newAccessLog(t, observe.AccessLogOptions{})
	router := func(al *observe.AccessLogStage) http.Handler {
		r := chi.NewRouter()
		r.Use(trustAllRequestID, al.Handler, copyRequest)
		r.Get("/notes/{id}", func(w http.ResponseWriter, r *http.Request) {
			observe.AddAttrs(r.Context(), slog.String("user", "alice"), slog.Int("plan", 2))
			_, _ = io.WriteString(w, "note")
		})
		r.Get("/group", func(w http.ResponseWriter, r *http.Request) {
			observe.AddAttrs(r.Context(), slog.Group("user", slog.String("id", "u1")), slog.Float64("score", 0.5))
		})
		r.Get("/panic", func(http.ResponseWriter, *http.Request) { panic("boom") })
		return r
	}
	paths := []string{"/notes/7", "/group", "/missing", "/panic"}
	for _, h := range []http.Handler{router(byWriter), router(byLogger)} {
		for _, p := range paths {
			req := httptest.NewRequest(http.MethodGet, p, nil)
			req.Header.Set("X-Request-ID", "req-"+strings.TrimPrefix(p, "/"))
			func() {
				defer func() { _ = recover() }()
				h.ServeHTTP(httptest.NewRecorder(), req)
			}()
		}
	}
	got := (&logSink{buf: lines}).records(t)
	want := sink.records(t)
	if len(got) != len(paths) || len(want) != len(paths) {
		t.Fatalf("%d records by Writer, %d by Logger, want %d each", len(got), len(want), len(paths))
	}
	for i := range got {
		for _, rec := range []map[string]any{got[i], want[i]} {
			if _, ok := rec["time"].(string); !ok {
				t.Errorf("record %d has no time: %v", i, rec)
			}
			if _, ok := rec["duration"].(float64); !ok {
				t.Errorf("record %d has no duration: %v", i, rec)
			}
			delete(rec, "time")
			delete(rec, "duration")
		}
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("%s: Writer logged %v, Logger %v", paths[i], got[i], want[i])
		}
	}
	if got[3]["panic"] != true || got[3]["level"] != "ERROR" || got[1]["user"] == nil {
		t.Errorf("records lost the panic or the group: %v", got)
	}
}

// unsafeBuffer is a Writer with no locking of its own: the stage must not
// call it from two goroutines at once (the race detector checks).
type unsafeBuffer struct{ bytes.Buffer }

func TestAccessLogWriterConcurrentLines(t *testing.T) {
	t.Parallel()
	var out unsafeBuffer
	al, err := observe.NewAccessLog(observe.AccessLogOptions{Writer: &out})
	if err != nil {
		t.Fatal(err)
	}
	h := trustAllRequestID(al.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		observe.AddAttrs(r.Context(), slog.String("q", r.URL.Query().Get("q")))
	})))
	const workers, each = 8, 200
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			for i := range each {
				q := strings.Repeat(string(rune('a'+g)), i%50)
				h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/?q="+q, nil))
			}
		})
	}
	wg.Wait()
	recs := (&logSink{buf: out.Buffer}).records(t)
	if len(recs) != workers*each {
		t.Fatalf("%d records, want %d", len(recs), workers*each)
	}
	for _, rec := range recs {
		q, _ := rec["q"].(string)
		if strings.Trim(q, q[:min(1, len(q))]) != "" {
			t.Fatalf("record mixes two requests: %v", rec)
		}
	}
}

func BenchmarkAccessLogSkipped(b *testing.B) {
	al, err := observe.NewAccessLog(observe.AccessLogOptions{
		Logger:    slog.New(slog.NewJSONHandler(io.Discard, nil)),
		SkipPaths: []string{"/healthz"},
	})
	if err != nil {
		b.Fatal(err)
	}
	h := al.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
	w := &plainWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}

// The record that carries attributes and the route from inner stages to
// the log line works whichever of RequestID and AccessLog is outside.
func TestAccessLogWithRequestIDInEitherOrder(t *testing.T) {
	t.Parallel()
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		observe.AddAttrs(r.Context(), slog.String("user", "alice"))
		observe.SetRoute(r.Context(), "/files/{name}")
		w.WriteHeader(http.StatusTeapot)
	})
	for _, outside := range []string{"RequestID", "AccessLog"} {
		t.Run(outside+" outside", func(t *testing.T) {
			al, sink := newAccessLog(t, observe.AccessLogOptions{})
			var h http.Handler
			if outside == "RequestID" {
				h = trustAllRequestID(al.Handler(copyRequest(inner)))
			} else {
				h = al.Handler(trustAllRequestID(copyRequest(inner)))
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/files/passwd", nil))
			got := sink.one(t)
			if got["user"] != "alice" || got["route"] != "/files/{name}" || got["status"] != float64(http.StatusTeapot) {
				t.Errorf("log line %v lost what the handler set", got)
			}
			if outside == "RequestID" && got["request_id"] != w.Header().Get("X-Request-Id") {
				t.Errorf("request_id %v, response header %q", got["request_id"], w.Header().Get("X-Request-Id"))
			}
		})
	}
}

// Inside RequestID, AccessLog uses the record that shares RequestID's
// allocation: it adds no allocation of its own when the record is not
// logged.
func TestAccessLogInsideRequestIDAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	quiet := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError + 1}))
	al, err := observe.NewAccessLog(observe.AccessLogOptions{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	noop := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	alone := trustAllRequestID(noop)
	both := trustAllRequestID(al.Handler(noop))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	w := httptest.NewRecorder()
	base := testing.AllocsPerRun(500, func() { alone.ServeHTTP(w, r) })
	got := testing.AllocsPerRun(500, func() { both.ServeHTTP(w, r) })
	if got > base {
		t.Errorf("RequestID+AccessLog allocates %v per request, RequestID alone %v", got, base)
	}
}
