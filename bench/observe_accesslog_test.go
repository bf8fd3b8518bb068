package bench

import (
	"context"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/covetgo/covet/observe"
)

// accessLogWriter is a ResponseWriter that costs nothing, so the numbers
// are the middleware's own.
type accessLogWriter struct{ h http.Header }

func (w *accessLogWriter) Header() http.Header         { return w.h }
func (w *accessLogWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *accessLogWriter) WriteHeader(int)             {}

var accessLogBody = []byte(`{"ok":true}`)

func accessLogHandler(w http.ResponseWriter, _ *http.Request) {
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(accessLogBody)
}

// chiLogger is chi's middleware.Logger with its default formatter (the
// colours it uses on Linux, log.LstdFlags) writing to io.Discard.
func chiLogger() func(http.Handler) http.Handler {
	return middleware.RequestLogger(&middleware.DefaultLogFormatter{
		Logger: log.New(io.Discard, "", log.LstdFlags),
	})
}

// chiLoggerNoColor is the same without colours, the cheaper setting.
func chiLoggerNoColor() func(http.Handler) http.Handler {
	return middleware.RequestLogger(&middleware.DefaultLogFormatter{
		Logger:  log.New(io.Discard, "", log.LstdFlags),
		NoColor: true,
	})
}

// covetAccessLog is the stage logging through slog.NewJSONHandler.
func covetAccessLog(b *testing.B) func(http.Handler) http.Handler {
	return covetAccessLogWith(b, observe.AccessLogOptions{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
}

// covetAccessLines is the stage writing the same JSON lines through its
// own encoder (AccessLogOptions.Writer).
func covetAccessLines(b *testing.B) func(http.Handler) http.Handler {
	return covetAccessLogWith(b, observe.AccessLogOptions{Writer: io.Discard})
}

func covetAccessLogWith(b *testing.B, opts observe.AccessLogOptions) func(http.Handler) http.Handler {
	s, err := observe.NewAccessLog(opts)
	if err != nil {
		b.Fatal(err)
	}
	return s.Handler
}

func runAccessLog(b *testing.B, h http.Handler, target string) {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.RemoteAddr = "203.0.113.7:52100"
	w := &accessLogWriter{h: http.Header{}}
	b.ReportAllocs()
	cpu0 := accessLogCPU()
	n := 0
	for b.Loop() {
		h.ServeHTTP(w, req)
		n++
	}
	// CPU time per request (all threads, GC included) alongside ns/op: on a
	// shared machine it stays comparable when wall time does not.
	b.ReportMetric(float64(accessLogCPU()-cpu0)/float64(n), "cpu-ns/op")
}

func accessLogCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// Plain: the stage wrapped directly around a handler.

func BenchmarkAccessLog_Plain_Covet(b *testing.B) {
	runAccessLog(b, covetAccessLog(b)(http.HandlerFunc(accessLogHandler)), "/users/42")
}

func BenchmarkAccessLog_Plain_CovetLines(b *testing.B) {
	runAccessLog(b, covetAccessLines(b)(http.HandlerFunc(accessLogHandler)), "/users/42")
}

func BenchmarkAccessLog_Plain_Chi(b *testing.B) {
	runAccessLog(b, chiLogger()(http.HandlerFunc(accessLogHandler)), "/users/42")
}

func BenchmarkAccessLog_Plain_ChiNoColor(b *testing.B) {
	runAccessLog(b, chiLoggerNoColor()(http.HandlerFunc(accessLogHandler)), "/users/42")
}

// Routed: the stage mounted with Use on a chi router, matching a pattern.

func accessLogRouter(mw func(http.Handler) http.Handler) http.Handler {
	r := chi.NewRouter()
	r.Use(mw)
	r.Get("/users/{id}", accessLogHandler)
	return r
}

func BenchmarkAccessLog_Routed_Covet(b *testing.B) {
	runAccessLog(b, accessLogRouter(covetAccessLog(b)), "/users/42")
}

func BenchmarkAccessLog_Routed_CovetLines(b *testing.B) {
	runAccessLog(b, accessLogRouter(covetAccessLines(b)), "/users/42")
}

func BenchmarkAccessLog_Routed_Chi(b *testing.B) {
	runAccessLog(b, accessLogRouter(chiLogger()), "/users/42")
}

func BenchmarkAccessLog_Routed_ChiNoColor(b *testing.B) {
	runAccessLog(b, accessLogRouter(chiLoggerNoColor()), "/users/42")
}

// SlogJSONFloor is the JSON handler alone writing a record with the same six
// attributes: the part of AccessLog's cost that any access log on
// slog.NewJSONHandler pays, whatever the middleware around it does.
func BenchmarkAccessLog_SlogJSONFloor(b *testing.B) {
	h := slog.NewJSONHandler(io.Discard, nil)
	ctx := context.Background()
	b.ReportAllocs()
	cpu0 := accessLogCPU()
	n := 0
	for b.Loop() {
		start := time.Now()
		rec := slog.NewRecord(start, slog.LevelInfo, observe.DefaultAccessLogMessage, 0)
		rec.AddAttrs(
			slog.String("method", http.MethodGet),
			slog.String("route", "/users/{id}"),
			slog.Int("status", http.StatusOK),
			slog.Int64("bytes", int64(len(accessLogBody))),
			slog.Duration("duration", time.Since(start)),
			slog.String("client_ip", "203.0.113.7"),
		)
		_ = h.Handle(ctx, rec)
		n++
	}
	b.ReportMetric(float64(accessLogCPU()-cpu0)/float64(n), "cpu-ns/op")
}

// WithRequestID: RequestID and the access log together, as every stack
// mounts them (the log inside the ID stage), so the number includes how the
// two share the per-request record.

func BenchmarkAccessLog_WithRequestID_Covet(b *testing.B) {
	runAccessLog(b, observe.RequestID(covetAccessLog(b)(http.HandlerFunc(accessLogHandler))), "/users/42")
}

func BenchmarkAccessLog_WithRequestID_CovetLines(b *testing.B) {
	runAccessLog(b, observe.RequestID(covetAccessLines(b)(http.HandlerFunc(accessLogHandler))), "/users/42")
}

func BenchmarkAccessLog_WithRequestID_Chi(b *testing.B) {
	runAccessLog(b, middleware.RequestID(chiLogger()(http.HandlerFunc(accessLogHandler))), "/users/42")
}
