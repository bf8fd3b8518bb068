// Package sessiontest checks that a session.Store behaves as the session
// package expects: records round-trip whole, touches never undo values,
// user indexes list and delete (a login racing log-out-everywhere is never
// left out of its user's index), and the Manager's security properties
// (no fixation, renewal, idle and absolute expiry, log-out-everywhere)
// hold on top of it. A store that is a session.Replacer must also refuse
// to write over a retired record (session.ErrRenewedElsewhere), so that a
// request racing a renewal cannot bring the old ID back to life. The tests run in parallel, each on a fresh store from
// the factory. Run it from a store's tests:
//
//	func TestMyStore(t *testing.T) {
//		sessiontest.Run(t, func(t *testing.T, now func() time.Time) session.Store {
//			return newMyStore(t, now)
//		})
//	}
package sessiontest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/covetgo/covet/session"
	"github.com/gorilla/securecookie"
)

// Factory returns a fresh, empty store whose clock (if it has one) is now.
// It registers its own cleanup with t.
type Factory func(t *testing.T, now func() time.Time) session.Store

// Clock is a settable clock.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock at the current time, truncated to milliseconds
// (the resolution stores keep).
func NewClock() *Clock { return &Clock{t: time.Now().Truncate(time.Millisecond)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Run runs the store conformance tests and the Manager flow tests. The
// tests run in parallel with each other, each on a store of its own: newStore
// is called from several goroutines at once, and the stores it returns must
// not share records (give each its own key prefix or table).
func Run(t *testing.T, newStore Factory) {
	tests := []struct {
		name string
		run  func(*testing.T, Factory)
	}{
		{"RoundTrip", testRoundTrip},
		{"TouchKeepsValues", testTouch},
		{"UserIndex", testUserIndex},
		{"Fixation", testFixation},
		{"Renew", testRenew},
		{"Expiry", testExpiry},
		{"LogoutEverywhere", testLogoutEverywhere},
		{"Destroy", testDestroy},
		{"Concurrent", testConcurrent},
		{"DestroyedDuringRequest", testDestroyedDuringRequest},
		{"EndKeepsRetired", testEnd},
		{"ReplaceKeepsRetired", testReplaceRetired},
		{"ChangeRacingRenewal", testChangeRacingRenewal},
		{"LoginDuringLogoutEverywhere", testLoginDuringLogoutEverywhere},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, newStore)
		})
	}
}

func randomKey(t *testing.T) session.Key {
	var k session.Key
	if _, err := rand.Read(k[:]); err != nil {
		t.Fatal(err)
	}
	return k
}

func record(now time.Time, user string, vals map[string]string) session.Record {
	r := session.Record{UserID: user, Created: now, Expires: now.Add(time.Hour), LastSeen: now}
	if len(vals) > 0 {
		r.Values = make(map[string]json.RawMessage, len(vals))
		for k, v := range vals {
			b, _ := json.Marshal(v)
			r.Values[k] = b
		}
	}
	return r
}

func testRoundTrip(t *testing.T, newStore Factory) {
	ctx := context.Background()
	clk := NewClock()
	st := newStore(t, clk.Now)
	k := randomKey(t)
	if _, err := st.Load(ctx, k); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Load of a missing key: err = %v, want ErrNotFound", err)
	}
	want := record(clk.Now(), "u1", map[string]string{"a": "1", "b": "two"})
	if err := st.Save(ctx, k, want, time.Hour); err != nil {
		t.Fatalf("Save: %v", err)
	}
	got, err := st.Load(ctx, k)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	sameRecord(t, got, want)

	// A save replaces the record as a whole.
	repl := record(clk.Now(), "u1", map[string]string{"c": "3"})
	if err := st.Save(ctx, k, repl, time.Hour); err != nil {
		t.Fatalf("Save: %v", err)
	}
	got, _ = st.Load(ctx, k)
	sameRecord(t, got, repl)

	if err := st.Delete(ctx, k); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := st.Load(ctx, k); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Load after Delete: err = %v, want ErrNotFound", err)
	}
	if err := st.Delete(ctx, k); err != nil {
		t.Fatalf("Delete of a missing key: %v", err)
	}
	if err := st.Touch(ctx, k, clk.Now(), time.Hour); err != nil {
		t.Fatalf("Touch of a missing key: %v", err)
	}
	if _, err := st.Load(ctx, k); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Touch resurrected a deleted key: err = %v", err)
	}
}

