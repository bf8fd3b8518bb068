package main

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/pquerna/otp/totp"

	"github.com/covetgo/covet/internal/testsvc"
)

// freshDatabase creates an empty database named for one test on the server
// behind dsn (driver is the database/sql driver name) and drops it after.
func freshDatabase(t *testing.T, driver, dsn, dropSuffix string) string {
	t.Helper()
	admin, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name := fmt.Sprintf("covet_fullstack_%d", rand.Uint32())
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		if db, err := sql.Open(driver, dsn); err == nil {
			_, _ = db.Exec("DROP DATABASE IF EXISTS " + name + dropSuffix)
			db.Close()
		}
	})
	return name
}

// freshPostgres creates an empty database for one test and returns its URL.
func freshPostgres(t *testing.T) string {
	t.Helper()
	dsn := testsvc.PostgresDSN(t)
	name := freshDatabase(t, "pgx", dsn, " WITH (FORCE)")
	u, _ := url.Parse(dsn)
	u.Path = "/" + name
	return u.String()
}

// freshMySQL creates an empty MariaDB database and returns a mysql:// URL.
func freshMySQL(t *testing.T) string {
	t.Helper()
	dsn := testsvc.MySQLDSN(t)
	name := freshDatabase(t, "mysql", dsn, "")
	host := "127.0.0.1:3306"
	if i := strings.Index(dsn, "tcp("); i >= 0 {
		host = dsn[i+4 : i+strings.IndexByte(dsn[i:], ')')]
	}
	return "mysql://root:@" + host + "/" + name
}

func redisPrefix() string { return fmt.Sprintf("covet:fullstack:test:%d:", rand.Uint64()) }

// smoke drives the main flows through one instance.
func smoke(t *testing.T, in *instance) {
	t.Helper()
	c := newClient(t, in.URL)
	c.register("smoke@example.com", "Smoke", password)
	c.do("POST", "/auth/register", map[string]string{"email": "smoke@example.com", "name": "Again", "password": password}).expect(t, 409, "email_taken")
	c.login("smoke@example.com", password)
	n := c.do("POST", "/api/notes", map[string]string{"title": "On a real database", "body": "<em>yes</em>"}).expect(t, 201, "").json(t)
	id := fmt.Sprint(n["id"])
	c.do("PUT", "/api/notes/"+id, map[string]string{"title": strings.Repeat("x", 200), "body": ""}).expect(t, 200, "")
	if items := c.do("GET", "/api/notes?sort=-created_at", nil).expect(t, 200, "").json(t)["items"].([]any); len(items) != 1 {
		t.Fatalf("items %v", items)
	}
	c.do("DELETE", "/api/notes/"+id, nil).expect(t, 204, "")
	c.do("GET", "/api/notes/"+id, nil).expect(t, 404, "")

	// Two-factor authentication: the used step is kept in the database,
	// failures in Redis when there is one.
	secret := c.do("POST", "/auth/2fa/enroll", map[string]string{"password": password}).expect(t, 200, "").json(t)["secret"].(string)
	now := time.Now()
	code, _ := totp.GenerateCode(secret, now)
	c.do("POST", "/auth/2fa/verify", map[string]string{"code": code}).expect(t, 200, "")
	fresh := newClient(t, in.URL)
	fresh.do("POST", "/auth/login", map[string]string{"email": "smoke@example.com", "password": password, "otp": code}).expect(t, 401, "otp_required")
	next, _ := totp.GenerateCode(secret, now.Add(30*time.Second))
	fresh.do("POST", "/auth/login", map[string]string{"email": "smoke@example.com", "password": password, "otp": next}).expect(t, 200, "")
}

func TestOnPostgresAndRedis(t *testing.T) {
	env := testEnv(t, map[string]string{
		"COVET_DB_DSN":       freshPostgres(t),
		"COVET_REDIS_ADDR":   testsvc.RedisAddr(t),
		"COVET_REDIS_PREFIX": redisPrefix(),
	})
	in := start(t, env)
	ready := newClient(t, in.URL).do("GET", "/readyz", nil).expect(t, 200, "")
	if !strings.Contains(string(ready.Body), `"redis"`) {
		t.Fatalf("readyz does not check Redis: %s", ready.Body)
	}
	smoke(t, in)
}

func TestOnMariaDB(t *testing.T) {
	in := start(t, testEnv(t, map[string]string{"COVET_DB_DSN": freshMySQL(t)}))
	smoke(t, in)
}

