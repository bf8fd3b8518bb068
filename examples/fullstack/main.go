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
// The environment: COVET_ADDR (127.0.0.1:8080), COVET_ENV (development,
// staging or production; development), COVET_DB_DSN (a SQLite file, a
// postgres:// or a mysql:// URL), COVET_REDIS_ADDR (empty: memory stores),
// COVET_CORS_ORIGINS (comma-separated), COVET_SECRET_KEY (at least 32
// characters; required in production), COVET_TRUSTED_PROXIES (CIDRs), and
// the per-minute limits COVET_RATE_GLOBAL, COVET_RATE_AUTH and COVET_RATE_API.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/serve"
)

func main() {
	if err := run(context.Background(), os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "fullstack:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	logger := newLogger(cfg.Mode)
	errs.Configure(errs.Config{Mode: cfg.Mode, Logger: logger, AuditLogger: logger.With("log", "audit")})
	if !cfg.SecretFromEnv {
		logger.Warn("COVET_SECRET_KEY is not set: using a random key, so sessions and tokens end when the process does",
			"generated", randomSecret(cfg.SecretKey))
	}

	a, err := newApp(ctx, cfg, logger)
	if err != nil {
		return err
	}
	srv, err := newServer(a, serve.Options{Addr: cfg.Addr, Logger: logger})
	if err != nil {
		a.close()
		return err
	}
	logger.Info("starting", "url", "http://"+cfg.Addr, "mode", cfg.Mode.String(), "db", cfg.DBDriver, "redis", cfg.RedisAddr != "")
	return srv.Run(ctx)
}

// newServer wires the app into the production lifecycle: migrations before
// listening, readiness checks, the hub's close frames and resource closing
// after the requests drain.
func newServer(a *app, o serve.Options) (*serve.Server, error) {
	o.Handler = a.handler()
	srv, err := serve.New(o)
	if err != nil {
		return nil, err
	}
	srv.Hook(serve.Hook{Name: "migrations", OnStart: a.migrate})
	srv.Hook(serve.Hook{Name: "resources", OnStop: func(context.Context) error { a.close(); return nil }})
	for name, check := range a.ready() {
		srv.Check(name, check)
	}
	srv.Drain("websockets", a.hub.Drain)
	return srv, nil
}

func newLogger(mode errs.Mode) *slog.Logger {
	level := slog.LevelInfo
	if mode == errs.Development {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level, ReplaceAttr: errs.DefaultSanitizer().ReplaceAttr}))
}
