package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/covetgo/covet/authn"
	"github.com/covetgo/covet/authn/issuer"
	"github.com/covetgo/covet/authn/jwt"
	pwhash "github.com/covetgo/covet/authn/password"
	"github.com/covetgo/covet/authn/totp"
	"github.com/covetgo/covet/authz"
	"github.com/covetgo/covet/bodylimit"
	"github.com/covetgo/covet/clientip"
	"github.com/covetgo/covet/compress"
	"github.com/covetgo/covet/cors"
	"github.com/covetgo/covet/dbkit"
	"github.com/covetgo/covet/dbkit/migrate"
	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/observe"
	"github.com/covetgo/covet/observe/metrics"
	"github.com/covetgo/covet/observe/tracing"
	"github.com/covetgo/covet/ratelimit"
	"github.com/covetgo/covet/sanitize"
	"github.com/covetgo/covet/session"
	"github.com/covetgo/covet/timeout"
	"github.com/covetgo/covet/validate"
	"github.com/covetgo/covet/wstools"
	"github.com/covetgo/covet/wstools/natsbroker"
)

// app holds every stage and service the routes use. Everything is built
// once, in newApp; a bad setting fails there, before the server listens.
type app struct {
	cfg      *config
	log      *slog.Logger
	db       *dbkit.DB
	store    *store
	migrator *migrate.Migrator
	rdb      redis.UniversalClient // nil without COVET_REDIS_ADDR
	nats     *nats.Conn            // nil without COVET_NATS_URL
	// Tracing (otel.go); all nil when it is off.
	tp      *sdktrace.TracerProvider
	traces  trace.TracerProvider
	tracing *tracing.Stage

	ips       *clientip.Resolver
	requestID *observe.RequestIDStage
	cors      *cors.Policy
	metrics   *metrics.Metrics
	registry  *prometheus.Registry
	accessLog *observe.AccessLogStage
	headers   *sanitize.Headers
	screen    *sanitize.Screen
	compress  *compress.Stage
	// Request deadlines and body caps for the JSON endpoints.
	deadline  *timeout.Stage
	smallBody *bodylimit.Stage

	sessions  *session.Manager
	passwords *pwhash.Hasher
	issuer    *issuer.Issuer
	verifier  *jwt.Verifier
	authn     *authn.Stage
	totp      *totp.Verifier
	authz     *authz.Authorizer
	sealer    *sealer

	// revocations revokes access tokens and logins before they expire.
	revocations issuer.RevocationStore
	// disconnectUser, when set, closes the open WebSockets of a user whose
	// login ended (logout, password change). Nil: sockets stay open until
	// their token is next checked.
	disconnectUser func(ctx context.Context, subject string)

	globalLimit, authLimit, apiLimit *ratelimit.Limiter
	// Failed logins per account and per client and account (accounts.go).
	loginLimit, loginClientLimit *ratelimit.Limiter

	validator  *validate.Validator
	notesQuery *validate.Query[notesQuery]
	pageQuery  *validate.Query[pageQuery]
	html       *sanitize.HTML
	sortBy     *sanitize.Identifiers
	hub        *wstools.Hub

	closers     []io.Closer
	metricsAddr atomic.Value // string: the internal metrics listener's address
}

