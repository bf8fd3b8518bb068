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
// staging or production; development), COVET_DATA_DIR (where the default
// SQLite database covet-fullstack.db lives; covet-fullstack in the user's
// cache directory, such as ~/.cache/covet-fullstack), COVET_DB_DSN (a
// SQLite file, a postgres:// or a mysql:// URL; overrides the file in
// COVET_DATA_DIR), COVET_REDIS_ADDR (empty: memory stores),
// COVET_CORS_ORIGINS (comma-separated), COVET_SECRET_KEY (at least 32
// characters; required in production), COVET_TRUSTED_PROXIES (CIDRs), and
// the per-minute limits COVET_RATE_GLOBAL, COVET_RATE_AUTH and COVET_RATE_API.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
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
	srv, err := serve.New(o)
	if err != nil {
		return nil, err
	}
	srv.Hook(serve.Hook{Name: "migrations", OnStart: a.migrate})
	srv.Hook(serve.Hook{Name: "resources", OnStop: func(context.Context) error { a.close(); return nil }})
	for name, check := range a.ready() {
		srv.Check(name, check)
	}
	a.hub.RegisterOnShutdown(srv.HTTPServer())
	return srv, nil
}

func newLogger(mode errs.Mode) *slog.Logger {
	level := slog.LevelInfo
	if mode == errs.Development {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level, ReplaceAttr: errs.DefaultSanitizer().ReplaceAttr}))
}
