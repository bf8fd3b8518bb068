package session

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/observe"
)

// ReservedPrefix starts the keys this package keeps in a session for itself
// (flash messages, the CSRF secret). Keys hides them.
const ReservedPrefix = "_covet."

const (
	flashKey = ReservedPrefix + "flash"
	csrfKey  = ReservedPrefix + "csrf"
)

// ErrNoSession is returned by the request-level helpers when the request did
// not pass through Manager.Handler.
var ErrNoSession = errs.New(errs.KindInternal, "session_missing", "session: the request has no session; mount Manager.Handler")

// Session is one request's view of a session. It loads lazily: nothing is
// read from the cookie or the store until a method needs the data. Changes
// are kept in the Session and saved by the middleware just before the
// response headers go out; after that, changes are refused (and logged).
//
// A Session is safe for concurrent use by the goroutines of one request.
// Across requests the rule is "last writer wins per session": each request
// works on the snapshot it loaded and a save replaces the stored record as
// a whole, so two concurrent requests never corrupt a session, but the
// later save drops the keys the earlier one changed. Touches (refreshing
// the idle timer) never overwrite values.
type Session struct {
	m   *Manager
	r   *http.Request
	ctx context.Context

	mu          sync.Mutex
	state       state
	err         error // the store failed at load
	isNew       bool
	key         Key
	rec         Record
	changes     map[string]any
	cleared     bool
	userChanged bool
	user        string
	endedKey    Key  // the record Destroy ended, deleted at commit
	ended       bool // endedKey is set
	committed   bool
	violations  int
	csrfErr     error // set when a cookie-less request failed the CSRF checks
}

type tombstone struct{}

type ctxKey struct{}

// From returns the request's session, or nil when the request did not pass
// through Manager.Handler. The methods of a nil *Session are safe: reads
// find nothing, writes are dropped, Renew and Destroy return ErrNoSession.
func From(r *http.Request) *Session { return FromContext(r.Context()) }

// FromContext returns the session stored in ctx by Manager.Handler, or nil.
func FromContext(ctx context.Context) *Session {
	s, _ := ctx.Value(ctxKey{}).(*Session)
	return s
}

// Renew gives the request's session a new ID (see Session.Renew).
func Renew(r *http.Request) error {
	s := From(r)
	if s == nil {
		return ErrNoSession
	}
	return s.Renew()
}

// Destroy ends the request's session (see Session.Destroy).
func Destroy(r *http.Request) error {
	s := From(r)
	if s == nil {
		return ErrNoSession
	}
	return s.Destroy()
}

// ensure loads the session; the caller holds s.mu.
func (s *Session) ensure() {
	if s.state == stateUnread {
		s.m.load(s)
	}
}

// Err returns the error that kept the session from loading (the store was
// unreachable), or nil. A session that failed to load acts empty and
// refuses to save, so an outage never overwrites stored data.
func (s *Session) Err() error {
	if s == nil {
		return ErrNoSession
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ensure()
	return s.err
}

// IsNew reports whether the request came without a valid, live session (no
// cookie, a tampered or unknown one, or an expired session).
func (s *Session) IsNew() bool {
	if s == nil {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ensure()
	return s.isNew
}

// lookup returns the current value of key: a Go value set in this request,
// a json.RawMessage from the store, or ok false.
func (s *Session) lookup(key string) (any, bool) {
	s.ensure()
	if v, ok := s.changes[key]; ok {
		if _, del := v.(tombstone); del {
			return nil, false
		}
		return v, true
	}
	if s.cleared {
		return nil, false
	}
	raw, ok := s.rec.Values[key]
	if !ok {
		return nil, false
	}
	return raw, true
}

// Get returns the value under key as a T. Values set in this request come
// back as set; values from the store are decoded from JSON into T. ok is
// false when the key is missing or its value does not fit T.
func Get[T any](s *Session, key string) (v T, ok bool) {
	if s == nil {
		return v, false
	}
	s.mu.Lock()
	cur, found := s.lookup(key)
	s.mu.Unlock()
	if !found {
		return v, false
	}
	return convert[T](cur)
}

// Pop returns the value under key as a T and deletes the key.
func Pop[T any](s *Session, key string) (v T, ok bool) {
	if s == nil {
		return v, false
	}
	s.mu.Lock()
	cur, found := s.lookup(key)
	if found {
		s.setLocked(key, tombstone{}, "pop")
	}
	s.mu.Unlock()
	if !found {
		return v, false
	}
	return convert[T](cur)
}

func convert[T any](cur any) (v T, ok bool) {
	raw, isRaw := cur.(json.RawMessage)
	if isRaw {
		switch p := any(&v).(type) {
		case *json.RawMessage:
			*p = raw
			return v, true
		case *string:
			if str, plain := plainJSONString(raw); plain {
				*p = str
				return v, true
			}
		}
	} else {
		if t, is := cur.(T); is {
			return t, true
		}
		b, err := json.Marshal(cur)
		if err != nil {
			return v, false
		}
		raw = b
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		var zero T
		return zero, false
	}
	return v, true
}

// plainJSONString decodes a JSON string without escapes, the common case,
// without the reflection of json.Unmarshal.
func plainJSONString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	body := raw[1 : len(raw)-1]
	for _, c := range body {
		if c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			return "", false
		}
	}
	return string(body), true
}