// handler assembles the stack: the model way to mount Covet on chi.
func (a *app) handler() http.Handler {
	r := chi.NewRouter()
	if a.tracing != nil {
		// Outermost: the span covers every stage, and its trace ID becomes
		// the correlation ID.
		r.Use(a.tracing.Handler)
	}
	// The client-IP stage runs before the access log and metrics, so behind
	// a trusted proxy they record the client, not the proxy.
	r.Use(a.requestID.Handler, errs.Recover, a.ips.Handler, a.cors.Handler, a.metrics.Handler, a.accessLog.Handler,
		a.headers.Handler, a.screen.Handler, a.globalLimit.Handler)
	r.NotFound(problem(errs.New(errs.KindNotFound, "route_not_found", "There is no such route.")))
	r.MethodNotAllowed(methodNotAllowed(r, errs.New(errs.KindMethodNotAllowed, "", "The route does not allow this method.")))

	if ep := a.publicMetrics(); ep != nil {
		r.Handle("/metrics", ep)
	}
	r.With(a.sessions.Handler).Get("/ws", a.hub.ServeHTTP) // uncompressed: the socket is hijacked
	r.Group(func(r chi.Router) {
		// Compression outside the session stage, so it sees the session's
		// Set-Cookie and leaves those responses uncompressed (BREACH).
		r.Use(a.compress.Handler, a.sessions.Handler)
		r.Get("/", a.page)
		r.Handle("/static/*", staticFiles())
		r.Handle("/.well-known/jwks.json", a.issuer.JWKSHandler())
		r.Route("/auth", func(r chi.Router) {
			r.Use(a.deadline.Handler, a.smallBody.Handler, a.authLimit.Handler)
			r.Post("/register", errs.Handle(a.register))
			r.Post("/login", errs.Handle(a.login))
			r.Post("/refresh", errs.Handle(a.refresh))
			r.Post("/logout", errs.Handle(a.logout))
			r.With(a.authn.Handler).Post("/password", errs.Handle(a.changePassword))
			r.With(a.authn.Handler).Post("/2fa/enroll", errs.Handle(a.enrollTOTP))
			r.With(a.authn.Handler).Post("/2fa/verify", errs.Handle(a.verifyTOTP))
			r.With(a.authn.Handler).Post("/2fa/disable", errs.Handle(a.disableTOTP))
		})
		r.Route("/api", func(r chi.Router) {
			r.Use(a.deadline.Handler, a.smallBody.Handler, a.authn.Handler, a.apiLimit.Handler)
			r.Get("/me", errs.Handle(a.me))
			r.With(a.authz.Require("notes:read")).Get("/notes", errs.Handle(a.listNotes))
			r.With(a.authz.Require("notes:write")).Post("/notes", errs.Handle(a.createNote))
			r.Route("/notes/{id}", func(r chi.Router) {
				r.Use(a.authz.RequireOwner(a.loadNote, "notes:*"))
				r.Get("/", errs.Handle(a.getNote))
				r.Put("/", errs.Handle(a.updateNote))
				r.Delete("/", errs.Handle(a.deleteNote))
			})
			r.With(a.authz.RequireRole("admin")).Get("/admin/users", errs.Handle(a.adminUsers))
		})
	})
	return r
}

// problem returns a handler that writes err.
func problem(err error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { errs.Write(w, r, err) }
}

// routeMethods are the methods a 405 response may list in Allow.
var routeMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions}

// methodNotAllowed answers 405 problem+json with the Allow header RFC 9110
// requires: the methods routes has for the request's path. A custom 405
// handler replaces chi's own, which is the one that sets Allow.
func methodNotAllowed(routes chi.Routes, err error) http.HandlerFunc {
	// chi's Find reports a mounted subrouter's pattern for any method, so a
	// method counts only when Walk saw it registered on that pattern. The
	// table is built at the first 405, once every route is registered.
	var once sync.Once
	var registered map[string]map[string]bool // pattern without a trailing slash → methods
	build := func() {
		registered = map[string]map[string]bool{}
		_ = chi.Walk(routes, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
			p := strings.TrimSuffix(route, "/")
			if registered[p] == nil {
				registered[p] = map[string]bool{}
			}
			registered[p][method] = true
			return nil
		})
	}
	return func(w http.ResponseWriter, r *http.Request) {
		once.Do(build)
		path := r.URL.RawPath
		if path == "" {
			path = r.URL.Path
		}
		var allow []string
		for _, m := range routeMethods {
			p := routes.Find(chi.NewRouteContext(), m, path)
			if p != "" && registered[strings.TrimSuffix(p, "/")][m] {
				allow = append(allow, m)
			}
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		errs.Write(w, r, err)
	}
}

