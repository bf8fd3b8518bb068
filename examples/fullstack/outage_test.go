package main

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/covetgo/covet/internal/testsvc"
)

func status(url string) int {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestStartsWithoutRedis: the app starts while its Redis is down, answers
// /healthz 200 and /readyz 503, and becomes ready by itself once Redis
// answers; its stores then work with no restart.
func TestStartsWithoutRedis(t *testing.T) {
	srv := testsvc.StartRedis(t)
	srv.Kill()
	in := launch(t, testEnv(t, map[string]string{"COVET_REDIS_ADDR": srv.Addr(), "COVET_REDIS_PREFIX": redisPrefix()}))
	waitFor(t, 10*time.Second, func() bool { return status(in.URL+"/healthz") == 200 })
	if got := status(in.URL + "/readyz"); got != 503 {
		t.Fatalf("/readyz with Redis down: %d, want 503", got)
	}
	srv.Restart()
	waitFor(t, 10*time.Second, func() bool { return status(in.URL+"/readyz") == 200 })
	c := newClient(t, in.URL)
	c.register("late@example.com", "Late", password)
	c.login("late@example.com", password)
	c.token = "" // the session cookie alone
	if me := c.do("GET", "/api/me", nil).expect(t, 200, "").json(t); me["auth_method"] != "session" {
		t.Fatalf("me %v", me)
	}
}

// TestDrainDelay: on shutdown, readiness turns 503 at once while requests
// are still served, and the listener closes only after COVET_DRAIN_DELAY.
func TestDrainDelay(t *testing.T) {
	in := start(t, testEnv(t, map[string]string{"COVET_DRAIN_DELAY": "2s"}))
	began := time.Now()
	in.stop()
	waitFor(t, time.Second, func() bool { return status(in.URL+"/readyz") == 503 })
	if got := status(in.URL + "/healthz"); got != 200 {
		t.Fatalf("/healthz while draining: %d", got)
	}
	for status(in.URL+"/healthz") != 0 {
		if time.Since(began) > 10*time.Second {
			t.Fatal("the listener never closed")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if took := time.Since(began); took < 1500*time.Millisecond {
		t.Fatalf("the listener closed %v after shutdown began, before the 2 s drain delay", took)
	}
}

// TestRedisOutage: with the app's Redis paused or killed, a request that
// needs the session store answers 503 problem+json with Retry-After within
// about a second, a chat message reaches the local room and answers the
// sender with an error, and after a stall the same session is still
// logged in.
func TestRedisOutage(t *testing.T) {
	for _, mode := range []string{"paused", "killed"} {
		t.Run(mode, func(t *testing.T) {
			srv := testsvc.StartRedis(t)
			in := start(t, testEnv(t, map[string]string{"COVET_REDIS_ADDR": srv.Addr(), "COVET_REDIS_PREFIX": redisPrefix()}))
			c := newClient(t, in.URL)
			c.register("outage@example.com", "Outage", password)
			c.login("outage@example.com", password)
			token := c.token
			c.token = ""
			c.do("GET", "/api/me", nil).expect(t, 200, "")
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			chat := dialChat(ctx, t, in.URL, token)
			send(ctx, t, chat, map[string]string{"type": "join", "room": "lobby"})
			waitPresence(t, in.app, "lobby", 1)
			if mode == "paused" {
				srv.Pause()
			} else {
				srv.Kill()
			}
			var lat []time.Duration
			for range 10 {
				began := time.Now()
				r := c.do("GET", "/api/me", nil)
				lat = append(lat, time.Since(began))
				r.expect(t, 503, "session_store_unavailable")
				if r.Header.Get("Retry-After") == "" || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/problem+json") {
					t.Fatalf("503 without Retry-After or problem+json: %v", r.Header)
				}
			}
			slices.Sort(lat)
			t.Logf("app GET /api/me (session), Redis %s: p50 %v, max %v over %d requests", mode, lat[len(lat)/2], lat[len(lat)-1], len(lat))
			if lat[len(lat)-1] > time.Second {
				t.Fatalf("a request took %v with Redis %s", lat[len(lat)-1], mode)
			}
			// A chat message reaches this instance's room, and its sender
			// gets an error message instead of a closed connection.
			for i := range 3 {
				began := time.Now()
				send(ctx, t, chat, map[string]string{"type": "say", "room": "lobby", "text": "during the outage"})
				var kinds []string
				for len(kinds) < 2 {
					_, b, err := chat.Read(ctx)
					if err != nil {
						t.Fatalf("message %d during the outage: the connection failed: %v", i, err)
					}
					var m struct {
						Type  string
						Error struct{ Code string }
					}
					_ = json.Unmarshal(b, &m)
					switch m.Type {
					case "message":
						kinds = append(kinds, "message")
					case "error":
						kinds = append(kinds, "error:"+m.Error.Code)
					}
				}
				if kinds[0] != "message" || kinds[1] != "error:ws_broker_unavailable" {
					t.Fatalf("chat during the outage: %v, want the local message then an ws_broker_unavailable error", kinds)
				}
				t.Logf("app chat message, Redis %s: answered in %v", mode, time.Since(began))
			}
			// A bearer request needs no session, and the rate limits fall
			// back to local memory, but the revocation list lives in Redis
			// and fails closed: a revoked token is never let through because
			// the list could not be read. So it is a prompt 503 too.
			c.token = token
			began := time.Now()
			r := c.do("GET", "/api/me", nil)
			r.expect(t, 503, "authentication_unavailable")
			if r.Header.Get("Retry-After") == "" {
				t.Fatalf("503 without Retry-After: %v", r.Header)
			}
			if took := time.Since(began); took > time.Second {
				t.Fatalf("a bearer request took %v with Redis %s", took, mode)
			}
			c.token = ""
			if mode == "killed" {
				return
			}
			srv.Resume()
			waitFor(t, 10*time.Second, func() bool { return c.do("GET", "/api/me", nil).Status == 200 })
			c.token = token // the same token works again: nobody was logged out
			waitFor(t, 10*time.Second, func() bool { return c.do("GET", "/api/me", nil).Status == 200 })
		})
	}
}
