package session

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/covetgo/covet/errs"
	"github.com/gorilla/securecookie"
)

// Defaults of Options.
const (
	DefaultCookieName      = "__Host-session"
	DefaultIdleTimeout     = 30 * time.Minute
	DefaultAbsoluteTimeout = 12 * time.Hour
	DefaultRenewGrace      = 5 * time.Second
	// MaxRenewGrace bounds Options.RenewGrace: the window is for requests
	// already in flight, not for keeping old IDs useful.
	MaxRenewGrace = time.Minute
	// idLen is the length of a session ID: 256 bits.
	idLen = 32
	// maxCookieValue bounds a session cookie value that is even looked at.
	maxCookieValue = 4096
)

// Options configures a Manager. The zero value of every field except
// HashKeys (or Stateless) is the secure default.
type Options struct {
	// Store keeps the sessions server-side. Nil (and no Stateless): a new
	// MemoryStore.
	Store Store
	// Stateless, when set, keeps each session in an encrypted cookie
	// instead of a store (see CookieStore). Store must then be nil.
	Stateless *CookieStore
	// HashKeys sign the cookie carrying the session ID
	// (github.com/gorilla/securecookie, HMAC-SHA-256). The first key signs,
	// every key verifies, so a new key is rotated in by putting it first.
	// Each must be at least 32 bytes. Required unless Stateless is set.
	HashKeys [][]byte

	// CookieName is the cookie's name. Empty: "__Host-session" ("session"
	// with InsecureCookie, "__Secure-session" with Domain). A "__Host-"
	// name requires Secure and no Domain, so browsers refuse to let a
	// subdomain or plain HTTP plant the cookie; a "__Secure-" name requires
	// Secure. The prefixes are matched ignoring case, as browsers match
	// them ("__HOST-sid" obeys the __Host- rules).
	//
	// Without the __Host- prefix a neighbouring subdomain can plant
	// cookies of the same name, which browsers may send before this
	// host's own; the stage then reads the first of them (up to four)
	// whose signature verifies, and does not expire the cookie when
	// another of them verifies too.
	CookieName string
	// Domain sets the cookie's Domain attribute. Empty (recommended): the
	// cookie is sent to this host only.
	Domain string
	// SameSite is the cookie's SameSite attribute. Zero: Lax. None is
	// refused with InsecureCookie (browsers require Secure for it).
	SameSite http.SameSite
	// Persistent makes the cookie outlive the browser session (Max-Age is
	// the session's remaining absolute lifetime). False: a browser-session
	// cookie; the server-side timeouts apply either way.
	Persistent bool
	// InsecureCookie drops the Secure attribute and the "__Host-" prefix so
	// sessions work over plain HTTP. For local development only; New logs
	// a warning when it is set.
	InsecureCookie bool

	// IdleTimeout ends a session not used for this long. Zero: 30 minutes.
	IdleTimeout time.Duration
	// AbsoluteTimeout ends a session this long after it started, however
	// active, renewals included. Zero: 12 hours.
	AbsoluteTimeout time.Duration
	// TouchInterval is how often, at most, a request that only reads the
	// session refreshes its idle timer in the store. Zero: a tenth of the
	// idle timeout, at most one minute.
	TouchInterval time.Duration
	// RenewGrace is how long the ID a session leaves behind at Renew keeps
	// working, read-only, for requests already in flight. Zero: 5 seconds;
	// negative: the old ID dies at once. At most MaxRenewGrace.
	RenewGrace time.Duration

	// CSRF configures cross-site request forgery protection.
	CSRF CSRFOptions

	// Now is the clock. Nil: time.Now.
	Now func() time.Time
	// Logger receives warnings and refused changes. Nil: slog.Default().
	Logger *slog.Logger
}

// Manager is the session stage: it attaches a lazily loaded Session to each
// request and saves it before the response goes out. It also implements
// github.com/gorilla/sessions' Store interface (see Get, New, Save).
type Manager struct {
	store     Store
	stateless *CookieStore
	codecs    []*securecookie.SecureCookie
	verified  verifiedCookies

	name         string
	setSuffix    string
	expireCookie string
	persistent   bool

	timing
	now  func() time.Time
	log  *slog.Logger
	csrf csrfGuard
}

