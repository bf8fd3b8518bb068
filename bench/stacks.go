package bench

import (
	"io"
	"log"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5/middleware"
	"github.com/go-chi/httprate"
	"github.com/golang-jwt/jwt/v5"
	rscors "github.com/rs/cors"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/covetgo/covet/authn"
	authnjwt "github.com/covetgo/covet/authn/jwt"
	"github.com/covetgo/covet/authz"
	"github.com/covetgo/covet/cors"
	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/observe"
	"github.com/covetgo/covet/observe/tracing"
	"github.com/covetgo/covet/ratelimit"
)

// The full stack: RequestID, Recover, CORS, AccessLog, JWT authentication,
// rate limiting and a permission check around one handler, built from
// Covet's stages and, for comparison, from the peers a team would otherwise
// assemble (chi's middleware, rs/cors, golang-jwt in a small middleware,
// httprate). The benchmarks and cmd/stackserver (for wrk) share them.

var (
	stackSecret = []byte("a benchmark secret of at least 32 bytes!")
	// StackOrigin is the origin the stacks allow.
	StackOrigin = "https://app.example.com"
)

const (
	stackIssuer   = "https://auth.example.com"
	stackAudience = "notes-api"
)

type stackClaims struct {
	jwt.RegisteredClaims
	Roles []string `json:"roles"`
}

// StackToken returns a valid HS256 token for the stacks.
func StackToken() string {
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, stackClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: stackIssuer, Subject: "user-1", Audience: jwt.ClaimStrings{stackAudience},
			ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour)), IssuedAt: jwt.NewNumericDate(time.Now()),
		},
		Roles: []string{"reader"},
	})
	tok.Header["kid"] = "k1"
	s, err := tok.SignedString(stackSecret)
	if err != nil {
		panic(err)
	}
	return s
}

// StackHandler is the trivial handler every stack wraps.
var StackHandler http.Handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"items":[]}`))
})

// StackLog is how the Covet stack writes its access log, to io.Discard.
type StackLog int

const (
	// LogLines writes JSON lines through AccessLogOptions.Writer.
	LogLines StackLog = iota
	// LogSlog writes the same lines through slog.NewJSONHandler.
	LogSlog
	// LogNone leaves the access-log stage out, to measure what it costs.
	LogNone
)

// CovetStack builds the stack from Covet's stages; close releases the rate
// limiter's store.
func CovetStack(cache bool, logs StackLog) (h http.Handler, close func() error, err error) {
	// The benchmark process is one application: its renderer is the
	// package default, so the stack carries no per-request Renderer stage.
	rd, err := errs.NewRenderer(errs.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, nil, err
	}
	errs.SetDefault(rd)
	keys, err := authnjwt.NewStaticKeys(authnjwt.Key{ID: "k1", Algorithm: "HS256", Key: stackSecret})
	if err != nil {
		return nil, nil, err
	}
	vo := authnjwt.VerifierOptions{Keys: keys, Algorithms: []string{"HS256"}, Issuer: stackIssuer, Audience: []string{stackAudience}}
	if cache {
		vo.CacheSize = 1024
	}
	verifier, err := authnjwt.NewVerifier(vo)
	if err != nil {
		return nil, nil, err
	}
	an, err := authn.New(authn.Options{Authenticators: []authn.Authenticator{authn.Bearer(verifier)}})
	if err != nil {
		return nil, nil, err
	}
	c, err := cors.New(cors.Options{AllowedOrigins: []string{StackOrigin}, AllowCredentials: true})
	if err != nil {
		return nil, nil, err
	}
	alo := observe.AccessLogOptions{Writer: io.Discard}
	if logs == LogSlog {
		alo = observe.AccessLogOptions{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	}
	access, err := observe.NewAccessLog(alo)
	if err != nil {
		return nil, nil, err
	}
	limit, err := ratelimit.New(ratelimit.Options{Policies: []ratelimit.Policy{ratelimit.PerMinute("ip", 50_000_000)}})
	if err != nil {
		return nil, nil, err
	}
	az, err := authz.New(authz.Options{Decider: authz.MustRBAC(authz.Policy{Roles: map[string]authz.Role{"reader": {Permissions: []string{"notes:read"}}}})})
	if err != nil {
		return nil, nil, err
	}
	h = StackHandler
	h = az.Require("notes:read")(h)
	h = limit.Handler(h)
	h = an.Handler(h)
	if logs != LogNone {
		h = access.Handler(h)
	}
	h = c.Handler(h)
	h = errs.Recover(h)
	return observe.RequestID(h), limit.Close, nil
}

// TracedStack puts the tracing stage outermost around a stack (before
// RequestID, so the trace ID becomes the correlation ID), with tp as the
// tracer provider (nil: the global one) and W3C Trace Context propagation.
func TracedStack(h http.Handler, tp trace.TracerProvider) (http.Handler, error) {
	t, err := tracing.New(tracing.Options{TracerProvider: tp, Propagators: propagation.TraceContext{}})
	if err != nil {
		return nil, err
	}
	return t.Handler(h), nil
}

// peerJWT is the small JWT middleware a team writes around golang-jwt.
func peerJWT(next http.Handler) http.Handler {
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer(stackIssuer), jwt.WithAudience(stackAudience), jwt.WithExpirationRequired())
	keyFunc := func(*jwt.Token) (any, error) { return stackSecret, nil }
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		var claims stackClaims
		if _, err := parser.ParseWithClaims(raw, &claims, keyFunc); err != nil {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		for _, role := range claims.Roles {
			if role == "reader" {
				next.ServeHTTP(w, r)
				return
			}
		}
		http.Error(w, "forbidden", http.StatusForbidden)
	})
}

// PeerStack builds the same stack from chi's middleware, rs/cors,
// golang-jwt and httprate; logs receives chi's request log.
func PeerStack(logs io.Writer) http.Handler {
	var h http.Handler = StackHandler
	//lint:ignore SA1019 LimitByIP is the peer the comparison names; it keys by RemoteAddr like covet's default.
	h = httprate.LimitByIP(1<<30, time.Minute)(h)
	h = peerJWT(h)
	h = middleware.RequestLogger(&middleware.DefaultLogFormatter{Logger: log.New(logs, "", log.LstdFlags), NoColor: true})(h)
	h = rscors.New(rscors.Options{AllowedOrigins: []string{StackOrigin}, AllowCredentials: true}).Handler(h)
	h = middleware.Recoverer(h)
	return middleware.RequestID(h)
}
