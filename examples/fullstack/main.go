// Command fullstack is the whole Covet stack assembled on chi: request IDs,
// panic recovery, CORS, access logs and metrics, security headers and
// request screening, rate limits, sessions with CSRF protection, JWT and
// session authentication, RBAC with ownership, validated input, sanitized
// HTML, a WebSocket chat and a SQL database with migrations.
//
// It starts with no setup, on SQLite and in-memory stores:
//
//	go run ./examples/fullstack
//
// and moves to PostgreSQL (or MariaDB) and Redis by environment alone:
//
//	COVET_DB_DSN=postgres://... COVET_REDIS_ADDR=127.0.0.1:6379 go run ./examples/fullstack
//
// The app binds its address before it opens the database or migrates, so
// a port in use fails at once.
//
// The environment: COVET_ADDR (127.0.0.1:8080), COVET_ENV (development,
// staging or production; development, which answers errors with stack
// traces, so it is the default only on a loopback COVET_ADDR),
// COVET_DATA_DIR (where the default SQLite database covet-fullstack.db
// lives; covet-fullstack in the user's
// cache directory, such as ~/.cache/covet-fullstack), COVET_DB_DSN (a
// SQLite file, a postgres:// or a mysql:// URL; overrides the file in
// COVET_DATA_DIR), COVET_REDIS_ADDR (empty: memory stores; several
// comma-separated host:port: a Redis Cluster), COVET_NATS_URL
// (nats://host:port: NATS carries the WebSocket rooms instead of Redis),
// COVET_DRAIN_DELAY (how long the listener stays open after readiness
// turns 503 on shutdown; 5s, or 0s in development), COVET_CORS_ORIGINS
// (comma-separated), COVET_SECRET_KEY (at least 32 characters; required in
// staging and production, and never logged), COVET_TRUSTED_PROXIES (CIDRs),
// COVET_ADMIN_EMAIL (the account that gets the admin role, when it registers
// or at start; nobody else becomes admin), COVET_METRICS_ADDR (an internal
// host:port serving /metrics) and COVET_METRICS_TOKEN (a bearer token for
// /metrics on the main address; outside development, /metrics is served
// only through one of these two), and
// the per-minute limits COVET_RATE_GLOBAL, COVET_RATE_AUTH and COVET_RATE_API.
//
// Tracing is off unless asked for: COVET_OTEL=stdout prints spans on
// standard output, and OTEL_EXPORTER_OTLP_ENDPOINT (or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) sends them over OTLP/HTTP
// (COVET_OTEL=otlp or off chooses explicitly). A request then has one
// trace: the server span, with the SQL and Redis spans below it, and its
// trace ID is the correlation ID in problems and logs.
//
// The app starts while Redis or NATS is down: /healthz answers 200, /readyz
// 503 until they answer, and the stores use them as soon as they do, with
// no restart. While Redis is down, requests that need it fail fast: the
// rate limits fall back to per-instance memory limits, session reads and
// writes answer 503 with Retry-After (nobody is logged out), and chat
// messages reach this instance's members while the sender gets an error
// message.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"

	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/serve"
)

func main() {
	if err := run(context.Background(), os.Getenv, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "fullstack:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string, logs io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	logger := newLogger(cfg.Mode, logs)
	rd, err := errs.NewRenderer(errs.Options{Mode: cfg.Mode, Logger: logger, AuditLogger: logger.With("log", "audit")})
	if err != nil {
		return err
	}
	errs.SetDefault(rd)
	warnGeneratedSecret(logger, cfg)

	// Bind first: a port in use should fail in a second, not after the
	// database is opened and migrated.
	ln, err := new(net.ListenConfig).Listen(ctx, "tcp", cfg.Addr)
	if err != nil {
		return err
	}
	if cfg.DBInDataDir {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			ln.Close()
			return fmt.Errorf("COVET_DATA_DIR: %w", err)
		}
	}
	a, err := newApp(ctx, cfg, logger)
	if err != nil {
		ln.Close()
		return err
	}
	srv, err := newServer(a, serve.Options{Listener: ln, Logger: logger})
	if err != nil {
		ln.Close()
		a.close()
		return err
	}
	db := cfg.DBDriver
	if cfg.DBInDataDir {
		db = cfg.DBDSN
	}
	logger.Info("starting", "url", "http://"+ln.Addr().String(), "mode", cfg.Mode.String(), "db", db, "redis", cfg.RedisAddr != "")
	return srv.Run(ctx)
}

// newServer wires the app into the production lifecycle: migrations before
// listening, readiness checks, the hub's close frames and resource closing
// after the requests drain.
func newServer(a *app, o serve.Options) (*serve.Server, error) {
	o.Handler = a.handler()
	if o.DrainDelay == 0 {
		o.DrainDelay = a.cfg.DrainDelay
	}
	srv, err := serve.New(o)
	if err != nil {
		return nil, err
	}
	srv.Hook(serve.Hook{Name: "migrations", OnStart: a.migrate})
	srv.Hook(serve.Hook{Name: "admin", OnStart: a.bootstrapAdmin})
	if h, ok := a.metricsListener(); ok {
		srv.Hook(h)
	}
	srv.Hook(serve.Hook{Name: "resources", OnStop: func(context.Context) error { a.close(); return nil }})
	for name, check := range a.ready() {
		srv.Check(name, check)
	}
	srv.Drain("websockets", a.hub.Drain)
	return srv, nil
}

func newLogger(mode errs.Mode, w io.Writer) *slog.Logger {
	level := slog.LevelInfo
	if mode == errs.Development {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: errs.DefaultSanitizer().ReplaceAttr}))
}

// warnGeneratedSecret tells the operator, in development, that the key is
// random and how to set one. The key itself is never written anywhere: a
// log line is read by more people and systems than a secret should be.
func warnGeneratedSecret(logger *slog.Logger, cfg *config) {
	if cfg.SecretFromEnv {
		return
	}
	logger.Warn("COVET_SECRET_KEY is not set: using a random key, so sessions and tokens end when the process does. " +
		"Set COVET_SECRET_KEY to at least 32 random characters (for example the output of `openssl rand -base64 48`); " +
		"it is required in staging and production.")
}