// New validates o and returns a Manager.
func New(o Options) (*Manager, error) {
	if o.Store != nil && o.Stateless != nil {
		return nil, errs.Configf("session: set Store or Stateless, not both")
	}
	m := &Manager{store: o.Store, stateless: o.Stateless, now: o.Now, log: o.Logger, persistent: o.Persistent}
	if m.now == nil {
		m.now = time.Now
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	var err error
	if m.timing, err = newTiming(o); err != nil {
		return nil, err
	}
	if o.Stateless == nil {
		if m.codecs, err = idCodecs(o.HashKeys, m.absolute); err != nil {
			return nil, err
		}
		if m.store == nil {
			m.store = NewMemoryStore(MemoryOptions{Now: m.now})
		}
	}
	if err := m.cookieSettings(o); err != nil {
		return nil, err
	}
	if err := m.csrf.init(o.CSRF); err != nil {
		return nil, err
	}
	return m, nil
}

// newTiming validates the timeouts of o and fills in their defaults.
func newTiming(o Options) (timing, error) {
	t := timing{idle: o.IdleTimeout, absolute: o.AbsoluteTimeout, touch: o.TouchInterval, inCookie: o.Stateless != nil}
	if t.idle == 0 {
		t.idle = DefaultIdleTimeout
	}
	if t.absolute == 0 {
		t.absolute = DefaultAbsoluteTimeout
	}
	if t.idle < time.Second || t.absolute < time.Second {
		return t, errs.Configf("session: IdleTimeout and AbsoluteTimeout must be at least a second")
	}
	t.idle = min(t.idle, t.absolute)
	if t.touch == 0 {
		t.touch = min(t.idle/10, time.Minute)
	}
	if t.touch < 0 || t.touch >= t.idle {
		return t, errs.Configf("session: TouchInterval must be positive and below IdleTimeout")
	}
	switch {
	case o.RenewGrace == 0:
		t.grace = DefaultRenewGrace
	case o.RenewGrace < 0:
		t.grace = 0
	case o.RenewGrace > MaxRenewGrace:
		return t, errs.Configf("session: RenewGrace %v exceeds %v", o.RenewGrace, MaxRenewGrace)
	default:
		t.grace = o.RenewGrace
	}
	return t, nil
}

// idCodecs returns the codecs that sign and verify the ID cookie, one per
// key, the first signing.
func idCodecs(keys [][]byte, absolute time.Duration) ([]*securecookie.SecureCookie, error) {
	if len(keys) == 0 {
		return nil, errs.Configf("session: HashKeys is required (at least one key of 32 bytes or more)")
	}
	codecs := make([]*securecookie.SecureCookie, 0, len(keys))
	for i, k := range keys {
		if len(k) < 32 {
			return nil, errs.Configf("session: HashKeys[%d] is %d bytes; use at least 32 random bytes", i, len(k))
		}
		sc := securecookie.New(k, nil)
		sc.SetSerializer(securecookie.NopEncoder{})
		sc.MaxAge(int(absolute/time.Second) + 60)
		sc.MaxLength(maxCookieValue)
		codecs = append(codecs, sc)
	}
	return codecs, nil
}

// cookieSettings validates the cookie options of o and precomputes the
// Set-Cookie attributes.
func (m *Manager) cookieSettings(o Options) error {
	name, err := cookieName(o)
	if err != nil {
		return err
	}
	secure := !o.InsecureCookie
	same, err := sameSite(o.SameSite, secure)
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("; Path=/")
	if o.Domain != "" {
		b.WriteString("; Domain=")
		b.WriteString(o.Domain)
	}
	b.WriteString("; HttpOnly")
	if secure {
		b.WriteString("; Secure")
	}
	b.WriteString("; SameSite=")
	b.WriteString(same)
	m.name = name
	m.setSuffix = b.String()
	m.expireCookie = name + "=; Max-Age=0" + m.setSuffix
	if o.InsecureCookie {
		m.log.Warn("session: InsecureCookie is set: the session cookie is sent over plain HTTP without the Secure attribute; never use this in production",
			slog.String("cookie", name))
	}
	return nil
}

// cookieName returns the cookie's name, refusing one whose prefix rules
// the other options break.
func cookieName(o Options) (string, error) {
	name := o.CookieName
	switch {
	case name != "":
	case o.InsecureCookie:
		name = "session"
	case o.Domain != "":
		name = "__Secure-session"
	default:
		name = DefaultCookieName
	}
	if !validCookieName(name) {
		return "", errs.Configf("session: CookieName %q is not a valid cookie name", name)
	}
	// Browsers match the prefixes ignoring case ("__HOST-sid" is a
	// __Host- cookie) and silently drop a cookie that breaks its rules, so
	// such a configuration is refused here rather than losing every login.
	secure := !o.InsecureCookie
	if hasPrefixFold(name, "__Host-") && (!secure || o.Domain != "") {
		return "", errs.Configf("session: a __Host- cookie (%q) needs Secure and no Domain", name)
	}
	if hasPrefixFold(name, "__Secure-") && !secure {
		return "", errs.Configf("session: a __Secure- cookie (%q) needs Secure", name)
	}
	if o.Domain != "" && !validDomain(o.Domain) {
		return "", errs.Configf("session: Domain %q is not a valid cookie domain", o.Domain)
	}
	return name, nil
}

// sameSite returns the SameSite attribute's value for mode.
func sameSite(mode http.SameSite, secure bool) (string, error) {
	switch mode {
	case 0, http.SameSiteDefaultMode, http.SameSiteLaxMode:
		return "Lax", nil
	case http.SameSiteStrictMode:
		return "Strict", nil
	case http.SameSiteNoneMode:
		if !secure {
			return "", errs.Configf("session: SameSite=None needs a Secure cookie")
		}
		return "None", nil
	}
	return "", errs.Configf("session: unknown SameSite mode %d", mode)
}

func validCookieName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

func validDomain(s string) bool {
	if len(s) > 253 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// CookieName returns the name of the session cookie.
func (m *Manager) CookieName() string { return m.name }

// Handler is the session stage. It checks CSRF on unsafe methods (see
// CSRFOptions), attaches a lazily loaded Session to the request (read it
// with From), and saves a changed session just before the response headers
// go out. A request that never touches its session costs no store access.
//
// If saving fails, the handler's response is replaced by a 500 (503 when
// the store is unreachable) problem+json. A change made after the headers
// went out is refused and logged as an error; when the request's errs
// Renderer (errs.RendererFrom) is in Development mode the response is held
// back until the handler returns so that such a change turns it into a 500.
func (m *Manager) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := &Session{m: m, r: r, ctx: r.Context()}
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, s))
		if err := m.csrf.check(r, s); err != nil {
			errs.Write(w, r, err)
			return
		}
		rw := newResponseWriter(w, s, r, errs.RendererFrom(r.Context()).Mode() == errs.Development)
		next.ServeHTTP(&rw.out, r)
		rw.finish()
	})
}