func sameRecord(t *testing.T, got, want session.Record) {
	t.Helper()
	if got.UserID != want.UserID || !got.Created.Equal(want.Created) || !got.Expires.Equal(want.Expires) ||
		!got.LastSeen.Equal(want.LastSeen) || len(got.Values) != len(want.Values) {
		t.Fatalf("record = %+v, want %+v", got, want)
	}
	for k, v := range want.Values {
		if !bytes.Equal(got.Values[k], v) {
			t.Fatalf("value %q = %s, want %s", k, got.Values[k], v)
		}
	}
}

func testTouch(t *testing.T, newStore Factory) {
	ctx := context.Background()
	clk := NewClock()
	st := newStore(t, clk.Now)
	k := randomKey(t)
	rec := record(clk.Now(), "", map[string]string{"a": "1"})
	if err := st.Save(ctx, k, rec, time.Hour); err != nil {
		t.Fatal(err)
	}
	later := clk.Now().Add(time.Minute)
	if err := st.Touch(ctx, k, later, time.Hour); err != nil {
		t.Fatalf("Touch: %v", err)
	}
	got, err := st.Load(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	if !got.LastSeen.Equal(later) {
		t.Fatalf("LastSeen = %v, want %v", got.LastSeen, later)
	}
	if string(got.Values["a"]) != `"1"` {
		t.Fatalf("Touch changed the values: %s", got.Values["a"])
	}
}

func testUserIndex(t *testing.T, newStore Factory) {
	ctx := context.Background()
	clk := NewClock()
	st := newStore(t, clk.Now)
	a1, a2, b1 := randomKey(t), randomKey(t), randomKey(t)
	for _, s := range []struct {
		k    session.Key
		user string
	}{{a1, "alice"}, {a2, "alice"}, {b1, "bob"}} {
		if err := st.Save(ctx, s.k, record(clk.Now(), s.user, nil), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	list, err := st.UserSessions(ctx, "alice")
	if err != nil {
		t.Fatalf("UserSessions: %v", err)
	}
	if len(list) != 2 {
		t.Fatalf("alice has %d sessions listed, want 2", len(list))
	}
	_ = st.Delete(ctx, a2)
	list, _ = st.UserSessions(ctx, "alice")
	if len(list) != 1 || list[0].Key != a1 {
		t.Fatalf("after deleting one, alice lists %v", list)
	}
	n, err := st.DeleteUser(ctx, "alice")
	if err != nil || n != 1 {
		t.Fatalf("DeleteUser = %d, %v; want 1", n, err)
	}
	if _, err := st.Load(ctx, a1); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("alice's session survived DeleteUser")
	}
	if _, err := st.Load(ctx, b1); err != nil {
		t.Fatalf("bob's session was removed by DeleteUser(alice): %v", err)
	}
	if list, _ := st.UserSessions(ctx, "nobody"); len(list) != 0 {
		t.Fatalf("unknown user lists %v", list)
	}
}

// browser carries the session cookie between requests.
type browser struct {
	t      *testing.T
	h      http.Handler
	name   string
	cookie string
}

func (b *browser) get(path string) *httptest.ResponseRecorder {
	b.t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if b.cookie != "" {
		req.Header.Set("Cookie", b.name+"="+b.cookie)
	}
	rec := httptest.NewRecorder()
	b.h.ServeHTTP(rec, req)
	for _, c := range (&http.Response{Header: rec.Header()}).Cookies() {
		if c.Name == b.name {
			b.cookie = c.Value
			if c.MaxAge < 0 {
				b.cookie = ""
			}
		}
	}
	return rec
}

var hashKey = bytes.Repeat([]byte{7}, 32)

func manager(t *testing.T, st session.Store, clk *Clock, grace time.Duration) *session.Manager {
	t.Helper()
	m, err := session.New(session.Options{
		Store: st, HashKeys: [][]byte{hashKey}, Now: clk.Now,
		IdleTimeout: 30 * time.Minute, AbsoluteTimeout: 2 * time.Hour, TouchInterval: time.Minute,
		RenewGrace: grace,
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func appHandler(w http.ResponseWriter, r *http.Request) {
	s := session.From(r)
	q := r.URL.Query()
	switch r.URL.Path {
	case "/set":
		s.Set(q.Get("k"), q.Get("v"))
	case "/get":
		v, _ := session.Get[string](s, q.Get("k"))
		_, _ = w.Write([]byte(v))
	case "/login":
		_ = s.Renew()
		s.SetUserID(q.Get("u"))
	case "/logout":
		_ = s.Destroy()
	case "/whoami":
		_, _ = w.Write([]byte(s.UserID()))
	case "/handle":
		_, _ = w.Write([]byte(s.Handle()))
	}
}

func newBrowser(t *testing.T, m *session.Manager) *browser {
	return &browser{t: t, h: m.Handler(http.HandlerFunc(appHandler)), name: m.CookieName()}
}

func testFixation(t *testing.T, newStore Factory) {
	clk := NewClock()
	m := manager(t, newStore(t, clk.Now), clk, -1)
	victim := newBrowser(t, m)

	// An attacker plants a cookie: a validly signed, but unknown, ID.
	planted, err := plantedCookie(m)
	if err != nil {
		t.Fatal(err)
	}
	victim.cookie = planted
	victim.get("/set?k=cart&v=book")
	if victim.cookie == planted || victim.cookie == "" {
		t.Fatalf("an unknown ID was adopted (cookie unchanged)")
	}
	attacker := newBrowser(t, m)
	attacker.cookie = planted
	if got := attacker.get("/get?k=cart").Body.String(); got != "" {
		t.Fatalf("the planted ID sees the victim's data: %q", got)
	}

	// Login renews: the pre-login ID dies, the data moves.
	before := victim.cookie
	victim.get("/login?u=alice")
	if victim.cookie == before || victim.cookie == "" {
		t.Fatalf("Renew kept the ID")
	}
	if got := victim.get("/get?k=cart").Body.String(); got != "book" {
		t.Fatalf("after login cart = %q, want the pre-login value", got)
	}
	old := newBrowser(t, m)
	old.cookie = before
	if got := old.get("/whoami").Body.String(); got != "" {
		t.Fatalf("the pre-login ID is still alive and logged in as %q", got)
	}
	if got := old.get("/get?k=cart").Body.String(); got != "" {
		t.Fatalf("the pre-login ID still reads data: %q", got)
	}
}

// plantedCookie signs an ID the store has never seen (as a key leak would
// let an attacker do), so only strict mode stands between it and adoption.
func plantedCookie(m *session.Manager) (string, error) {
	sc := securecookie.New(hashKey, nil)
	sc.SetSerializer(securecookie.NopEncoder{})
	return sc.Encode(m.CookieName(), bytes.Repeat([]byte{0x42}, 32))
}

func testRenew(t *testing.T, newStore Factory) {
	clk := NewClock()
	m := manager(t, newStore(t, clk.Now), clk, 5*time.Second)
	b := newBrowser(t, m)
	b.get("/set?k=a&v=1")
	first := b.get("/handle").Body.String()
	for range 4 { // stay active: 80 minutes in
		clk.Advance(20 * time.Minute)
		b.get("/get?k=a")
	}
	clk.Advance(10 * time.Minute)
	// The absolute deadline does not move on renewal.
	b.get("/login?u=bob")
	if got := b.get("/handle").Body.String(); got == first || got == "" {
		t.Fatalf("handle after renew = %q (before %q)", got, first)
	}
	b.get("/set?k=a&v=2") // keep the idle timer alive
	clk.Advance(29 * time.Minute)
	if got := b.get("/whoami").Body.String(); got != "bob" {
		t.Fatalf("whoami before the absolute deadline = %q", got)
	}
	clk.Advance(2 * time.Minute) // 90+29+2 > 120 minutes since the start
	if got := b.get("/whoami").Body.String(); got != "" {
		t.Fatalf("renewal extended the absolute lifetime: still %q", got)
	}

	// Grace window: the old ID reads (read-only) for a moment, then dies.
	c := newBrowser(t, m)
	c.get("/set?k=a&v=x")
	old := c.cookie
	c.get("/login?u=carol")
	o := newBrowser(t, m)
	o.cookie = old
	if got := o.get("/get?k=a").Body.String(); got != "x" {
		t.Fatalf("within the grace window the old ID reads %q, want x", got)
	}
	o.get("/set?k=a&v=hijack")
	if got := c.get("/get?k=a").Body.String(); got != "x" {
		t.Fatalf("a write through the old ID reached the session: %q", got)
	}
	clk.Advance(6 * time.Second)
	o.cookie = old
	if got := o.get("/get?k=a").Body.String(); got != "" {
		t.Fatalf("after the grace window the old ID reads %q", got)
	}
}

func testExpiry(t *testing.T, newStore Factory) {
	clk := NewClock()
	m := manager(t, newStore(t, clk.Now), clk, -1)
	b := newBrowser(t, m)
	b.get("/set?k=a&v=1")
	// Idle: reads keep it alive (throttled touches), silence ends it.
	for range 5 {
		clk.Advance(20 * time.Minute)
		if got := b.get("/get?k=a").Body.String(); got != "1" {
			t.Fatalf("an active session expired early: %q", got)
		}
	}
	clk.Advance(31 * time.Minute)
	if got := b.get("/get?k=a").Body.String(); got != "" {
		t.Fatalf("idle timeout not enforced: %q", got)
	}
	// Absolute: activity does not keep it alive past the deadline.
	b.get("/set?k=a&v=2")
	for range 6 {
		clk.Advance(20 * time.Minute)
		b.get("/get?k=a")
	}
	clk.Advance(time.Minute)
	if got := b.get("/get?k=a").Body.String(); got != "" {
		t.Fatalf("absolute timeout not enforced: %q", got)
	}
}

func testLogoutEverywhere(t *testing.T, newStore Factory) {
	clk := NewClock()
	m := manager(t, newStore(t, clk.Now), clk, -1)
	user := "user-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	devices := make([]*browser, 3)
	for i := range devices {
		devices[i] = newBrowser(t, m)
		devices[i].get("/login?u=" + user)
		clk.Advance(time.Second)
	}
	other := newBrowser(t, m)
	other.get("/login?u=someone-else-" + user)

	list, err := m.UserSessions(context.Background(), user)
	if err != nil {
		t.Fatalf("UserSessions: %v", err)
	}
	if len(list) != 3 {
		t.Fatalf("listed %d sessions, want 3", len(list))
	}
	// Revoke one by its handle.
	h := devices[0].get("/handle").Body.String()
	if err := m.DestroyUserSession(context.Background(), "someone-else-"+user, h); err == nil {
		t.Fatalf("another user could revoke this user's session")
	}
	if err := m.DestroyUserSession(context.Background(), user, h); err != nil {
		t.Fatalf("DestroyUserSession: %v", err)
	}
	if got := devices[0].get("/whoami").Body.String(); got != "" {
		t.Fatalf("revoked session still logged in")
	}
	n, err := m.DestroyUser(context.Background(), user)
	if err != nil || n != 2 {
		t.Fatalf("DestroyUser = %d, %v; want 2", n, err)
	}
	for i, d := range devices {
		if got := d.get("/whoami").Body.String(); got != "" {
			t.Fatalf("device %d still logged in as %q", i, got)
		}
	}
	if got := other.get("/whoami").Body.String(); got == "" {
		t.Fatalf("another user's session was logged out")
	}
	if list, _ := m.UserSessions(context.Background(), user); len(list) != 0 {
		t.Fatalf("sessions listed after log-out-everywhere: %v", list)
	}
}

func testDestroy(t *testing.T, newStore Factory) {
	clk := NewClock()
	m := manager(t, newStore(t, clk.Now), clk, -1)
	b := newBrowser(t, m)
	b.get("/login?u=dave")
	old := b.cookie
	rec := b.get("/logout")
	if b.cookie != "" {
		t.Fatalf("logout did not expire the cookie: %v", rec.Header().Values("Set-Cookie"))
	}
	replay := newBrowser(t, m)
	replay.cookie = old
	if got := replay.get("/whoami").Body.String(); got != "" {
		t.Fatalf("a destroyed session's cookie still works: %q", got)
	}
}

func testConcurrent(t *testing.T, newStore Factory) {
	clk := NewClock()
	m := manager(t, newStore(t, clk.Now), clk, -1)
	b := newBrowser(t, m)
	b.get("/set?k=base&v=0")
	cookie := b.cookie
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			c := &browser{t: t, h: b.h, name: b.name, cookie: cookie}
			c.get("/set?k=k" + strconv.Itoa(i) + "&v=" + strconv.Itoa(i))
			c.get("/get?k=base")
		})
	}
	wg.Wait()
	// Last writer wins per session: the record is one request's whole
	// snapshot, never a torn mix, and the session survives.
	if got := b.get("/get?k=base").Body.String(); got != "0" {
		t.Fatalf("base value after concurrent writes = %q", got)
	}
	found := 0
	for i := range 8 {
		if b.get("/get?k="+"k"+strconv.Itoa(i)).Body.String() == strconv.Itoa(i) {
			found++
		}
	}
	if found < 1 {
		t.Fatalf("no concurrent write survived")
	}
}

// testDestroyedDuringRequest: a request that loaded the session before log
// out everywhere ran must not write it back when it finishes. Stores that
// are not session.Replacers cannot promise this, so the test skips them.
func testDestroyedDuringRequest(t *testing.T, newStore Factory) {
	clk := NewClock()
	st := newStore(t, clk.Now)
	if _, ok := st.(session.Replacer); !ok {
		t.Skip("the store is not a session.Replacer")
	}
	m := manager(t, st, clk, -1)
	user := "user-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	loaded, release := make(chan struct{}), make(chan struct{})
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/slow" {
			appHandler(w, r)
			return
		}
		s := session.From(r)
		_ = s.UserID() // loads the session
		close(loaded)
		<-release
		s.Set("late", "write")
	})
	b := &browser{t: t, h: m.Handler(slow), name: m.CookieName()}
	b.get("/login?u=" + user)
	done := make(chan struct{})
	inflight := &browser{t: t, h: b.h, name: b.name, cookie: b.cookie}
	go func() { defer close(done); inflight.get("/slow") }()
	<-loaded
	if n, err := m.DestroyUser(context.Background(), user); err != nil || n != 1 {
		t.Fatalf("DestroyUser = %d, %v", n, err)
	}
	close(release)
	<-done
	if got := b.get("/whoami").Body.String(); got != "" {
		t.Fatalf("a session destroyed during a request came back as %q", got)
	}
}

