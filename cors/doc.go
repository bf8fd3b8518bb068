// Package cors is the CORS stage, built on github.com/rs/cors: it answers
// preflight requests and adds the Access-Control-* headers to actual
// requests whose Origin a policy allows.
//
// # What rs/cors does
//
// rs/cors answers the preflights whose Origin and request headers this
// package has allowed: it checks the requested method (case-sensitively)
// and writes Access-Control-Allow-Origin, Access-Control-Allow-Methods and
// -Headers (echoed from the preflight), Access-Control-Allow-Private-Network
// and the preflight's Vary fields.
//
// # What this package adds
//
//   - Validation. New refuses, with a configuration error naming the entry,
//     every setting that is insecure or can never work: "*" together with
//     credentials, wildcards other than one leading "*." label or a ":*"
//     port, "null" and file: origins, origins with a path, query, trailing
//     slash, userinfo or default port, http: origins with credentials
//     (unless DangerouslyAllowHTTPOriginsWithCredentials is set), a max age
//     over 24 hours, an AllowOriginFunc that allows an origin that cannot
//     exist while credentials are allowed, private network access for "*",
//     a preflight status outside 2xx. An empty allowlist means same-origin
//     only: the stage sends no CORS headers at all and refuses every
//     preflight.
//   - Origin matching. Wildcards are whole DNS labels:
//     "https://*.example.com" matches "https://a.example.com" and never
//     "https://evilexample.com" (rs/cors's "*" matches any characters). The
//     allowlist is compiled at construction into an exact set and a trie of
//     domain labels, so a check is linear in the length of the Origin, uses
//     no regular expressions, and compares case-sensitively, as browsers
//     send origins in lowercase. AllowOriginFunc is asked only after the
//     list, and only about single, well-formed origins.
//   - Actual requests. For a request that is not a preflight, rs/cors would
//     only echo the Origin and add constant headers; this package writes
//     them itself, with the same rules (Vary: Origin always, the CORS
//     headers only for an allowed Origin and method), the differential fuzz
//     test against plain rs/cors keeping the two alike. Letting rs/cors
//     write them and then replacing its shared slices would cost half as
//     much again as rs/cors itself (BenchmarkCORSFloor in the bench module
//     measures that least possible wrapper); writing them here costs less
//     than plain rs/cors.
//   - Header slices of each response's own. rs/cors assigns package-level
//     slices such as Vary: Origin and Access-Control-Allow-Credentials: true
//     into the response header map, so a handler that edits
//     its Vary header in place races with every other request. Here, the
//     Vary slice rs/cors appends to is this response's, and the
//     constant-valued headers (Allow-Credentials, Expose-Headers, Max-Age,
//     "*", Allow-Private-Network) are written from one fresh array per
//     response; Access-Control-Allow-Origin is the request's own Origin
//     slice. That array is the stage's one allocation on an actual request
//     (BenchmarkWrapperCost compares the stage with plain rs/cors).
//   - Vary is appended to, never replaced, and Origin is not listed twice.
//   - Access-Control-Request-Headers is checked here, within fixed bounds
//     (lines, bytes, names, name length) checked before the value is
//     scanned, and accepted over several field lines, in any order and case
//     and with any optional whitespace; rs/cors wants one sorted, lowercase
//     list with at most one space of padding, which proxies do not always
//     keep. A preflight with several Origin or Access-Control-Request-Method
//     lines is refused, as no browser sends one.
//   - A refused preflight can be answered with 403 problem+json
//     (RefusePreflightWith403) instead of a bare 204.
//   - Per-route policies: each Policy value is one policy; mount separate
//     values on separate subtrees.
//
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