// load reads the session from the cookie and the store. The caller holds
// s.mu.
func (m *Manager) load(s *Session) {
	s.state, s.isNew = stateAbsent, true
	vals, n := cookieValues(s.r, m.name)
	if n == 0 {
		return
	}
	if m.stateless != nil {
		m.loadStateless(s, m.firstOpening(vals[:n]))
		return
	}
	var id []byte
	verified := false
	for _, v := range vals[:n] {
		if verified = m.decodeID(v, &id); verified {
			break
		}
	}
	if !verified {
		s.state = stateRejected
		return
	}
	key := keyOf(id)
	rec, err := m.store.Load(s.ctx, key)
	if errors.Is(err, ErrNotFound) {
		s.state = stateRejected
		return
	}
	if err != nil {
		s.err = storeUnavailable(err)
		return
	}
	if m.expired(&rec, m.now()) {
		_ = m.store.Delete(s.ctx, key)
		s.state = stateRejected
		return
	}
	s.state, s.isNew, s.key, s.rec = stateLive, false, key, rec
	if !rec.GraceUntil.IsZero() {
		s.state = stateRetired
	}
}

// firstOpening returns the first of vals that the CookieStore opens, or
// vals[0] when none does.
func (m *Manager) firstOpening(vals []string) string {
	if len(vals) > 1 {
		for _, v := range vals {
			if _, err := m.stateless.open(m.name, v); err == nil {
				return v
			}
		}
	}
	return vals[0]
}

