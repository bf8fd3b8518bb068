package session

import (
	"net/http"
	"strings"
	"testing"
)

// A request that loaded the session before another request renewed it
// cannot write the session back under the ID the renewal retired: that
// would bring the old ID back to life, writable for the whole idle
// timeout, beside the renewed session. Its change, or its own renewal, is
// refused like a logout that raced the renewal (409, retry with the new
// cookie), and the old ID stays retired.
func TestChangeRacingRenewal(t *testing.T) {
	t.Parallel()
	stores := replacingStores()
	for name, newStore := range stores {
		for _, change := range []string{"set", "renew"} {
			t.Run(name+"/"+change, func(t *testing.T) {
				t.Parallel()
				st := newStore(t)
				m := newTestManager(t, Options{Store: st})
				loaded, renewed := make(chan struct{}), make(chan struct{})
				h := func(w http.ResponseWriter, r *http.Request) {
					s := From(r)
					switch r.URL.Path {
					case "/login":
						_ = s.Renew()
						s.SetUserID("alice")
					case "/renew":
						_ = s.Renew()
					case "/slow":
						_ = s.UserID() // loads the session
						close(loaded)
						<-renewed
						if change == "renew" {
							_ = s.Renew()
						}
						s.Set("late", 1)
					}
					w.WriteHeader(http.StatusNoContent)
				}
				current := newClient(t, m, h)
				current.get("/login")
				var id []byte
				if !m.decodeID(current.cookie, &id) {
					t.Fatal("the login's cookie does not decode")
				}
				oldKey := keyOf(id)
				res := raceRenewal(m, h, current, "/slow", loaded, renewed)
				if res.code != http.StatusConflict || !strings.Contains(res.body, `"session_renewed"`) {
					t.Errorf("a %s racing a renewal: %d %s, want 409 session_renewed", change, res.code, res.body)
				}
				if res.cookie != "" {
					t.Errorf("the refused %s sent a session cookie: %s", change, res.cookie)
				}
				rec, err := st.Load(t.Context(), oldKey)
				if err != nil {
					t.Fatal(err)
				}
				if rec.GraceUntil.IsZero() {
					t.Errorf("the ID the renewal retired is live again: %+v", rec)
				}
			})
		}
	}
}

// replacingStores are the stores that tell a retired record from a live
// one (Replacer and Ender): in memory and in Redis.
func replacingStores() map[string]func(t *testing.T) Store {
	return map[string]func(t *testing.T) Store{
		"memory": func(t *testing.T) Store { return NewMemoryStore(MemoryOptions{}) },
		"redis": func(t *testing.T) Store {
			c, prefix := testRedis(t)
			st, err := NewRedisStore(c, RedisOptions{Prefix: prefix})
			if err != nil {
				t.Fatal(err)
			}
			return st
		},
	}
}

// raceResult is what a request racing a renewal got.
type raceResult struct {
	code         int
	cookie, body string
}

// raceRenewal sends a POST to path with current's cookie; once its handler
// has loaded the session (it closes loaded), current renews the session,
// then renewed is closed so the handler goes on. It returns what the racing
// request got.
func raceRenewal(m *Manager, h http.HandlerFunc, current *client, path string, loaded, renewed chan struct{}) raceResult {
	inFlight := newClient(current.t, m, h)
	inFlight.cookie = current.cookie
	done := make(chan raceResult, 1)
	go func() {
		rec := inFlight.do(http.MethodPost, path, "Sec-Fetch-Site", "same-origin")
		done <- raceResult{rec.Code, setCookieHeader(rec, m.CookieName()), rec.Body.String()}
	}()
	<-loaded
	current.get("/renew")
	close(renewed)
	return <-done
}
