package session

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/internal/testsvc"
	"github.com/redis/go-redis/v9"
)

// outageApp reads or writes the session and answers a store failure as an
// application should: with the error Session.Err returns.
func outageApp(w http.ResponseWriter, r *http.Request) {
	s := From(r)
	if r.URL.Path == "/set" {
		s.Set("v", "x")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if err := s.Err(); err != nil {
		errs.Write(w, r, err)
		return
	}
	_, _ = w.Write([]byte(s.UserID()))
}

// TestRedisOutage: with its Redis paused (SIGSTOP) or killed, a request
// that reads or writes its session gets 503 problem+json with Retry-After
// within about a second (the client keeps go-redis's default 3 s read
// timeout and retries), and a stall logs nobody out: once Redis is back the
// same cookie is the same logged-in session, with no restart.
func TestRedisOutage(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"paused", "killed"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			srv := testsvc.StartRedis(t)
			c := redis.NewClient(&redis.Options{Addr: srv.Addr(), ContextTimeoutEnabled: true})
			t.Cleanup(func() { _ = c.Close() })
			st, err := NewRedisStore(c, RedisOptions{})
			if err != nil {
				t.Fatal(err)
			}
			m := newTestManager(t, Options{Store: st})
			login := newClient(t, m, app)
			login.get("/login?u=alice")
			cl := newClient(t, m, outageApp)
			cl.cookie = login.cookie
			if got := cl.get("/user").Body.String(); got != "alice" {
				t.Fatalf("before the outage: %q", got)
			}
			if mode == "paused" {
				srv.Pause()
			} else {
				srv.Kill()
			}
			var lat []time.Duration
			for i := range 20 {
				path := "/user"
				if i%2 == 1 {
					path = "/set"
				}
				began := time.Now()
				w := cl.get(path)
				lat = append(lat, time.Since(began))
				if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" ||
					!strings.HasPrefix(w.Header().Get("Content-Type"), "application/problem+json") ||
					!strings.Contains(w.Body.String(), "session_store_unavailable") {
					t.Fatalf("%s with Redis %s: %d %v %s", path, mode, w.Code, w.Header(), w.Body)
				}
				if cl.cookie != login.cookie {
					t.Fatalf("the outage changed or cleared the session cookie")
				}
			}
			s := slices.Clone(lat)
			slices.Sort(s)
			t.Logf("session, Redis %s: p50 %v, max %v over %d requests", mode, s[len(s)/2], s[len(s)-1], len(s))
			if s[len(s)-1] > time.Second {
				t.Fatalf("a request with Redis %s took %v", mode, s[len(s)-1])
			}
			if mode == "killed" {
				// A restarted Redis without persistence has lost the
				// session; the store works again by itself.
				srv.Restart()
				deadline := time.Now().Add(5 * time.Second)
				for {
					fresh := newClient(t, m, app)
					fresh.get("/login?u=bob")
					if fresh.cookie != "" && newClientWith(t, m, fresh.cookie).get("/user").Body.String() == "bob" {
						return
					}
					if time.Now().After(deadline) {
						t.Fatal("no login after Redis restarted")
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
			srv.Resume()
			deadline := time.Now().Add(5 * time.Second)
			for {
				w := cl.get("/user")
				if w.Code == http.StatusOK {
					if w.Body.String() != "alice" {
						t.Fatalf("after the stall the session holds %q, want alice", w.Body)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the session did not come back after Redis resumed: %d", w.Code)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

func newClientWith(t *testing.T, m *Manager, cookie string) *client {
	c := newClient(t, m, outageApp)
	c.cookie = cookie
	return c
}

func TestRedisStoreOptions(t *testing.T) {
	t.Parallel()
	if _, err := NewRedisStore(nil, RedisOptions{}); err == nil {
		t.Error("NewRedisStore accepted a nil client")
	}
	plain := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer plain.Close()
	if _, err := NewRedisStore(plain, RedisOptions{}); err == nil {
		t.Error("NewRedisStore accepted a client that ignores context deadlines")
	}
	ok := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	defer ok.Close()
	if _, err := NewRedisStore(ok, RedisOptions{Timeout: -1}); err == nil {
		t.Error("NewRedisStore accepted a negative timeout")
	}
	if _, err := NewRedisStore(ok, RedisOptions{}); err != nil {
		t.Error(err)
	}
}