// verifies reports whether v is a cookie value this Manager issued: its
// signature checks out, or, stateless, it opens.
func (m *Manager) verifies(v string) bool {
	if m.stateless != nil {
		_, err := m.stateless.open(m.name, v)
		return err == nil
	}
	var id []byte
	return m.decodeID(v, &id)
}

// mayExpireCookie reports whether the response may expire the session
// cookie of a request whose session was rejected. The expiry reaches the
// cookie this host set, which need not be the one the session was read
// from when a sibling domain planted others of the same name; so it is
// sent only when no more than one of the request's cookies verifies, and
// cannot remove a valid cookie the request did not use.
func (m *Manager) mayExpireCookie(r *http.Request) bool {
	vals, n := cookieValues(r, m.name)
	if n < 2 {
		return true
	}
	valid := 0
	for _, v := range vals[:n] {
		if m.verifies(v) {
			valid++
		}
	}
	return valid < 2
}

// decodeID verifies a signed cookie and returns the session ID in it.
// Verified cookies are remembered (see verifiedCookies), so a session's
// repeat requests skip the HMAC; the store still decides whether the ID is
// alive.
func (m *Manager) decodeID(v string, id *[]byte) bool {
	if known, ok := m.verified.get(v); ok {
		*id = known[:]
		return true
	}
	for _, c := range m.codecs {
		if c.Decode(m.name, v, id) == nil && len(*id) == idLen {
			m.verified.put(v, [idLen]byte(*id))
			return true
		}
	}
	return false
}

// verifiedCookiesMax bounds the cache of verified cookie values; when it is
// full it starts over.
const verifiedCookiesMax = 8192

// verifiedCookies remembers cookie values whose signature checked out, and
// the ID each carries. It holds only what securecookie verified, so a hit
// is exactly as trustworthy as a fresh verification of the same bytes.
type verifiedCookies struct {
	mu sync.RWMutex
	m  map[string][idLen]byte
}

func (c *verifiedCookies) get(v string) ([idLen]byte, bool) {
	c.mu.RLock()
	id, ok := c.m[v]
	c.mu.RUnlock()
	return id, ok
}

func (c *verifiedCookies) put(v string, id [idLen]byte) {
	c.mu.Lock()
	if c.m == nil || len(c.m) >= verifiedCookiesMax {
		c.m = make(map[string][idLen]byte, 64)
	}
	c.m[strings.Clone(v)] = id
	c.mu.Unlock()
}

func newID() []byte {
	id := make([]byte, idLen)
	_, _ = rand.Read(id) // crypto/rand.Read never fails (Go 1.24+)
	return id
}

// commit saves the session if it changed and sets the cookie headers. It
// runs once, before the response headers go out: decide says what to do,
// and commit carries it out.
func (m *Manager) commit(s *Session, h http.Header) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.committed {
		return nil
	}
	s.committed = true
	if s.state == stateUnread {
		return nil
	}
	now := m.now()
	p := m.decide(s.facts(), now)
	switch p.refuse {
	case refuseCSRF:
		return s.csrfErr
	case refuseLoad:
		return s.err
	}
	// A slice of this response's own: a stage or handler may edit its
	// Vary in place.
	h.Add("Vary", "Cookie")
	var err error
	if m.stateless != nil {
		err = m.commitStateless(s, p, h, now)
	} else {
		err = m.commitStored(s, p, h, now)
	}
	if err == nil && p.expireCookie && (s.state != stateRejected || m.mayExpireCookie(s.r)) {
		h.Add("Set-Cookie", m.expireCookie)
	}
	return err
}

