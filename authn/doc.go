// Package authn is the authentication stage: it finds out who is calling and
// puts a principal (authn/principal) in the request context.
//
// The stage ([Stage.Handler]) runs a list of [Authenticator]s in order: a
// bearer token ([Bearer] over a [TokenVerifier]: a JWT verifier from
// authn/jwt or an RFC 7662 introspection client from authn/oidc), an API key ([APIKeys]), a session ([Session], over a
// function the application supplies, so authn never depends on a session
// store). The first one that finds credentials decides: a valid credential
// yields a principal (see [PrincipalFrom]), an invalid one ends the request
// with 401 and a WWW-Authenticate challenge (RFC 6750 for bearer tokens), a
// malformed or repeated Authorization header with 400, a failing backing
// store with 503. A bad token never falls back to a weaker authenticator.
// When none finds credentials the stage either refuses the request (the
// default) or lets it through anonymously (Options.Optional).
//
// Every decision is recorded with errs.Audit (event, method, reason code,
// client IP, request ID; never a secret), on the request's OpenTelemetry
// span when one records (covet.authn.method, covet.authn.outcome,
// covet.authn.reason), and through Options.OnOutcome for metrics. Callers
// of a verifier see one error (ErrInvalidToken); the detailed reason,
// available through [Reason], goes to logs and metrics only.
//
// # What lives where
//
//   - authn/principal: the Principal, its Claims and the context accessors;
//     small, so that authz and handlers import it alone.
//   - authn (this package): the stage; bearer, API-key and session
//     authenticators; the errors and reasons every authn package shares.
//   - authn/jwt: JWT verification ([TokenVerifier] for Bearer) and key
//     sets (static, or JWKS fetched over HTTPS and refreshed).
//   - authn/oidc: OpenID Connect login (authorization code with PKCE) and
//     RFC 7662 token introspection.
//   - authn/issuer: access and refresh tokens for an application that is its
//     own authorization server, with rotation, reuse detection and
//     revocation.
//   - authn/password: Argon2id and bcrypt password hashing.
//   - authn/totp: RFC 6238 one-time passwords and recovery codes.
//
// # Shared stores and outages
//
// The Redis-backed stores (issuer.NewRedisRefreshStore,
// issuer.NewRedisRevocations, totp.NewRedisStore) take a
// redis.UniversalClient (single node, Sentinel or Cluster) built with
// ContextTimeoutEnabled and [RedisOptions], bound every call with
// RedisOptions.Timeout (300 ms by default), and keep the keys of one script
// or transaction in one Cluster slot with hash tags; no key is built inside
// Lua. While Redis is down they fail closed for the request with 503
// ([ErrUnavailable], Retry-After): no store failure is ever reported as 401
// or 403, so clients keep their credentials and retry, and a revoked token
// is never let through because the list could not be read.
//
//	keys, err := jwt.NewJWKS(jwt.JWKSOptions{
//		URL:          "https://login.example.com/.well-known/jwks.json",
//		AllowedHosts: []string{"login.example.com"},
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	if err := keys.Start(ctx); err != nil {
//		log.Printf("JWKS not reachable yet, retrying in the background: %v", err)
//	}
//	verifier, err := jwt.NewVerifier(jwt.VerifierOptions{
//		Keys:       keys,
//		Algorithms: []string{"RS256", "ES256"},
//		Issuer:     "https://login.example.com/",
//		Audience:   []string{"notes-api"},
//		Type:       "at+jwt",
//		Leeway:     30 * time.Second,
//		CacheSize:  50_000,
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	apiKeys, err := authn.NewAPIKeys(authn.APIKeysOptions{Store: authn.NewMemoryAPIKeys(), Prefix: "notes"})
//	if err != nil {
//		log.Fatal(err)
//	}
//	stage, err := authn.New(authn.Options{
//		Authenticators: []authn.Authenticator{authn.Bearer(verifier), apiKeys},
//		Realm:          "notes",
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	r := chi.NewRouter()
//	r.Use(stage.Handler)
//	r.Get("/me", func(w http.ResponseWriter, r *http.Request) {
//		p, _ := authn.PrincipalFrom(r.Context())
//		fmt.Fprintln(w, p.Subject, p.Scopes)
//	})
package authn
