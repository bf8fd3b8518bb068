// Package cors is the CORS stage: it answers preflight requests and adds
// the Access-Control-* headers to actual requests whose Origin a policy
// allows.
//
// A policy is validated when it is built. New refuses, with a configuration
// error naming the entry, every setting that is insecure or can never work:
// "*" together with credentials, wildcards other than one leading "*." label
// or a ":*" port, "null" and file: origins, origins with a path, query,
// trailing slash, userinfo or default port, http: origins with credentials
// (unless DangerouslyAllowHTTPOriginsWithCredentials is set), and a max age
// over 24 hours. An empty allowlist means same-origin only: the stage sends
// no CORS headers at all and refuses every preflight.
//
// Origin matching is compiled at construction into an exact set and a trie
// of domain labels for wildcard subdomains, so a check is linear in the
// length of the Origin and uses no regular expressions.
//
// The protocol follows the Fetch standard and the behaviour of
// github.com/rs/cors, the library the team used before, with the parts that
// did not fit done here instead:
//
//   - No header slice is shared between requests: constant values go into
//     a fresh array per response, and values echoed from the request reuse
//     that request's own slices. rs/cors assigns shared package-level slices
//     into the response header map (rs/cors#198), so a handler that edits
//     its Vary header in place races with every other request.
//   - Vary is appended to, never replaced, and Origin is not listed twice.
//   - Access-Control-Request-Headers is accepted over several field lines,
//     in any order and case and with any optional whitespace (rs/cors wants
//     one sorted, lowercase list with at most one space of padding), within
//     fixed bounds checked before the value is scanned.
//   - Wildcards are whole DNS labels: "https://*example.com" is refused
//     instead of matching "https://evilexample.com".
//   - A refused preflight can be answered with 403 problem+json.
//
// Per-route policies are separate instances mounted on separate subtrees.
// Mount the stage outside method routing (on the router or subrouter, not
// on a method-specific route), or preflights of a route registered only for
// PUT get 405 from the router before the CORS stage sees them.
//
// # Cross-origin requests, validated
//
// cors.New checks a policy once, at start-up, and refuses what is insecure or can never match:
// "*" with credentials, wildcards other than one leading *. label or a :* port
// (https://*example.com would admit evilexample.com), null and file: origins, origins with a
// path, trailing slash, userinfo or default port, http: origins with credentials, and a max age over
// 24 hours (Chromium caps it at 2 hours anyway). An empty allowlist means same-origin only: no CORS
// headers at all.
//
// Matching is an exact set plus a trie of domain labels: linear in the Origin's length, no regexps.
// Preflights answer 204 (or 403 problem+json with RefusePreflightWith403), Vary is appended,
// never replaced, no header slice is shared between requests (handlers may edit them in place), and
// Access-Control-Request-Headers is accepted in any order, case, padding or number of lines,
// within fixed bounds.
//
//	api, err := cors.New(cors.Options{
//		AllowedOrigins:   []string{"https://app.example.com", "https://*.example.com"},
//		AllowedMethods:   []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete},
//		AllowedHeaders:   []string{"Content-Type", "Authorization"},
//		ExposedHeaders:   []string{"X-Request-Id"},
//		AllowCredentials: true,
//		MaxAge:           2 * time.Hour,
//	})
//	if err != nil {
//		log.Fatal(err) // names the bad entry
//	}
//	public := cors.Must(cors.Options{AllowedOrigins: []string{"*"}})
//
//	r := chi.NewRouter()
//	r.Route("/api", func(r chi.Router) {
//		r.Use(api.Handler) // on the subrouter: runs before method routing
//		r.Put("/notes/{id}", saveNote)
//	})
//	r.Route("/public", func(r chi.Router) {
//		r.Use(public.Handler)
//		r.Get("/feed", feed)
//	})
//
// Keep the stage outside method routing. With chi, Use on a router or a Route subrouter runs
// before the router matches a method; r.With(api.Handler).Put(...) or a Group attaches it to
// the PUT route only, so the OPTIONS preflight gets 405 before CORS sees it. With http.ServeMux,
// wrap the subtree: mux.Handle("/api/", api.Handler(apiMux)), where apiMux holds the
// "PUT /api/notes/{id}" patterns.
package cors
