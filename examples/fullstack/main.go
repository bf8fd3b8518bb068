// Command fullstack is the whole Covet stack assembled on chi: the model
// way to mount the stages. It starts with no setup:
//
//	go run ./examples/fullstack
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/observe"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "fullstack:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := os.Getenv("COVET_ADDR")
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	mode, err := errs.ParseMode(envOr("COVET_ENV", "development"))
	if err != nil {
		return fmt.Errorf("COVET_ENV: %w", err)
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{ReplaceAttr: errs.DefaultSanitizer().ReplaceAttr}))
	errs.Configure(errs.Config{Mode: mode, Logger: logger, AuditLogger: logger.With("log", "audit")})

	r := chi.NewRouter()
	r.Use(observe.RequestID, errs.Recover)
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	r.Get("/", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("Covet for Go\n")) })
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		errs.Write(w, r, errs.New(errs.KindNotFound, "", "No such route."))
	})

	srv := &http.Server{Addr: addr, Handler: r, ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	logger.Info("listening", "addr", "http://"+addr, "mode", mode.String())
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