// testEnd: a store that is a session.Ender deletes a live record and a
// missing one counts as ended, but a retired record (one a renewal left
// behind) stays. Other stores skip.
func testEnd(t *testing.T, newStore Factory) {
	ctx := context.Background()
	clk := NewClock()
	st := newStore(t, clk.Now)
	e, ok := st.(session.Ender)
	if !ok {
		t.Skip("the store is not a session.Ender")
	}
	live, retired := randomKey(t), randomKey(t)
	if err := st.Save(ctx, live, record(clk.Now(), "u1", nil), time.Hour); err != nil {
		t.Fatal(err)
	}
	old := record(clk.Now(), "u1", nil)
	old.GraceUntil = clk.Now().Add(time.Minute)
	if err := st.Save(ctx, retired, old, time.Minute); err != nil {
		t.Fatal(err)
	}
	if ended, err := e.End(ctx, live); err != nil || !ended {
		t.Fatalf("End of a live record = %v, %v; want true", ended, err)
	}
	if _, err := st.Load(ctx, live); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("Load after End: err = %v, want ErrNotFound", err)
	}
	if ended, err := e.End(ctx, live); err != nil || !ended {
		t.Fatalf("End of a missing record = %v, %v; want true", ended, err)
	}
	if ended, err := e.End(ctx, retired); err != nil || ended {
		t.Fatalf("End of a retired record = %v, %v; want false", ended, err)
	}
	if _, err := st.Load(ctx, retired); err != nil {
		t.Fatalf("End removed a retired record: %v", err)
	}
	// A record retired by Replace, as a renewal retires it, stays too.
	if r, ok := st.(session.Replacer); ok {
		again := old
		if alive, err := r.Replace(ctx, live, again, time.Minute); err != nil || alive {
			t.Fatalf("Replace of a missing record = %v, %v", alive, err)
		}
		if err := st.Save(ctx, live, record(clk.Now(), "u1", nil), time.Hour); err != nil {
			t.Fatal(err)
		}
		if alive, err := r.Replace(ctx, live, again, time.Minute); err != nil || !alive {
			t.Fatalf("Replace = %v, %v", alive, err)
		}
		if ended, err := e.End(ctx, live); err != nil || ended {
			t.Fatalf("End of a record retired by Replace = %v, %v; want false", ended, err)
		}
	}
}

