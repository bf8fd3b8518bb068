package main

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/covetgo/covet/internal/testsvc"
)

// Logout ends the whole login server-side, whichever credential the client
// shows, without the refresh token: the refresh family, the access token
// (cached verifications included), the session.
func TestLogoutRevokesLogin(t *testing.T) {
	in := start(t, testEnv(t, nil))
	reg := newClient(t, in.URL)
	reg.register("out@example.com", "Out", password)

	t.Run("bearer", func(t *testing.T) {
		x := newClient(t, in.URL)
		m := x.login("out@example.com", password)
		x.do("GET", "/api/me", nil).expect(t, 200, "") // the verifier caches the token
		api := newClient(t, in.URL)                    // no cookies: the token alone
		api.token = x.token
		api.do("POST", "/auth/logout", nil).expect(t, 204, "")
		api.do("GET", "/api/me", nil).expect(t, 401, "invalid_token")
		api.do("POST", "/auth/refresh", map[string]string{"refresh_token": m["refresh_token"].(string)}).expect(t, 401, "invalid_refresh_token")
	})
	t.Run("session", func(t *testing.T) {
		b := newClient(t, in.URL)
		m := b.login("out@example.com", password)
		b.token = "" // the browser: cookie only
		b.do("GET", "/api/me", nil).expect(t, 200, "")
		b.do("POST", "/auth/logout", nil).expect(t, 204, "")
		b.do("GET", "/api/me", nil).expect(t, 401, "")
		other := newClient(t, in.URL)
		other.do("POST", "/auth/refresh", map[string]string{"refresh_token": m["refresh_token"].(string)}).expect(t, 401, "invalid_refresh_token")
	})
	t.Run("other logins stay", func(t *testing.T) {
		keep := newClient(t, in.URL)
		km := keep.login("out@example.com", password)
		gone := newClient(t, in.URL)
		gone.login("out@example.com", password)
		gone.do("POST", "/auth/logout", nil).expect(t, 204, "")
		keep.do("GET", "/api/me", nil).expect(t, 200, "")
		keep.do("POST", "/auth/refresh", map[string]string{"refresh_token": km["refresh_token"].(string)}).expect(t, 200, "")
	})
}

// A password change ends every other login of the user (tokens and
// sessions) and gives the client that made it a fresh one.
func TestPasswordChangeRevokesOtherLogins(t *testing.T) {
	in := start(t, testEnv(t, nil))
	a := newClient(t, in.URL)
	a.register("pw@example.com", "Pw", password)
	a.login("pw@example.com", password)
	b := newClient(t, in.URL)
	bm := b.login("pw@example.com", password)
	b.do("GET", "/api/me", nil).expect(t, 200, "")
	// No pause: a login made in the same second as the change must end too,
	// although revocation has the one-second precision of "iat".

	a.do("POST", "/auth/password", map[string]string{"current_password": "wrong password!!", "new_password": "a brand new passphrase"}).expect(t, 401, "invalid_password")
	const newPassword = "a brand new passphrase"
	m := a.do("POST", "/auth/password", map[string]string{"current_password": password, "new_password": newPassword}).expect(t, 200, "").json(t)
	a.token = m["access_token"].(string)
	a.do("GET", "/api/me", nil).expect(t, 200, "")
	a.do("POST", "/auth/refresh", map[string]string{"refresh_token": m["refresh_token"].(string)}).expect(t, 200, "")

	b.do("GET", "/api/me", nil).expect(t, 401, "invalid_token")
	b.do("POST", "/auth/refresh", map[string]string{"refresh_token": bm["refresh_token"].(string)}).expect(t, 401, "invalid_refresh_token")
	b.token = "" // B's browser session ends too
	b.do("GET", "/api/me", nil).expect(t, 401, "login_revoked")
	a.token = "" // A's session was renewed, not ended
	a.do("GET", "/api/me", nil).expect(t, 200, "")

	c := newClient(t, in.URL)
	c.do("POST", "/auth/login", map[string]string{"email": "pw@example.com", "password": password}).expect(t, 401, "")
	c.login("pw@example.com", newPassword)
}

