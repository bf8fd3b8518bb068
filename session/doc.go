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
// naming the caller, and when the request's errs Renderer (errs.RendererFrom)
// is in Development mode the response is held back until the handler returns
// and replaced by a 500.
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
//
// # Server-side sessions, rotation and CSRF
//
// Server-side sessions built on gorilla/sessions (a *session.Manager is a
// sessions.Store, so gorilla code keeps working), with what gorilla leaves to
// you done right:
//
//   - Lazy and cheap: nothing is read until a handler touches the session;
//     a read-only request writes nothing (idle timers are refreshed by throttled
//     touches); a change is saved once, just before the headers go out. A
//     change after the headers is refused and logged (a 500 in Development).
//   - Strict 256-bit IDs, signed in a __Host- cookie (Secure, HttpOnly,
//     SameSite=Lax), stored only as SHA-256 hashes; unknown IDs are never
//     adopted. Renew rotates the ID on login without extending the absolute
//     lifetime; Destroy logs out.
//   - Idle and absolute timeouts, enforced server-side.
//   - Per-user index: list a user's sessions, revoke one, or log out
//     everywhere after a password change. A request already in flight cannot
//     write a destroyed session back: existing sessions are saved only while
//     their record is still there.
//   - Concurrency: last writer wins per session; a save replaces the whole
//     record, so concurrent requests never tear it.
//   - Stores: memory, Redis (one round trip per load and per save, TTL = the
//     remaining lifetime), SQL through dbkit.SessionStore (PostgreSQL,
//     MariaDB, SQLite), or an encrypted, versioned, key-rotating cookie store.
//   - CSRF: http.CrossOriginProtection on unsafe methods by default, plus
//     an optional masked synchronizer token; failures are 403 problem+json.
//     Requests without a session cookie (a bearer-token call from an origin CORS
//     allows) pass, but may not start a session unless their origin is trusted.
//   - Typed values (session.Get[T]) and flash messages.
//
// For example:
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
//	store, err := session.NewRedisStore(rdb, session.RedisOptions{})
//	if err != nil {
//		log.Fatal(err)
//	}
//	sessions, err := session.New(session.Options{
//		Store:       store,
//		HashKeys:    [][]byte{hashKey}, // 32+ random bytes, same on every instance
//		IdleTimeout: 30 * time.Minute,
//		CSRF:        session.CSRFOptions{TrustedOrigins: []string{"https://admin.example.com"}},
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//
//	r := chi.NewRouter()
//	r.Use(sessions.Handler)
//	r.Post("/login", func(w http.ResponseWriter, r *http.Request) {
//		// ... verify the password ...
//		if err := session.Renew(r); err != nil { // new ID: no session fixation
//			errs.Write(w, r, err)
//			return
//		}
//		s := session.From(r)
//		s.SetUserID("42")
//		s.AddFlash("info", "Welcome back")
//		http.Redirect(w, r, "/", http.StatusSeeOther)
//	})
//	r.Get("/cart", func(w http.ResponseWriter, r *http.Request) {
//		items, _ := session.Get[[]string](session.From(r), "cart")
//		fmt.Fprintln(w, items)
//	})
//	r.Post("/logout", func(w http.ResponseWriter, r *http.Request) {
//		_ = session.Destroy(r)
//		http.Redirect(w, r, "/", http.StatusSeeOther)
//	})
//	r.Post("/password", func(w http.ResponseWriter, r *http.Request) {
//		// ... change the password, then end every other session of the user ...
//		_, _ = sessions.DestroyUser(r.Context(), session.From(r).UserID())
//	})
//
// For SQL, create the GORM-backed table with
// dbkit.NewSessionStore(db, dbkit.SessionStoreOptions{}), call its Migrate,
// pass it to session.NewSQLStore, and run the store's RunCleanup in a
// goroutine to delete expired rows. session/sessiontest checks any custom
// session.Store.
package session