// testLoginDuringLogoutEverywhere: a login that races log out everywhere
// either ends logged out or leaves a session its user's index lists, so the
// next log out everywhere ends it. A store must never leave a live session
// of the user that DestroyUser cannot find.
func testLoginDuringLogoutEverywhere(t *testing.T, newStore Factory) {
	clk := NewClock()
	m := manager(t, newStore(t, clk.Now), clk, -1)
	user := "user-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	for i := range 30 {
		old := newBrowser(t, m)
		old.get("/login?u=" + user)
		fresh := newBrowser(t, m)
		var wg sync.WaitGroup
		wg.Go(func() { fresh.get("/login?u=" + user) })
		wg.Go(func() {
			if _, err := m.DestroyUser(context.Background(), user); err != nil {
				t.Errorf("DestroyUser: %v", err)
			}
		})
		wg.Wait()
		if got := old.get("/whoami").Body.String(); got != "" {
			t.Fatalf("round %d: a session from before DestroyUser survived", i)
		}
		if fresh.get("/whoami").Body.String() == user {
			if _, err := m.DestroyUser(context.Background(), user); err != nil {
				t.Fatal(err)
			}
			if got := fresh.get("/whoami").Body.String(); got != "" {
				t.Fatalf("round %d: a session that raced DestroyUser is out of its user's reach", i)
			}
		}
	}
}

