package session

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/covetgo/covet/errs"
)

// A logout that loaded the session before a concurrent request renewed it
// cannot end the session the renewal created: it must not report success
// (deleting only the retired ID) while the session lives on under the new
// ID. It is refused like a logout with the retired ID (409, retry with the
// new cookie), and being refused it changes nothing.
func TestLogoutRacingRenewal(t *testing.T) {
	t.Parallel()
	stores := replacingStores()
	// A store that is neither a Replacer nor an Ender.
	stores["plain"] = func(t *testing.T) Store { return plainStore{NewMemoryStore(MemoryOptions{})} }
	for name, newStore := range stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			m := newTestManager(t, Options{Store: newStore(t)})
			loaded, renewed := make(chan struct{}), make(chan struct{})
			var destroyErr error
			h := func(w http.ResponseWriter, r *http.Request) {
				s := From(r)
				switch r.URL.Path {
				case "/login":
					_ = s.Renew()
					s.SetUserID("alice")
				case "/renew":
					_ = s.Renew()
				case "/slow-logout":
					_ = s.UserID() // loads the session
					close(loaded)
					<-renewed
					if destroyErr = s.Destroy(); destroyErr != nil {
						errs.Write(w, r, destroyErr)
						return
					}
				case "/logout":
					if destroyErr = s.Destroy(); destroyErr != nil {
						errs.Write(w, r, destroyErr)
						return
					}
				case "/whoami":
					_, _ = w.Write([]byte(s.UserID()))
					return
				}
				w.WriteHeader(http.StatusNoContent)
			}
			current := newClient(t, m, h)
			current.get("/login")
			res := raceRenewal(m, h, current, "/slow-logout", loaded, renewed)
			if res.code != http.StatusConflict || !strings.Contains(res.body, `"session_renewed"`) {
				t.Fatalf("logout racing a renewal: %d %s, want 409 session_renewed", res.code, res.body)
			}
			if res.cookie != "" {
				t.Errorf("the refused logout sent a session cookie: %s", res.cookie)
			}
			if got := current.get("/whoami").Body.String(); got != "alice" {
				t.Fatalf("the renewed session reads user %q after the refused logout, want alice", got)
			}
			// The retry with the new cookie logs out.
			if rec := current.do(http.MethodPost, "/logout", "Sec-Fetch-Site", "same-origin"); rec.Code != http.StatusNoContent {
				t.Fatalf("logout with the new cookie: %d %s", rec.Code, rec.Body.String())
			}
			if got := current.get("/whoami").Body.String(); got != "" {
				t.Fatalf("after logout the session reads user %q", got)
			}
		})
	}
}

// plainStore hides every optional interface of the store it wraps.
type plainStore struct{ s Store }

func (p plainStore) Load(ctx context.Context, k Key) (Record, error) { return p.s.Load(ctx, k) }
func (p plainStore) Save(ctx context.Context, k Key, r Record, ttl time.Duration) error {
	return p.s.Save(ctx, k, r, ttl)
}
func (p plainStore) Touch(ctx context.Context, k Key, t time.Time, ttl time.Duration) error {
	return p.s.Touch(ctx, k, t, ttl)
}
func (p plainStore) Delete(ctx context.Context, k Key) error { return p.s.Delete(ctx, k) }
func (p plainStore) UserSessions(ctx context.Context, u string) ([]Entry, error) {
	return p.s.UserSessions(ctx, u)
}
func (p plainStore) DeleteUser(ctx context.Context, u string) (int, error) {
	return p.s.DeleteUser(ctx, u)
}
