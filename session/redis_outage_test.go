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
			cl := newClientWith(t, m, login.cookie)
			if got := cl.get("/user").Body.String(); got != "alice" {
				t.Fatalf("before the outage: %q", got)
			}
			if mode == "paused" {
				srv.Pause()
				requestsDuringOutage(t, cl, mode)
				srv.Resume()
				waitSessionBack(t, cl)
				return
			}
			srv.Kill()
			requestsDuringOutage(t, cl, mode)
			srv.Restart()
			waitLoginWorks(t, m)
		})
	}
}

// requestsDuringOutage checks that reads and writes of a session get a
// quick 503 problem that leaves the cookie alone.
func requestsDuringOutage(t *testing.T, cl *client, mode string) {
	t.Helper()
	cookie := cl.cookie
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
		if cl.cookie != cookie {
			t.Fatalf("the outage changed or cleared the session cookie")
		}
	}
	slices.Sort(lat)
	t.Logf("session, Redis %s: p50 %v, max %v over %d requests", mode, lat[len(lat)/2], lat[len(lat)-1], len(lat))
	if lat[len(lat)-1] > time.Second {
		t.Fatalf("a request with Redis %s took %v", mode, lat[len(lat)-1])
	}
}

// waitLoginWorks waits for a restarted Redis, which without persistence
// has lost every session: the store works again by itself.
func waitLoginWorks(t *testing.T, m *Manager) {
	t.Helper()
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
		time.Sleep(20 * time.Millisecond) // the Redis child process is starting
	}
}

// waitSessionBack waits for a resumed Redis to serve the session again,
// unchanged by the stall.
func waitSessionBack(t *testing.T, cl *client) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		w := cl.get("/user")
		if w.Code == http.StatusOK {
			if w.Body.String() != "alice" {
				t.Fatalf("after the stall the session holds %q, want alice", w.Body)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the session did not come back after Redis resumed: %d", w.Code)
		}
		time.Sleep(20 * time.Millisecond) // the Redis child process is resuming
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