// newApp builds every stage from cfg.
func newApp(ctx context.Context, cfg *config, logger *slog.Logger) (_ *app, err error) {
	a := &app{cfg: cfg, log: logger, registry: prometheus.NewRegistry()}
	defer func() {
		if err != nil {
			a.close()
		}
	}()

	if err := a.buildTracing(ctx); err != nil {
		return nil, err
	}
	a.db, err = dbkit.Open(ctx, dbkit.Options{
		Driver: dbkit.Driver(cfg.DBDriver), DSN: cfg.DBDSN, Name: "app",
		Logger: logger, Registerer: a.registry, TracerProvider: a.traces,
		// Never bound values, even in development: they are password
		// hashes, sealed TOTP secrets and emails.
		Log: dbkit.LoggerOptions{LogParams: false},
	})
	if err != nil {
		return nil, &configError{"COVET_DB_DSN", err.Error()}
	}
	a.closers = append(a.closers, a.db)
	a.store = &store{db: a.db}
	if a.migrator, err = newMigrator(a.db); err != nil {
		return nil, err
	}

	if len(cfg.RedisAddrs) > 0 {
		// Start without Redis if need be: /readyz answers 503 until Redis
		// does, and the stores use it as soon as it answers.
		a.rdb = newRedis(cfg.RedisAddrs)
		a.closers = append(a.closers, a.rdb)
		if err := a.traceRedis(); err != nil {
			return nil, err
		}
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		if err := pingRedis(pctx, a.rdb); err != nil {
			logger.Warn("Redis does not answer yet; not ready until it does", "error", err.Error())
		}
		cancel()
	}

	if err := a.buildEdge(); err != nil {
		return nil, err
	}
	if err := a.buildAuth(ctx); err != nil {
		return nil, err
	}
	if err := a.buildLimits(); err != nil {
		return nil, err
	}
	if err := a.buildInput(); err != nil {
		return nil, err
	}
	if err := a.buildChat(); err != nil {
		return nil, err
	}
	return a, nil
}

// buildEdge builds the stages every request passes first.
func (a *app) buildEdge() (err error) {
	if a.ips, err = clientip.New(clientip.Options{TrustedProxies: a.cfg.TrustedProxies}); err != nil {
		return &configError{"COVET_TRUSTED_PROXIES", err.Error()}
	}
	// A correlation ID is believed only from the trusted proxies.
	if a.requestID, err = observe.NewRequestID(observe.RequestIDOptions{TrustedProxies: a.cfg.TrustedProxies}); err != nil {
		return &configError{"COVET_TRUSTED_PROXIES", err.Error()}
	}
	a.cors, err = cors.New(cors.Options{
		AllowedOrigins:   a.cfg.CORSOrigins,
		AllowedMethods:   []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete},
		AllowedHeaders:   []string{"Authorization", "Content-Type", "X-Request-ID"},
		ExposedHeaders:   []string{"X-Request-ID", "RateLimit", "RateLimit-Policy", "Retry-After"},
		AllowCredentials: true,
		// Local development serves the second origin over plain HTTP.
		DangerouslyAllowHTTPOriginsWithCredentials: a.cfg.Mode == errs.Development,
		MaxAge: 2 * time.Hour,
	})
	if err != nil {
		return &configError{"COVET_CORS_ORIGINS", err.Error()}
	}
	if a.metrics, err = metrics.New(metrics.Options{Registerer: a.registry, Namespace: "covet", SkipPaths: []string{"/metrics", "/healthz", "/readyz"}}); err != nil {
		return err
	}
	// The zero address is a client a trusted proxy did not name usably
	// ("unknown", a malformed entry): say so, not "invalid IP".
	clientIP := func(r *http.Request) string {
		if a := clientip.FromRequest(r); a.IsValid() {
			return a.String()
		}
		return "unknown"
	}
	if a.accessLog, err = observe.NewAccessLog(observe.AccessLogOptions{Logger: a.log, ClientIP: clientIP, SkipPaths: []string{"/healthz", "/readyz", "/metrics"}}); err != nil {
		return err
	}
	csp := sanitize.NewCSP().
		Add("default-src", "'self'").
		Add("script-src", "'self'").
		Add("style-src", "'self'").
		Add("img-src", "'self'", "data:").
		Add("connect-src", "'self'").
		Add("object-src", "'none'").
		Add("base-uri", "'none'").
		Add("form-action", "'self'")
	var proxies *clientip.Resolver
	if len(a.cfg.TrustedProxies) > 0 {
		proxies = a.ips
	}
	if a.headers, err = sanitize.NewHeaders(sanitize.HeadersOptions{CSP: csp, Proxies: proxies}); err != nil {
		return err
	}
	if a.screen, err = sanitize.NewScreen(sanitize.ScreenOptions{}); err != nil {
		return err
	}
	if a.compress, err = compress.New(compress.Options{}); err != nil {
		return err
	}
	if a.deadline, err = timeout.New(timeout.Options{Timeout: 10 * time.Second}); err != nil {
		return err
	}
	a.smallBody, err = bodylimit.New(bodylimit.Options{MaxBytes: 64 << 10})
	return err
}

