// Package session is the session stage: server-side sessions built on
// github.com/gorilla/sessions (a *Manager is a gorilla sessions.Store, so
// code written against gorilla keeps working), with the pieces gorilla
// leaves to its users done right: ID rotation, strict IDs, idle and
// absolute timeouts, log-out-everywhere, flash messages, typed values and
// CSRF protection.
//
// # The stage
//
// New validates Options and returns a Manager; Manager.Handler is the
// middleware. It puts a Session in the request context (From) that loads
// lazily: a request that never touches its session costs no cookie
// verification and no store access. A session that changed is saved just
// before the response headers go out (the middleware wraps the
// ResponseWriter and commits on the first WriteHeader, Write, Flush,
// ReadFrom or Hijack), so the Set-Cookie header can still be sent. A
// session that was only read is not written back, except for a throttled
// touch that refreshes its idle timer. A change made after the headers went
// out cannot reach the client and is refused: it is logged as an error
// naming the caller, and in Development mode (errs.CurrentMode) the
// response is held back until the handler returns and replaced by a 500.
//
// # IDs and cookies
//
// A session ID is 256 bits from crypto/rand. The cookie carries it signed
// with github.com/gorilla/securecookie (HMAC-SHA-256, keys rotate through
// Options.HashKeys); stores only ever see its SHA-256 hash (Key). IDs are
// strict: an ID the store does not hold, or one whose session expired, is
// never adopted; the request gets a fresh, empty session, and a new ID once
// something is saved. Session.Renew issues a new ID and kills the old one
// (after an optional grace window of a few seconds during which the old ID
// reads a frozen, read-only copy), keeping the absolute deadline. Call it
// on login and on every privilege change.
//
// The cookie defaults to "__Host-session" with Secure, HttpOnly,
// SameSite=Lax and Path=/; plain-HTTP development needs the explicit
// InsecureCookie option, which logs a warning.
//
// # Timeouts and users
//
// Every session has an idle timeout and an absolute lifetime, both checked
// server-side against the Manager's clock on every load. Binding a session
// to a user (Session.SetUserID) indexes it, so Manager.UserSessions lists a
// user's sessions and Manager.DestroyUser ends them all (after a password
// or second-factor change, or "log out everywhere").
//
// # Stores
//
// NewMemoryStore (the default), NewRedisStore (one round trip per load and
// per save, TTL equal to the remaining lifetime) and NewSQLStore (over an
// SQLBackend such as dbkit.SessionStore, for PostgreSQL, MariaDB and
// SQLite) keep sessions server-side; package sessiontest checks any other
// Store. NewCookieStore keeps small sessions entirely in an encrypted,
// versioned cookie instead (Options.Stateless).
//
// While a store is down the stage fails closed and logs nobody out: a
// session that cannot be loaded reports ErrStoreUnavailable (503, with
// Retry-After) through Session.Err, acts empty and is never written back; a
// request whose session cannot be saved is answered with that 503 instead
// of the handler's response. Applications should answer Session.Err with
// that error rather than treat the user as logged out (a 401 would send a
// logged-in user to the login page for the length of the outage).
// RedisStore bounds every call (RedisOptions.Timeout) and runs on Redis
// Cluster; its doc says how.
//
// # Concurrency
//
// A Session is safe for concurrent use by the goroutines serving one
// request. Between requests of one session the rule is last writer wins
// per session: each request works on the snapshot it loaded, and saving
// replaces the stored record as a whole, so concurrent requests never
// corrupt a session (every load sees one complete save), but the later
// save drops keys the earlier one changed. Keep values that concurrent
// requests both change (counters, carts edited from two tabs) in your
// database, not in the session. Touches only move the idle timer and never
// overwrite values.
//
// # CSRF
//
// Unless CSRFOptions.Disable is set, the stage runs http.CrossOriginProtection
// on every unsafe request and answers a cross-origin one with 403
// problem+json. With CSRFOptions.Token, requests that carry neither
// Sec-Fetch-Site nor Origin must also present the session's masked
// synchronizer token (CSRFToken).
package session
