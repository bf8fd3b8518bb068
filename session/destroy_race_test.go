package session

import (
	"context"
	"net/http"
	"testing"
)

// A request in flight when the session is destroyed (log out everywhere)
// must not write it back when it finishes.
func TestDestroyedSessionStaysDestroyed(t *testing.T) {
	t.Parallel()
	stores := map[string]func(t *testing.T) Store{
		"memory": func(*testing.T) Store { return NewMemoryStore(MemoryOptions{}) },
		"redis": func(t *testing.T) Store {
			c, prefix := testRedis(t)
			st, err := NewRedisStore(c, RedisOptions{Prefix: prefix})
			if err != nil {
				t.Fatal(err)
			}
			return st
		},
	}
	for name, newStore := range stores {
		t.Run(name, func(t *testing.T) {
			m := newTestManager(t, Options{Store: newStore(t)})
			loaded := make(chan struct{})
			release := make(chan struct{})
			h := func(w http.ResponseWriter, r *http.Request) {
				s := From(r)
				switch r.URL.Path {
				case "/login":
					_ = s.Renew()
					s.SetUserID("alice")
				case "/whoami":
					_, _ = w.Write([]byte(s.UserID()))
				case "/slow-write":
					_ = s.UserID() // loads the session
					close(loaded)
					<-release
					s.Set("last_page", "/x")
				case "/slow-renew":
					_ = s.UserID()
					close(loaded)
					<-release
					_ = s.Renew()
				}
			}
			for _, path := range []string{"/slow-write", "/slow-renew"} {
				loaded, release = make(chan struct{}), make(chan struct{})
				c := newClient(t, m, h)
				c.get("/login")
				if got := c.get("/whoami").Body.String(); got != "alice" {
					t.Fatalf("setup: %q", got)
				}
				done := make(chan struct{})
				inflight := *c
				go func() { defer close(done); inflight.get(path) }()
				<-loaded
				if n, err := m.DestroyUser(context.Background(), "alice"); err != nil || n < 1 {
					t.Fatalf("DestroyUser = %d, %v", n, err)
				}
				close(release)
				<-done
				for _, cookie := range []string{c.cookie, inflight.cookie} {
					probe := newClient(t, m, h)
					probe.cookie = cookie
					if got := probe.get("/whoami").Body.String(); got != "" {
						t.Fatalf("%s: after DestroyUser the session is alive again as %q", path, got)
					}
				}
			}
		})
	}
}
