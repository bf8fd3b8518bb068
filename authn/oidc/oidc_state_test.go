package oidc

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/covetgo/covet/authn"
)

// TestOIDCStateReplay: a state cookie kept after its login (the browser
// is not trusted to delete it) does not complete a second login, even
// with a fresh code issued for the same authorization request.
func TestOIDCStateReplay(t *testing.T) {
	t.Parallel()
	p := newTestProvider(t)
	o := newTestOIDC(t, p)
	authURL, cookie := startLogin(t, o, "/x")
	code, state := p.authorize(t, authURL, "alice")
	if _, _, err := callback(o, "code="+code+"&state="+state, cookie); err != nil {
		t.Fatalf("first login: %v (%s)", err, authn.Reason(err))
	}
	fresh, _ := p.authorize(t, authURL, "mallory")
	if pr, _, err := callback(o, "code="+fresh+"&state="+state, cookie); authn.Reason(err) != "no_state" {
		t.Fatalf("replayed state cookie with a fresh code: %+v, %v (%s)", pr, err, authn.Reason(err))
	}
}

func TestCookieStateStoreBounds(t *testing.T) {
	t.Parallel()
	s, err := NewCookieStateStore(make([]byte, 32), false)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_000_000, 0)
	s.now = func() time.Time { return now }
	if err := s.take(LoginState{State: "old", Expires: now.Unix() - 1}); err == nil {
		t.Fatal("expired state taken")
	}
	for i := range MaxUsedLoginStates {
		s.used[strconv.Itoa(i)] = now.Unix() + 10
	}
	if err := s.take(LoginState{State: "one more", Expires: now.Unix() + 600}); err == nil {
		t.Fatal("a full store took another state")
	}
	now = now.Add(time.Minute) // every remembered state has expired
	if err := s.take(LoginState{State: "one more", Expires: now.Unix() + 600}); err != nil || len(s.used) != 1 {
		t.Fatalf("after expiry: %v, %d remembered", err, len(s.used))
	}
}

// TestCookieStateStorePlantedCookie: without the __Host- prefix (insecure
// mode) a sibling subdomain can plant a cookie of the same name in front
// of the real one; the login still completes with the real one.
func TestCookieStateStorePlantedCookie(t *testing.T) {
	t.Parallel()
	s, err := NewCookieStateStore(make([]byte, 32), true)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	want := LoginState{State: "s1", Expires: time.Now().Add(time.Minute).Unix()}
	if err := s.SaveLoginState(rec, httptest.NewRequest(http.MethodGet, "/", nil), want); err != nil {
		t.Fatal(err)
	}
	real := rec.Result().Cookies()[0]
	for _, planted := range []string{"garbage", "a.b", ""} {
		r := httptest.NewRequest(http.MethodGet, "/callback", nil)
		r.Header.Set("Cookie", real.Name+"="+planted+"; "+real.Name+"="+real.Value)
		got, err := s.TakeLoginState(httptest.NewRecorder(), r)
		if err != nil || got.State != want.State {
			t.Fatalf("planted %q in front: %+v, %v", planted, got, err)
		}
		s.used = map[string]int64{} // take the same state again
	}
}