// buildLimits builds the three rate limits; with Redis they are shared by
// every instance.
func (a *app) buildLimits() (err error) {
	var shared *ratelimit.RedisStore
	if a.rdb != nil {
		rs, err := ratelimit.NewRedisStore(a.rdb, ratelimit.RedisOptions{Prefix: a.cfg.RedisPrefix + "rl:"})
		if err != nil {
			return err
		}
		shared = rs
		a.closers = append(a.closers, rs)
	}
	build := func(o ratelimit.Options) (*ratelimit.Limiter, error) {
		if shared != nil {
			o.Store = shared
		}
		o.ClientIP, o.Logger = a.ips, a.log
		o.OnStoreError = ratelimit.FailLocal
		l, err := ratelimit.New(o)
		if err == nil {
			a.closers = append(a.closers, l)
		}
		return l, err
	}
	// n per minute, all of it usable at once by a client that was idle.
	perMinute := func(name string, n int) ratelimit.Policy {
		return ratelimit.Policy{Name: name, Limit: int64(n), Period: time.Minute}
	}
	if a.globalLimit, err = build(ratelimit.Options{Name: "global", Policies: []ratelimit.Policy{perMinute("ip", a.cfg.RateGlobal)},
		Exempt: func(r *http.Request) bool { return r.URL.Path == "/metrics" }}); err != nil {
		return err
	}
	if a.authLimit, err = build(ratelimit.Options{Name: "auth", Policies: []ratelimit.Policy{perMinute("auth", a.cfg.RateAuth)}}); err != nil {
		return err
	}
	// Keyed by account, not by request: login counts its failures itself.
	if a.loginLimit, err = build(ratelimit.Options{Name: "login", Policies: []ratelimit.Policy{loginPerAccount}}); err != nil {
		return err
	}
	if a.loginClientLimit, err = build(ratelimit.Options{Name: "login-client", Policies: []ratelimit.Policy{loginPerClient}}); err != nil {
		return err
	}
	a.apiLimit, err = build(ratelimit.Options{Name: "api", Policies: []ratelimit.Policy{perMinute("user", a.cfg.RateAPI)},
		Key: ratelimit.ByPrincipal(func(r *http.Request) (string, bool) {
			s := authn.SubjectFrom(r.Context())
			return s, s != ""
		})})
	return err
}

// buildInput builds the validator, the HTML policy and the sort allowlist.
func (a *app) buildInput() (err error) {
	if a.validator, err = validate.New(validate.Options{Types: []any{registerBody{}, loginBody{}, refreshBody{}, logoutBody{}, passwordChangeBody{}, codeBody{}, passwordBody{}, noteBody{}, notesQuery{}, pageQuery{}}}); err != nil {
		return err
	}
	if a.notesQuery, err = validate.NewQuery[notesQuery](a.validator, validate.QueryOptions{}); err != nil {
		return err
	}
	if a.pageQuery, err = validate.NewQuery[pageQuery](a.validator, validate.QueryOptions{}); err != nil {
		return err
	}
	// Anyone who registers writes notes: the policy for strangers, not
	// PresetUGC's trusted-author extras (id attributes that clobber the
	// page's element lookups, images from anywhere).
	if a.html, err = sanitize.NewHTML(sanitize.HTMLOptions{Preset: sanitize.PresetUserContent, MaxBytes: 64 << 10}); err != nil {
		return err
	}
	a.sortBy, err = sanitize.NewIdentifiers(map[string]string{"created_at": "created_at", "title": "title"})
	return err
}

// hooks registers start-up work, readiness checks and closing with srv.
func (a *app) ready() map[string]func(context.Context) error {
	checks := map[string]func(context.Context) error{
		"database":   a.db.Ready,
		"migrations": a.migrator.Ready,
	}
	if a.rdb != nil {
		checks["redis"] = func(ctx context.Context) error { return pingRedis(ctx, a.rdb) }
	}
	if a.nats != nil {
		checks["nats"] = func(context.Context) error {
			if !a.nats.IsConnected() {
				return natsbroker.ErrNotConnected
			}
			return nil
		}
	}
	return checks
}

// migrate applies pending migrations.
func (a *app) migrate(ctx context.Context) error {
	res, err := a.migrator.Up(ctx)
	for _, r := range res {
		if r.Error == nil {
			a.log.Info("migration applied", "version", r.Source.Version, "path", r.Source.Path, "duration", r.Duration)
		}
	}
	return err
}

func (a *app) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		if err := a.closers[i].Close(); err != nil && !errors.Is(err, redis.ErrClosed) {
			a.log.Warn("close failed", "error", err)
		}
	}
	a.closers = nil
}