// facts describes s for decide. The caller holds s.mu.
func (s *Session) facts() commitFacts {
	return commitFacts{
		state:      s.state,
		lastSeen:   s.rec.LastSeen,
		ended:      s.ended,
		loadFailed: s.err != nil,
		csrfFailed: s.csrfErr != nil,
	}
}

// commitStored carries out p for a session kept in the store.
func (m *Manager) commitStored(s *Session, p plan, h http.Header, now time.Time) error {
	if p.deleteEnded {
		ended, err := m.end(s.ctx, s.endedKey)
		if err != nil {
			return storeErr(err)
		}
		if !ended {
			// Another request renewed the session after this one loaded
			// it: the ID this request holds cannot reach the session the
			// renewal created, so the logout is refused, changing nothing.
			return ErrRenewedElsewhere
		}
		if rd := errs.RendererFrom(s.ctx); rd.AuditEnabled() {
			rd.Audit(s.ctx, "session.destroyed", slog.String("session", s.endedKey.String()))
		}
	}
	if p.dropChanges {
		m.log.LogAttrs(s.ctx, slog.LevelWarn, "session: change to a renewed session's old ID dropped (request raced the renewal)")
	}
	switch p.write {
	case writeTouch:
		s.rec.LastSeen = now
		return storeErr(m.store.Touch(s.ctx, s.key, now, m.ttl(&s.rec, now)))
	case writeReplace, writeRotate, writeCreate:
		return m.save(s, p, h, now)
	}
	return nil
}

// end deletes the record Destroy ended, reporting false when a renewal
// retired it during the request (see Ender).
func (m *Manager) end(ctx context.Context, key Key) (bool, error) {
	if e, ok := m.store.(Ender); ok {
		return e.End(ctx, key)
	}
	rec, err := m.store.Load(ctx, key)
	switch {
	case errors.Is(err, ErrNotFound):
		return true, nil
	case err != nil:
		return false, err
	case !rec.GraceUntil.IsZero():
		return false, nil
	}
	return true, m.store.Delete(ctx, key)
}

// save writes the session's changes: under its own key, or under a new
// key whose cookie it sets.
func (m *Manager) save(s *Session, p plan, h http.Header, now time.Time) error {
	rec, err := s.merged()
	if err != nil {
		return err
	}
	if p.write == writeCreate {
		rec.Created, rec.Expires = now, p.expires
	}
	rec.LastSeen = now
	rec.GraceUntil = time.Time{}
	key := s.key
	var id []byte
	if p.setCookie {
		id = newID()
		key = keyOf(id)
	}
	if p.write != writeCreate {
		// The session was loaded before this write: if it has been
		// destroyed since (Destroy, DestroyUser), it must stay so.
		alive, err := m.replaceOrRetire(s, p, key, rec, now)
		if err != nil {
			return storeErr(err)
		}
		if !alive {
			m.log.LogAttrs(s.ctx, slog.LevelWarn, "session: change to a session destroyed during the request dropped")
			s.state, s.rec = stateDestroyed, Record{}
			h.Add("Set-Cookie", m.expireCookie)
			return nil
		}
	}
	if p.setCookie {
		if err := m.store.Save(s.ctx, key, rec, m.ttl(&rec, now)); err != nil {
			return storeErr(err)
		}
		if rd := errs.RendererFrom(s.ctx); p.write == writeRotate && rd.AuditEnabled() {
			rd.Audit(s.ctx, "session.renewed", slog.String("user_id", rec.UserID), slog.String("session", key.String()))
		}
		value, err := m.codecs[0].Encode(m.name, id)
		if err != nil {
			return errs.Wrap(err, errs.KindInternal, "session_cookie_failed", "")
		}
		m.setCookie(h, value, &rec, now)
	}
	s.saved(key, rec)
	return nil
}

