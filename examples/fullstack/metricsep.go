package main

import (
	"context"
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/serve"
)

// The Prometheus endpoint tells anyone who reads it the routes, the error
// rates and the traffic of the service, so outside development it is not
// public. Two ways to scrape it, either or both:
//
//   - COVET_METRICS_ADDR (host:port, e.g. 10.0.0.5:9090 or 127.0.0.1:9090):
//     /metrics is served there, on its own listener, reachable only from
//     the network that address is on;
//   - COVET_METRICS_TOKEN (at least 32 characters): /metrics on the main
//     address answers only requests with "Authorization: Bearer <token>"
//     (Prometheus: authorization.credentials in the scrape config).
//
// In staging and production with neither set, /metrics is not served. In
// development it stays open on the main address unless a token is set.

var errMetricsToken = errs.New(errs.KindAuthentication, "metrics_unauthorized", "The metrics endpoint needs its bearer token.").
	WithHeader("WWW-Authenticate", `Bearer realm="metrics"`)

// publicMetrics returns the handler for /metrics on the main router, or nil
// when it must not be there.
func (a *app) publicMetrics() http.Handler {
	ep := a.metrics.Endpoint()
	if tok := a.cfg.MetricsToken; tok != "" {
		want := []byte("Bearer " + tok)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got := []byte(r.Header.Get("Authorization"))
			if subtle.ConstantTimeCompare(got, want) != 1 {
				errs.Write(w, r, errMetricsToken)
				return
			}
			ep.ServeHTTP(w, r)
		})
	}
	if a.cfg.Mode == errs.Development && a.cfg.MetricsAddr == "" {
		return ep
	}
	return nil
}

// metricsListener is the start and stop hook of the internal metrics
// address, when COVET_METRICS_ADDR is set.
func (a *app) metricsListener() (serve.Hook, bool) {
	if a.cfg.MetricsAddr == "" {
		return serve.Hook{}, false
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.metrics.Endpoint())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute, ErrorLog: nil}
	return serve.Hook{
		Name: "metrics-listener",
		OnStart: func(context.Context) error {
			ln, err := net.Listen("tcp", a.cfg.MetricsAddr)
			if err != nil {
				return &configError{"COVET_METRICS_ADDR", err.Error()}
			}
			a.metricsAddr.Store(ln.Addr().String())
			go func() {
				if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
					a.log.Error("metrics listener stopped", "error", err)
				}
			}()
			a.log.Info("metrics served on the internal address", "addr", ln.Addr().String())
			return nil
		},
		OnStop: func(ctx context.Context) error { return srv.Shutdown(ctx) },
	}, true
}

// parseMetricsConfig reads COVET_METRICS_ADDR and COVET_METRICS_TOKEN.
func parseMetricsConfig(c *config, getenv func(string) string) error {
	if addr := strings.TrimSpace(getenv("COVET_METRICS_ADDR")); addr != "" {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return &configError{"COVET_METRICS_ADDR", "want host:port"}
		}
		if addr == c.Addr {
			return &configError{"COVET_METRICS_ADDR", "must differ from COVET_ADDR"}
		}
		c.MetricsAddr = addr
	}
	if tok := getenv("COVET_METRICS_TOKEN"); tok != "" {
		if len(tok) < 32 || strings.ContainsAny(tok, " \t\r\n") {
			return &configError{"COVET_METRICS_TOKEN", "must be at least 32 characters without white space"}
		}
		c.MetricsToken = tok
	}
	return nil
}
