// Package authn is the authentication stage: it finds out who is calling and
// puts a [Principal] in the request context.
//
// The stage ([Authn.Handler]) runs a list of [Authenticator]s in order: a
// bearer JWT ([Bearer] over a [Verifier]), an API key ([APIKeys]), a session
// ([Session], over a function the application supplies). The first one that
// finds credentials decides: a valid credential yields a principal, an
// invalid one ends the request with 401 and a WWW-Authenticate challenge
// (RFC 6750 for bearer tokens). When none finds credentials the stage either
// refuses the request (the default) or lets it through anonymously
// (Options.Optional) for the handler to decide.
//
// Around the stage the package has the pieces an application needs to issue
// and check credentials:
//
//   - [Verifier]: JWT verification that is safe by construction (algorithms,
//     issuer, audience and expiry are required, every key is bound to one
//     algorithm, jku/x5u/jwk headers are ignored, tokens over 8 KiB are
//     refused before parsing, header and payload are read by a strict JSON
//     scanner that refuses repeated names, and github.com/golang-jwt/jwt/v5
//     checks the signature and the registered claims), with an optional
//     verified-token cache and revocation check.
//   - [JWKS]: a key set fetched over HTTPS and refreshed in the background.
//   - [Issuer]: access tokens signed with rotating keys, a JWKS handler, and
//     rotating refresh tokens with reuse detection and a short reuse
//     interval for retries ([RefreshStore], in memory or in Redis). A
//     refresh re-reads the subject's roles and scopes through
//     IssuerOptions.Reload, and refuses a disabled subject.
//   - Revocation before expiry ([RevocationStore], in memory or in Redis):
//     one access token by "jti", or everything of a subject issued before a
//     time ([Issuer.RevokeSubject], for a password change); [Issuer.Logout]
//     and [Issuer.RevokeLogin] end a login server-side, refresh family
//     included, without the client's refresh token.
//   - [APIKeys]: prefixed API keys of which only a hash is stored.
//   - [Passwords]: Argon2id hashing in PHC strings, bcrypt verification for
//     legacy hashes, bounded concurrency.
//   - [TOTP]: RFC 6238 time-based one-time passwords (SHA-1, SHA-256 or
//     SHA-512; 6 or 8 digits) with replay protection and single-use
//     recovery codes.
//   - [OIDC] and [Introspector]: an OAuth2/OIDC login flow with PKCE, and
//     RFC 7662 token introspection for resource servers.
//
// Every success and failure is recorded with errs.Audit (event, method,
// reason code, client IP, request ID; never a secret). Callers of a verifier
// see one error (ErrInvalidToken); the detailed reason, available through
// [Reason], goes to the audit log only.
//
// # Shared stores and outages
//
// The Redis-backed stores ([RedisRefreshStore], [RedisRevocations],
// [RedisTOTPStore]) take a redis.UniversalClient (single node, Sentinel or
// Cluster) built with ContextTimeoutEnabled, bound every call with
// RedisOptions.Timeout (300 ms by default), and keep the keys of one script
// or transaction in one Cluster slot with hash tags (a refresh family, a
// subject, a TOTP account); no key is built inside Lua. While Redis is
// down or stalled:
//
//   - Refresh store: fails closed for the request. IssuePair and Refresh
//     answer 503 (ErrUnavailable, Retry-After) after the timeout; nobody is
//     logged out, and a rotation that ran without its answer reaching the
//     client is answered again with the same successor when the client
//     retries within IssuerOptions.RefreshReuseGrace.
//   - Revocation list: fails closed. Every request it must vouch for,
//     cached tokens included, answers 503; a revoked token is never let
//     through because the list could not be read.
//   - TOTP store: fails closed. Verify and VerifyRecoveryCode answer 503,
//     since neither replay protection nor the attempt limit could be kept.
//
// No store failure is ever reported as 401 or 403, so clients keep their
// credentials and retry. The in-memory stores cannot fail, but each
// process has its own and a restart empties them.
//
// # Who is calling
//
// authn.New builds the authentication stage from a list of authenticators tried in order: a
// bearer JWT (authn.Bearer over a Verifier, or over an RFC 7662 Introspector), API keys
// (authn.NewAPIKeys), and the application's session (authn.Session(func(r) (*Principal, error)),
// so authn never depends on a session store). The first authenticator that finds a credential
// decides: a valid one puts an *authn.Principal (subject, roles, scopes, method, claims) in the
// context (authn.PrincipalFrom(ctx)); an invalid one is a 401 problem+json with an RFC 6750
// WWW-Authenticate challenge (error="invalid_token"), a malformed or repeated Authorization
// header a 400, a failing backing store a 503. A bad token never falls back to a weaker
// authenticator. Without credentials the stage answers 401 with Bearer realm="...", or lets the
// request through anonymously with Options.Optional.
//
// The JWT verifier is safe by construction: algorithms, issuer, audience and
// expiry are required options; every key is bound to one algorithm (kid → key → alg, so alg:none,
// HS256-signed-with-the-RSA-public-key and a kid pointing at another key type all fail); jku, x5u
// and jwk headers are ignored; crit headers, duplicate header members and claims, string dates
// and non-canonical base64 are refused; tokens over 8 KiB or with more than two dots are refused before any decoding;
// leeway is explicit and capped at 5 minutes; Type: "at+jwt" enforces RFC 9068. It reads the
// header and payload with its own strict JSON scanner (no reflection; it accepts exactly what
// json.Valid accepts), then hands the signature to golang-jwt/jwt/v5's signing methods and the
// registered claims to its validator, which makes a cold HS256 verification about a third of
// golang-jwt's ParseWithClaims time. Callers see one
// invalid_token error; the reason (expired, bad_audience, unknown_kid, ...) goes to the audit
// log (errs.Audit) and to an optional OnOutcome hook for metrics, never to the client. The optional verified-token cache (a seeded hash of the token, bounded,
// entries never outliving exp) skips signature checks for repeated tokens, and a RevocationList
// is still asked on every request.
//
// Around the stage: authn.NewJWKS (HTTPS from allowed hosts, capped body, background refresh within
// clamped lifetimes, stale keys kept while the provider is down, an unknown kid refreshing at most
// once per 30 s through one shared fetch), authn.NewIssuer (EdDSA/ES256 keys that rotate on a
// schedule, a JWKS handler, refresh tokens that rotate on every use and revoke their whole family when
// one is reused, in memory or in Redis), authn.NewPasswords (Argon2id with OWASP parameters in PHC
// strings, bcrypt legacy verification with bounded stored costs, NeedsRehash, a 1 KiB limit,
// bounded concurrency with a bounded queue, a dummy verification for unknown accounts and one answer
// time for every account kind), authn.NewTOTP (pquerna/otp,
// replay refused with a compare-and-swap on the last used step, failure limits, hashed single-use
// recovery codes), and authn.NewOIDC (authorization code with PKCE S256, state and nonce bound to
// the browser, ID token keys read through the same hardened JWKS client, azp checked).
//
//	keys, err := authn.NewJWKS(authn.JWKSOptions{
//		URL:          "https://login.example.com/.well-known/jwks.json",
//		AllowedHosts: []string{"login.example.com"},
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	if err := keys.Start(ctx); err != nil {
//		log.Printf("JWKS not reachable yet, retrying in the background: %v", err)
//	}
//	verifier, err := authn.NewVerifier(authn.VerifierOptions{
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
