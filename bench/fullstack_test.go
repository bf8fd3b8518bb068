package bench

import (
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5/middleware"
	"github.com/go-chi/httprate"
	"github.com/golang-jwt/jwt/v5"
	rscors "github.com/rs/cors"

	"github.com/covetgo/covet/authn"
	"github.com/covetgo/covet/authz"
	"github.com/covetgo/covet/cors"
	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/observe"
	"github.com/covetgo/covet/ratelimit"
)

// The full stack: RequestID, Recover, CORS, AccessLog, JWT authentication,
// rate limiting and a permission check around one handler, built from
// Covet's stages and, for comparison, from the peers a team would otherwise
// assemble (chi's middleware, rs/cors, golang-jwt in a small middleware,
// httprate).

var (
	stackSecret = []byte("a benchmark secret of at least 32 bytes!")
	stackOrigin = "https://app.example.com"
)

const (
	stackIssuer   = "https://auth.example.com"
	stackAudience = "notes-api"
)

type stackClaims struct {
	jwt.RegisteredClaims
	Roles []string `json:"roles"`
}

func stackToken(b *testing.B) string {
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
		b.Fatal(err)
	}
	return s
}

var stackHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"items":[]}`))
})

func covetStack(b *testing.B, cache bool) http.Handler {
	errs.Configure(errs.Config{Logger: slog.New(slog.DiscardHandler)})
	keys, err := authn.NewStaticKeys(authn.Key{ID: "k1", Algorithm: "HS256", Key: stackSecret})
	if err != nil {
		b.Fatal(err)
	}
	vo := authn.VerifierOptions{Keys: keys, Algorithms: []string{"HS256"}, Issuer: stackIssuer, Audience: []string{stackAudience}}
	if cache {
		vo.CacheSize = 1024
	}
	verifier, err := authn.NewVerifier(vo)
	if err != nil {
		b.Fatal(err)
	}
	an, err := authn.New(authn.Options{Authenticators: []authn.Authenticator{authn.Bearer(verifier)}})
	if err != nil {
		b.Fatal(err)
	}
	c, err := cors.New(cors.Options{AllowedOrigins: []string{stackOrigin}, AllowCredentials: true})
	if err != nil {
		b.Fatal(err)
	}
	logs, err := observe.NewAccessLog(observe.AccessLogOptions{Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	limit, err := ratelimit.New(ratelimit.Options{Policies: []ratelimit.Policy{ratelimit.PerMinute("ip", 50_000_000)}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = limit.Close() })
	az, err := authz.New(authz.Options{Decider: authz.MustRBAC(authz.Policy{Roles: map[string]authz.Role{"reader": {Permissions: []string{"notes:read"}}}})})
	if err != nil {
		b.Fatal(err)
	}
	var h http.Handler = stackHandler
	h = az.Require("notes:read")(h)
	h = limit.Handler(h)
	h = an.Handler(h)
	h = logs.Handler(h)
	h = c.Handler(h)
	h = errs.Recover(h)
	return observe.RequestID(h)
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

func peerStack() http.Handler {
	var h http.Handler = stackHandler
	h = httprate.LimitByIP(1<<30, time.Minute)(h)
	h = peerJWT(h)
	h = middleware.RequestLogger(&middleware.DefaultLogFormatter{Logger: log.New(io.Discard, "", log.LstdFlags), NoColor: true})(h)
	h = rscors.New(rscors.Options{AllowedOrigins: []string{stackOrigin}, AllowCredentials: true}).Handler(h)
	h = middleware.Recoverer(h)
	return middleware.RequestID(h)
}

func stackRequest(b *testing.B) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/api/notes", nil)
	r.RemoteAddr = "203.0.113.7:40000"
	r.Header.Set("Origin", stackOrigin)
	r.Header.Set("Authorization", "Bearer "+stackToken(b))
	return r
}

// runStack serves the request with a fresh header map each time, as
// net/http does, and checks the stack let it through.
func runStack(b *testing.B, h http.Handler) {
	r := stackRequest(b)
	w := &statusWriter{h: make(http.Header, 16)}
	h.ServeHTTP(w, r)
	if w.status != http.StatusOK {
		b.Fatalf("the stack answered %d", w.status)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
}

type statusWriter struct {
	h      http.Header
	status int
}

func (w *statusWriter) Header() http.Header { return w.h }
func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return len(p), nil
}
func (w *statusWriter) WriteHeader(s int) { w.status = s }

func BenchmarkFullStack_CovetCached(b *testing.B)   { runStack(b, covetStack(b, true)) }
func BenchmarkFullStack_CovetUncached(b *testing.B) { runStack(b, covetStack(b, false)) }
func BenchmarkFullStack_Peers(b *testing.B)         { runStack(b, peerStack()) }
