package main

import (
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// emailNFD is "josé" with a combining accent, emailNFC the same letter
// precomposed; with "JOSÉ" they are one account (not "jose") and one login
// budget on every database.
const (
	emailNFC = "jos\u00e9@example.com"
	emailNFD = "jose\u0301@example.com"
)

func TestCanonicalEmail(t *testing.T) {
	for in, want := range map[string]string{
		" Admin@Example.COM\t": "admin@example.com",
		emailNFD:               emailNFC,
		emailNFC:               emailNFC,
		"JOSÉ@example.com":     emailNFC,
		"jose@example.com":     "jose@example.com",
		"bóss@example.com":     "bóss@example.com",
		"ＡＤＭＩＮ@example.com":    "admin@example.com",
	} {
		if got := canonicalEmail(in); got != want {
			t.Errorf("canonicalEmail(%q) = %q, want %q", in, got, want)
		}
	}
	if displayEmail(emailNFD+" ") != emailNFC {
		t.Error("displayEmail does not keep the accent in NFC")
	}
}

// The admin is named by COVET_ADMIN_EMAIL: the first registration of an
// empty database is an ordinary user, the named account is admin when it
// registers (in any spelling) or, when it already exists, at start.
func TestAdminBootstrap(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "app.db")
	in := start(t, testEnv(t, map[string]string{"COVET_DB_DSN": dsn, "COVET_ADMIN_EMAIL": " Boss@Example.com "}))
	first := newClient(t, in.URL)
	first.register("first@example.com", "First", password)
	first.login("first@example.com", password)
	first.do("GET", "/api/admin/users", nil).expect(t, 403, "forbidden")

	// A look-alike address with an accent is another mailbox: an ordinary
	// account that does not take the admin address.
	impostor := newClient(t, in.URL)
	impostor.register("b\u00f3ss@example.com", "Impostor", password)
	impostor.login("b\u00f3ss@example.com", password)
	impostor.do("GET", "/api/admin/users", nil).expect(t, 403, "forbidden")

	boss := newClient(t, in.URL)
	boss.register("BOSS@example.COM", "Boss", password)
	boss.login("boss@example.com", password)
	boss.do("GET", "/api/admin/users", nil).expect(t, 200, "")

	// An existing account named later becomes admin when the app starts.
	again := start(t, testEnv(t, map[string]string{"COVET_DB_DSN": dsn, "COVET_ADMIN_EMAIL": "first@example.com"}))
	c := newClient(t, again.URL)
	c.login("first@example.com", password)
	c.do("GET", "/api/admin/users", nil).expect(t, 200, "")
}

// Parallel registrations against the real servers: nobody but the named
// account becomes admin, spellings of one address make one account, and the
// account logs in under any spelling.
func TestConcurrentRegistrations(t *testing.T) {
	for _, db := range []struct {
		name string
		dsn  func(*testing.T) string
	}{{"postgres", freshPostgres}, {"mariadb", freshMySQL}, {"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "app.db") }}} {
		t.Run(db.name, func(t *testing.T) {
			in := start(t, testEnv(t, map[string]string{"COVET_DB_DSN": db.dsn(t)}))
			spellings := []string{"admin@example.com", "ADMIN@example.com", "Admin@Example.com", "admin@EXAMPLE.com"}
			var wg sync.WaitGroup
			statuses := make(chan int, 64)
			for i := range 24 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					email := spellings[i%len(spellings)]
					switch {
					case i%3 == 1:
						email = "user" + string(rune('a'+i)) + "@example.com"
					case i%3 == 2:
						email = []string{emailNFC, emailNFD, "jose@example.com", "JOSE@example.com"}[i%4]
					}
					// A burst past the password-hashing queue is answered
					// 503 with Retry-After; a client tries again.
					for attempt := 0; ; attempt++ {
						r := newClient(t, in.URL).do("POST", "/auth/register", map[string]string{"email": email, "name": "N", "password": password})
						if r.Status == http.StatusServiceUnavailable && r.Header.Get("Retry-After") != "" && attempt < 100 {
							time.Sleep(100 * time.Millisecond)
							continue
						}
						statuses <- r.Status
						return
					}
				}()
			}
			wg.Wait()
			close(statuses)
			for s := range statuses {
				if s != http.StatusCreated && s != http.StatusConflict {
					t.Errorf("registration status %d", s)
				}
			}
			users, err := in.app.store.users(t.Context(), 100, 0)
			if err != nil {
				t.Fatal(err)
			}
			count := map[string]int{}
			admins := 0
			for _, u := range users {
				count[u.EmailKey]++
				if u.Role == "admin" {
					admins++
					if u.Email != "admin@example.com" {
						t.Errorf("%s became admin", u.Email)
					}
				}
			}
			if admins != 1 || count["admin@example.com"] != 1 || count["jose@example.com"] != 1 || count[emailNFC] != 1 || len(users) != 11 {
				t.Fatalf("%d admins, accounts %v", admins, count)
			}
			c := newClient(t, in.URL)
			c.login(" Admin@Example.com ", password)
			c.do("GET", "/api/admin/users", nil).expect(t, 200, "")
			newClient(t, in.URL).login(emailNFD, password)
			newClient(t, in.URL).login("Jose@example.com", password)
		})
	}
}

// The login budget counts failures of the canonical account, per client
// and per account: successes cost nothing, spellings share one budget, and
// an attacker's failures do not lock the owner out from another address.
func TestLoginThrottle(t *testing.T) {
	in := start(t, testEnv(t, map[string]string{"COVET_TRUSTED_PROXIES": "127.0.0.1/32"}))
	from := func(ip string) *client {
		c := newClient(t, in.URL)
		c.hdr.Set("X-Forwarded-For", ip)
		return c
	}
	owner := from("198.51.100.2")
	owner.register(emailNFC, "V", password)
	for range 15 {
		owner.login(emailNFC, password) // successes are not counted
	}
	attacker := from("203.0.113.1")
	spellings := []string{emailNFD, " " + emailNFC, "JOS\u00c9@example.com", emailNFC, emailNFC + " "}
	for i := range 10 {
		attacker.do("POST", "/auth/login", map[string]string{"email": spellings[i%len(spellings)], "password": "wrong password 123"}).expect(t, 401, "invalid_credentials")
	}
	// The attacker's budget for this account is spent, in every spelling.
	for _, e := range spellings {
		if r := attacker.do("POST", "/auth/login", map[string]string{"email": e, "password": password}).expect(t, 429, "login_rate_limited"); r.Header.Get("Retry-After") == "" {
			t.Fatal("no Retry-After")
		}
	}
	// The owner, elsewhere, still logs in; other accounts are untouched.
	owner.login(emailNFD, password)
	attacker.register("other@example.com", "O", password)
	attacker.login("other@example.com", password)

	// Many addresses together hit the per-account cap.
	blocked := false
	for i := range 120 {
		c := from("192.0.2." + itoa(i%250+1))
		if r := c.do("POST", "/auth/login", map[string]string{"email": emailNFC, "password": "wrong password 123"}); r.Status == 429 {
			blocked = true
			break
		}
	}
	if !blocked {
		t.Fatal("a distributed guess was never limited per account")
	}
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}