// testReplaceRetired: a session.Replacer refuses to write over a retired
// record (one a renewal left behind) with session.ErrRenewedElsewhere and
// leaves it as it is, whatever the record it is given. Other stores skip.
func testReplaceRetired(t *testing.T, newStore Factory) {
	ctx := context.Background()
	clk := NewClock()
	st := newStore(t, clk.Now)
	r, ok := st.(session.Replacer)
	if !ok {
		t.Skip("the store is not a session.Replacer")
	}
	k := randomKey(t)
	old := record(clk.Now(), "u1", map[string]string{"a": "1"})
	old.GraceUntil = clk.Now().Add(time.Minute)
	if err := st.Save(ctx, k, old, time.Minute); err != nil {
		t.Fatal(err)
	}
	live := record(clk.Now(), "u2", map[string]string{"a": "2"})
	again := old
	again.GraceUntil = clk.Now().Add(2 * time.Minute)
	for name, rec := range map[string]session.Record{"live": live, "retired": again} {
		alive, err := r.Replace(ctx, k, rec, time.Hour)
		if !errors.Is(err, session.ErrRenewedElsewhere) || alive {
			t.Fatalf("Replace of a retired record with a %s one = %v, %v; want false, ErrRenewedElsewhere", name, alive, err)
		}
		got, err := st.Load(ctx, k)
		if err != nil {
			t.Fatalf("Load after the refused Replace: %v", err)
		}
		if !got.GraceUntil.Equal(old.GraceUntil) {
			t.Fatalf("the refused Replace changed the grace deadline: %v, want %v", got.GraceUntil, old.GraceUntil)
		}
		sameRecord(t, got, old)
	}
	if list, _ := st.UserSessions(ctx, "u2"); len(list) != 0 {
		t.Fatalf("the refused Replace indexed the record under its user: %v", list)
	}
}