// TestScaleOut runs two instances on one PostgreSQL database and one Redis,
// as a deployment behind a load balancer would: on a single Redis node, on
// a three-master Redis Cluster, and with NATS carrying the chat rooms.
func TestScaleOut(t *testing.T) {
	t.Run("redis", func(t *testing.T) {
		testScaleOut(t, map[string]string{"COVET_REDIS_ADDR": testsvc.RedisAddr(t)})
	})
	t.Run("redis-cluster", func(t *testing.T) {
		testScaleOut(t, map[string]string{"COVET_REDIS_ADDR": strings.Join(testsvc.RedisClusterAddrs(t), ",")})
	})
	t.Run("nats", func(t *testing.T) {
		testScaleOut(t, map[string]string{"COVET_REDIS_ADDR": testsvc.RedisAddr(t), "COVET_NATS_URL": testsvc.NATSURL(t)})
	})
}

func testScaleOut(t *testing.T, stores map[string]string) {
	env := testEnv(t, map[string]string{
		"COVET_DB_DSN":       freshPostgres(t),
		"COVET_REDIS_PREFIX": redisPrefix(),
		"COVET_RATE_AUTH":    "20",
	})
	for k, v := range stores {
		env[k] = v
	}
	a := start(t, env)
	b := start(t, env)
	if stores["COVET_NATS_URL"] != "" && (a.app.nats == nil || b.app.nats == nil) {
		t.Fatal("COVET_NATS_URL is set but the app does not use NATS")
	}

	t.Run("rate limit is shared", func(t *testing.T) {
		// 40 requests alternating between the instances: together they
		// admit the limit once (one more may refill if the burst takes
		// longer than the 3 s a token takes to come back).
		admitted := 0
		for i := range 40 {
			base := a.URL
			if i%2 == 1 {
				base = b.URL
			}
			r := newClient(t, base).do("POST", "/auth/refresh", map[string]string{"refresh_token": "x"})
			if r.Status != 429 {
				admitted++
			}
		}
		if admitted < 20 || admitted > 21 {
			t.Fatalf("admitted %d across two instances, want the shared limit of 20", admitted)
		}
	})

	ca := newClient(t, a.URL)
	// Wait for the bucket to refill enough for register and login.
	waitFor(t, 10*time.Second, func() bool {
		return ca.do("POST", "/auth/register", map[string]string{"email": "scale@example.com", "name": "Scale", "password": password}).Status == 201
	})
	waitFor(t, 10*time.Second, func() bool {
		r := ca.do("POST", "/auth/login", map[string]string{"email": "scale@example.com", "password": password})
		if r.Status == 200 {
			ca.token = r.json(t)["access_token"].(string)
			return true
		}
		return false
	})

	t.Run("session made on A works on B", func(t *testing.T) {
		cb := newClient(t, b.URL)
		cb.http.Jar = ca.http.Jar // the same browser: cookies ignore the port
		me := cb.do("GET", "/api/me", nil).expect(t, 200, "").json(t)
		if me["auth_method"] != "session" || me["email"] != "scale@example.com" {
			t.Fatalf("me on B %v", me)
		}
	})

	t.Run("token issued by A verifies on B", func(t *testing.T) {
		cb := newClient(t, b.URL)
		cb.token = ca.token
		me := cb.do("GET", "/api/me", nil).expect(t, 200, "").json(t)
		if me["auth_method"] != "jwt" {
			t.Fatalf("me on B %v", me)
		}
	})

	t.Run("chat crosses instances", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		onA := dialChat(ctx, t, a.URL, ca.token)
		onB := dialChat(ctx, t, b.URL, ca.token)
		send(ctx, t, onA, map[string]string{"type": "join", "room": "lobby"})
		send(ctx, t, onB, map[string]string{"type": "join", "room": "lobby"})
		waitPresence(t, a.app, "lobby", 1)
		waitPresence(t, b.app, "lobby", 1)
		// The subscription to the room's channel may lag the join by a
		// round trip; send until the other side hears it.
		var once sync.Once
		got := make(chan map[string]any, 1)
		go func() {
			m := readMessage(ctx, t, onA)
			once.Do(func() { got <- m })
		}()
		deadline := time.After(10 * time.Second)
		for {
			send(ctx, t, onB, map[string]string{"type": "say", "room": "lobby", "text": "from B"})
			select {
			case m := <-got:
				if m["data"].(map[string]any)["text"] != "from B" {
					t.Fatalf("message %v", m)
				}
				return
			case <-time.After(200 * time.Millisecond):
			case <-deadline:
				t.Fatal("the message sent on B never reached A")
			}
		}
	})
}

func waitFor(t *testing.T, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(250 * time.Millisecond)
	}
}