// Has reports whether key is set.
func (s *Session) Has(key string) bool {
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.lookup(key)
	return ok
}

// Set stores v under key. v must encode as JSON (stores keep JSON); a value
// that does not makes the save fail with a 500. Treat v as immutable once
// set. Set after the response headers were sent is refused and logged.
func (s *Session) Set(key string, v any) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ensure()
	s.setLocked(key, v, "set")
}

// Delete removes key.
func (s *Session) Delete(key string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.lookup(key); !ok {
		return
	}
	s.setLocked(key, tombstone{}, "delete")
}

// Clear removes every value, keeping the session (and its user) alive.
func (s *Session) Clear() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ensure()
	if s.refused("clear", "") {
		return
	}
	s.cleared = true
	s.changes = nil
	s.state = s.state.changed()
}

// Keys returns the keys set in the session, sorted, without reserved keys.
func (s *Session) Keys() []string {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ensure()
	var out []string
	if !s.cleared {
		for k := range s.rec.Values {
			if _, changed := s.changes[k]; !changed {
				out = append(out, k)
			}
		}
	}
	for k, v := range s.changes {
		if _, del := v.(tombstone); !del {
			out = append(out, k)
		}
	}
	out = slices.DeleteFunc(out, func(k string) bool { return strings.HasPrefix(k, ReservedPrefix) })
	slices.Sort(out)
	return out
}

func (s *Session) setLocked(key string, v any, op string) {
	if s.refused(op, key) {
		return
	}
	if s.changes == nil {
		s.changes = make(map[string]any, 4)
	}
	s.changes[key] = v
	s.state = s.state.changed()
}

// refused reports (and logs) a change made after the session was saved.
func (s *Session) refused(op, key string) bool {
	if !s.committed {
		return false
	}
	s.violations++
	s.m.log.LogAttrs(s.ctx, slog.LevelError, "session changed after the response headers were sent; change refused",
		slog.String("op", op), slog.String("key", key), slog.String("caller", callerOutside()),
		slog.String("request_id", observe.RequestIDFrom(s.ctx)))
	return true
}

