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
package cors