// A refresh while Redis is stalled or gone answers 503 with Retry-After,
// never 401; the client keeps its refresh token, and once Redis answers
// again the same token works: nobody is logged out by the outage.
func TestRefreshDuringRedisOutage(t *testing.T) {
	child := testsvc.StartRedis(t)
	in := start(t, testEnv(t, map[string]string{"COVET_REDIS_ADDR": child.Addr(), "COVET_REDIS_PREFIX": redisPrefix()}))
	c := newClient(t, in.URL)
	c.register("down@example.com", "Down", password)
	const users = 8
	tokens := make([]string, users)
	access := make([]string, users)
	for i := range tokens {
		m := newClient(t, in.URL).login("down@example.com", password)
		tokens[i], access[i] = m["refresh_token"].(string), m["access_token"].(string)
	}
	outage := func(label string) {
		var refreshLat, apiLat []time.Duration
		for i := range tokens {
			api := newClient(t, in.URL) // no session cookie
			start := time.Now()
			r := api.do("POST", "/auth/refresh", map[string]string{"refresh_token": tokens[i]})
			refreshLat = append(refreshLat, time.Since(start))
			r.expect(t, http.StatusServiceUnavailable, "authentication_unavailable")
			if r.Header.Get("Retry-After") == "" {
				t.Fatalf("%s: 503 without Retry-After", label)
			}
			api.token = access[i]
			start = time.Now()
			r = api.do("GET", "/api/me", nil)
			apiLat = append(apiLat, time.Since(start))
			r.expect(t, http.StatusServiceUnavailable, "authentication_unavailable")
		}
		slices.Sort(refreshLat)
		slices.Sort(apiLat)
		t.Logf("Redis %s: refresh p50 %s max %s; bearer API call p50 %s max %s", label,
			refreshLat[users/2].Round(time.Millisecond), refreshLat[users-1].Round(time.Millisecond),
			apiLat[users/2].Round(time.Millisecond), apiLat[users-1].Round(time.Millisecond))
	}
	child.Pause()
	outage("paused")
	child.Resume()
	loggedOut := 0
	for i := range tokens {
		r := newClient(t, in.URL).do("POST", "/auth/refresh", map[string]string{"refresh_token": tokens[i]})
		if r.Status != 200 {
			loggedOut++
			t.Errorf("login %d after the stall: %d %s", i, r.Status, r.Body)
		}
	}
	t.Logf("logins lost to the stall: %d of %d", loggedOut, users)
	child.Kill()
	outage("killed")
}

// Logging out and changing the password close the user's open WebSockets
// with 4001; another user's socket stays open.
func TestLoginEndClosesSockets(t *testing.T) {
	in := start(t, testEnv(t, nil))
	reg := newClient(t, in.URL)
	reg.register("sock@example.com", "Sock", password)
	reg.register("bystander@example.com", "By", password)
	by := newClient(t, in.URL)
	by.login("bystander@example.com", password)

	for _, end := range []string{"logout", "password"} {
		t.Run(end, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			u := newClient(t, in.URL)
			u.login("sock@example.com", password)
			mine := dialChat(ctx, t, in.URL, u.token)
			theirs := dialChat(ctx, t, in.URL, by.token)
			send(ctx, t, mine, map[string]any{"type": "join", "room": "lobby-" + end})
			send(ctx, t, theirs, map[string]any{"type": "join", "room": "lobby-" + end})
			waitPresence(t, in.app, "lobby-"+end, 2)

			if end == "logout" {
				u.do("POST", "/auth/logout", nil).expect(t, 204, "")
			} else {
				u.do("POST", "/auth/password", map[string]string{"current_password": password, "new_password": password + " anew"}).expect(t, 200, "")
			}
			for {
				_, _, err := mine.Read(ctx)
				if err == nil {
					continue
				}
				if got := websocket.CloseStatus(err); got != closeLoggedOut {
					t.Fatalf("socket ended with %v (status %d), want close %d", err, got, closeLoggedOut)
				}
				break
			}
			waitPresence(t, in.app, "lobby-"+end, 1)
			send(ctx, t, theirs, map[string]any{"type": "say", "room": "lobby-" + end, "text": "still here"})
			if m := readMessage(ctx, t, theirs); m["data"] == nil {
				t.Fatalf("bystander's socket: %v", m)
			}
		})
	}
}

// Guessing the current password through /auth/password, with a stolen
// token, draws on the same budget as failed logins.
func TestPasswordChangeGuessesAreThrottled(t *testing.T) {
	in := start(t, testEnv(t, nil))
	a := newClient(t, in.URL)
	a.register("guess@example.com", "Guess", password)
	a.login("guess@example.com", password)
	limited := false
	for i := 0; i < 12 && !limited; i++ {
		r := a.do("POST", "/auth/password", map[string]string{"current_password": "wrong guess " + itoa(i), "new_password": "a brand new passphrase"})
		switch r.Status {
		case 401:
		case 429:
			limited = true
			if r.Header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		default:
			t.Fatalf("guess %d: status %d", i, r.Status)
		}
	}
	if !limited {
		t.Fatal("12 wrong current passwords were never throttled")
	}
}