// saved records a successful save: the session is live under key. The
// caller holds s.mu.
func (s *Session) saved(key Key, rec Record) {
	s.key, s.rec, s.state, s.isNew = key, rec, stateLive, false
}

// replaceOrRetire writes an existing session back, reporting false when it
// was destroyed during the request. With writeReplace, rec replaces the
// record under the session's key. With writeRotate, the old record is
// retired (deleted, or kept read-only until p.retireUntil) and the caller
// saves rec under the new key. With a store that is not a Replacer, the
// session is taken to be alive. When another request renewed the session
// meanwhile, a Replacer that can tell answers ErrRenewedElsewhere, which
// fails the commit and leaves the store as it is.
func (m *Manager) replaceOrRetire(s *Session, p plan, key Key, rec Record, now time.Time) (bool, error) {
	r, conditional := m.store.(Replacer)
	if p.write == writeReplace {
		if !conditional {
			return true, m.store.Save(s.ctx, key, rec, m.ttl(&rec, now))
		}
		return r.Replace(s.ctx, key, rec, m.ttl(&rec, now))
	}
	old := s.rec
	old.GraceUntil = p.retireUntil
	if old.GraceUntil.IsZero() {
		// Deleted below; marked retired meanwhile so that a request
		// racing this one cannot write it back.
		old.GraceUntil = now.Add(time.Millisecond)
	}
	if conditional {
		alive, err := r.Replace(s.ctx, s.key, old, m.ttl(&old, now))
		if err != nil || !alive {
			return alive, err
		}
	}
	if p.retireUntil.IsZero() {
		return true, m.store.Delete(s.ctx, s.key)
	}
	if conditional {
		return true, nil
	}
	return true, m.store.Save(s.ctx, s.key, old, m.ttl(&old, now))
}

// ErrStoreUnavailable is the error (503, code "session_store_unavailable",
// with Retry-After: 1) that a session whose store failed reports through
// Session.Err and that answers a request whose session could not be saved.
var ErrStoreUnavailable = errs.New(errs.KindServiceUnavailable, "session_store_unavailable", "The session store is unavailable.").
	WithHeader("Retry-After", "1")

// storeUnavailable wraps a store failure in ErrStoreUnavailable.
func storeUnavailable(err error) error { return ErrStoreUnavailable.WithCause(err) }

func storeErr(err error) error {
	if err == nil {
		return nil
	}
	var e *errs.Error
	if errors.As(err, &e) {
		return err
	}
	return storeUnavailable(err)
}

func (m *Manager) setCookie(h http.Header, value string, rec *Record, now time.Time) {
	n := len(m.name) + 1 + len(value) + len(m.setSuffix)
	if m.persistent {
		n += 24
	}
	b := make([]byte, 0, n)
	b = append(b, m.name...)
	b = append(b, '=')
	b = append(b, value...)
	b = append(b, m.setSuffix...)
	if m.persistent {
		b = append(b, "; Max-Age="...)
		b = strconv.AppendInt(b, int64(max(rec.Expires.Sub(now)/time.Second, 1)), 10)
	}
	h.Add("Set-Cookie", string(b))
}

// merged returns the record to save: the loaded one with this request's
// changes applied and encoded. The caller holds s.mu.
func (s *Session) merged() (Record, error) {
	rec := s.rec
	if s.userChanged {
		rec.UserID = s.user
	}
	n := len(s.changes)
	if !s.cleared {
		n += len(rec.Values)
	}
	vals := make(mapRaw, n)
	if !s.cleared {
		for k, v := range rec.Values {
			vals[k] = v
		}
	}
	for k, v := range s.changes {
		if _, del := v.(tombstone); del {
			delete(vals, k)
			continue
		}
		raw, err := encodeValue(v)
		if err != nil {
			return Record{}, errs.Wrap(err, errs.KindSerialization, "session_value_unencodable", "").With("key", k)
		}
		vals[k] = raw
	}
	if len(vals) == 0 {
		vals = nil
	}
	rec.Values = vals
	return rec, nil
}