// testChangeRacingRenewal: a request that loaded the session before
// another request renewed it cannot write the session back under the ID
// the renewal retired, nor renew it a second time: it gets 409
// session_renewed, the renewed session is unaffected and the old ID dies
// with its grace window. Stores that are not session.Replacers skip.
func testChangeRacingRenewal(t *testing.T, newStore Factory) {
	for _, change := range []string{"set", "renew"} {
		t.Run(change, func(t *testing.T) {
			clk := NewClock()
			st := newStore(t, clk.Now)
			if _, ok := st.(session.Replacer); !ok {
				t.Skip("the store is not a session.Replacer")
			}
			m := manager(t, st, clk, 5*time.Second)
			loaded, renewed := make(chan struct{}), make(chan struct{})
			slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/slow" {
					appHandler(w, r)
					return
				}
				s := session.From(r)
				_ = s.UserID() // loads the session
				close(loaded)
				<-renewed
				if change == "renew" {
					_ = s.Renew()
				}
				s.Set("late", "write")
			})
			b := &browser{t: t, h: m.Handler(slow), name: m.CookieName()}
			b.get("/login?u=erin")
			b.get("/set?k=a&v=1")
			old := b.cookie
			inflight := &browser{t: t, h: b.h, name: b.name, cookie: old}
			done := make(chan *httptest.ResponseRecorder, 1)
			go func() { done <- inflight.get("/slow") }()
			<-loaded
			b.get("/login?u=erin")
			close(renewed)
			rec := <-done
			if rec.Code != http.StatusConflict || !bytes.Contains(rec.Body.Bytes(), []byte(`"session_renewed"`)) {
				t.Fatalf("a %s racing a renewal: %d %s, want 409 session_renewed", change, rec.Code, rec.Body)
			}
			if inflight.cookie != old {
				t.Fatalf("the refused %s changed the session cookie", change)
			}
			if b.cookie == old || b.cookie == "" {
				t.Fatalf("the renewal kept the ID")
			}
			if got := b.get("/get?k=late").Body.String(); got != "" {
				t.Fatalf("the refused %s reached the renewed session: late = %q", change, got)
			}
			clk.Advance(6 * time.Second)
			o := &browser{t: t, h: b.h, name: b.name, cookie: old}
			if got := o.get("/get?k=a").Body.String(); got != "" {
				t.Fatalf("after the grace window the old ID still reads %q: the %s brought it back", got, change)
			}
			if got := b.get("/whoami").Body.String(); got != "erin" {
				t.Fatalf("the renewed session is logged in as %q", got)
			}
		})
	}
}