// UserID returns the user the session belongs to, or "".
func (s *Session) UserID() string {
	if s == nil {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ensure()
	if s.userChanged {
		return s.user
	}
	return s.rec.UserID
}

// SetUserID binds the session to a user, which indexes it for
// Manager.UserSessions and Manager.DestroyUser. Call Renew in the same
// request: logging in is a privilege change.
func (s *Session) SetUserID(userID string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ensure()
	if s.refused("set_user", "") {
		return
	}
	s.user = userID
	s.userChanged = true
	s.state = s.state.changed()
}

// Renew gives the session a new random ID, keeping its values, user and
// absolute deadline (renewal never extends a session's lifetime). The old
// ID stops working: its record is deleted, or, with a renewal grace window,
// kept read-only for requests already in flight and then dead. The CSRF
// secret is replaced too. Call it on login and on every privilege change.
func (s *Session) Renew() error {
	if s == nil {
		return ErrNoSession
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ensure()
	if s.err != nil {
		return s.err
	}
	if s.refused("renew", "") {
		return errChangedAfterHeaders
	}
	if s.state.retired() {
		// This is the ID a renewal left behind for requests in flight;
		// renewing it would fork a live session from a retired ID.
		return ErrRenewedElsewhere
	}
	if s.changes == nil {
		s.changes = make(map[string]any, 2)
	}
	s.changes[csrfKey] = tombstone{}
	s.state = s.state.renewed()
	return nil
}

// Destroy ends the session: its record is deleted from the store and the
// cookie expired when the response goes out. Values set afterwards start a
// new session with a new ID. A request that still holds the ID a renewal
// left behind gets ErrRenewedElsewhere and nothing changes: that ID cannot
// reach the session the renewal created, so ending it would report a
// logout while the session stays live. For the same reason, when another
// request renews the session after this one loaded it, the response is
// ErrRenewedElsewhere (409) instead of the handler's, and nothing changes
// (see Ender), as long as the store still keeps the ID the renewal left
// behind: for Options.RenewGrace after the renewal. With a negative
// RenewGrace, or a request that commits after that window, the old ID is
// gone, the Destroy succeeds on it, and the renewed session lives on.
func (s *Session) Destroy() error {
	if s == nil {
		return ErrNoSession
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ensure()
	if s.refused("destroy", "") {
		return errChangedAfterHeaders
	}
	if s.state.retired() {
		return ErrRenewedElsewhere
	}
	if s.state.stored() {
		s.endedKey, s.ended = s.key, true
	}
	s.state = stateDestroyed
	s.rec = Record{}
	s.changes = nil
	s.cleared = false
	s.userChanged = false
	return nil
}

// ErrRenewedElsewhere is what Renew and Destroy return for a request that
// still holds the ID another request's renewal retired (409, code
// "session_renewed"), and what answers a request whose logout, change or
// renewal raced another request's renewal (see Replacer and Ender): the
// client should retry with the new cookie it has been sent.
var ErrRenewedElsewhere = errs.New(errs.KindConflict, "session_renewed", "The session was renewed by another request; retry with the new session cookie.")

var errChangedAfterHeaders = errs.New(errs.KindInternal, "session_changed_after_headers",
	"session: the session was changed after the response headers were sent")

// Handle returns an opaque, stable handle of the stored session (the hex
// of its store key), as listed by Manager.UserSessions, or "" before the
// session is first saved. It is safe to show: it cannot be used as a
// session ID.
func (s *Session) Handle() string {
	if s == nil {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ensure()
	if !s.state.stored() || s.m.stateless != nil {
		return ""
	}
	return s.key.String()
}

// Expires returns the session's absolute deadline (zero for a session not
// yet saved).
func (s *Session) Expires() time.Time {
	if s == nil {
		return time.Time{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ensure()
	return s.rec.Expires
}

// Flash is a one-time message shown on the next page.
type Flash struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// AddFlash queues a flash message for a later request.
func (s *Session) AddFlash(kind, message string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, _ := s.lookup(flashKey)
	var list []Flash
	if cur != nil {
		list, _ = convert[[]Flash](cur)
	}
	s.setLocked(flashKey, append(slices.Clip(list), Flash{Kind: kind, Message: message}), "add_flash")
}

// Flashes returns the queued flash messages and removes them.
func (s *Session) Flashes() []Flash {
	list, _ := Pop[[]Flash](s, flashKey)
	return list
}

// callerOutside names the first caller outside this package, for logs.
func callerOutside() string {
	var pcs [16]uintptr
	n := runtime.Callers(3, pcs[:])
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		if f.Function != "" && (!strings.HasPrefix(f.Function, pkgPrefix) || strings.HasSuffix(f.File, "_test.go")) {
			return f.Function + ":" + strconv.Itoa(f.Line)
		}
		if !more {
			return ""
		}
	}
}

const pkgPrefix = "github.com/covetgo/covet/session."
