package main

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/covetgo/covet/errs"
)

// The generated development key is never written to the log, in any
// encoding; the warning says how to set one. Staging, like production,
// refuses to start without COVET_SECRET_KEY.
func TestGeneratedSecretNeverLogged(t *testing.T) {
	cfg, err := loadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	var buf syncBuffer
	warnGeneratedSecret(newLogger(cfg.Mode, &buf), cfg)
	out := buf.String()
	for _, enc := range []string{
		base64.RawURLEncoding.EncodeToString(cfg.SecretKey), base64.StdEncoding.EncodeToString(cfg.SecretKey),
		base64.RawStdEncoding.EncodeToString(cfg.SecretKey), hex.EncodeToString(cfg.SecretKey), string(cfg.SecretKey),
	} {
		if strings.Contains(out, enc) {
			t.Fatalf("the generated key is in the log: %s", out)
		}
	}
	if !strings.Contains(out, "Set COVET_SECRET_KEY") {
		t.Fatalf("the warning does not say how to set a key: %s", out)
	}
	for _, mode := range []string{"staging", "production"} {
		if _, err := loadConfig(func(k string) string { return map[string]string{"COVET_ENV": mode}[k] }); err == nil || !strings.HasPrefix(err.Error(), "COVET_SECRET_KEY: ") {
			t.Errorf("%s without COVET_SECRET_KEY: %v, want a COVET_SECRET_KEY error", mode, err)
		}
	}
}

// logLines returns the JSON log records whose msg is msg.
func logLines(t *testing.T, logs string, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(logs, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// Behind a trusted proxy the access log records the client the proxy
// forwarded, not the proxy.
func TestAccessLogRecordsClientBehindProxy(t *testing.T) {
	var logs syncBuffer
	in := startLogged(t, testEnv(t, map[string]string{"COVET_TRUSTED_PROXIES": "127.0.0.1/32"}), &logs)
	c := newClient(t, in.URL)
	c.hdr.Set("X-Forwarded-For", "203.0.113.77")
	c.hdr.Set("X-Request-ID", "client-chosen-id")
	c.do("GET", "/api/me", nil).expect(t, 401, "")
	var found bool
	deadline := time.Now().Add(5 * time.Second)
	for !found && time.Now().Before(deadline) {
		for _, m := range logLines(t, logs.String(), "http request") {
			if m["route"] == "/api/*" {
				found = true
				if m["client_ip"] != "203.0.113.77" {
					t.Fatalf("access log client_ip %v, want the forwarded client: %v", m["client_ip"], m)
				}
				// The loopback peer is a trusted proxy here, so its ID stands.
				if m["request_id"] != "client-chosen-id" {
					t.Fatalf("request_id %v from a trusted proxy not kept", m["request_id"])
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !found {
		t.Fatalf("no access log line: %s", logs.String())
	}
}

// A trusted proxy that forwards no usable address (RFC 7239's "unknown", a
// malformed entry) leaves the client unknown, and the access log says so
// instead of printing the zero address as "invalid IP".
func TestAccessLogUnknownClientBehindProxy(t *testing.T) {
	var logs syncBuffer
	in := startLogged(t, testEnv(t, map[string]string{"COVET_TRUSTED_PROXIES": "127.0.0.1/32"}), &logs)
	c := newClient(t, in.URL)
	c.hdr.Set("X-Forwarded-For", "unknown")
	c.do("GET", "/api/me", nil).expect(t, 401, "")
	var found bool
	deadline := time.Now().Add(5 * time.Second)
	for !found && time.Now().Before(deadline) {
		for _, m := range logLines(t, logs.String(), "http request") {
			if m["route"] == "/api/*" {
				found = true
				if m["client_ip"] != "unknown" {
					t.Fatalf("access log client_ip %v, want unknown: %v", m["client_ip"], m)
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !found {
		t.Fatalf("no access log line: %s", logs.String())
	}
}

// Development logs (debug level, every failure) never carry a password
// hash, a token or the password itself, even when a query fails with the
// hash among its parameters (a duplicate registration).
func TestDevelopmentLogsHoldNoSecrets(t *testing.T) {
	var logs syncBuffer
	in := startLogged(t, testEnv(t, nil), &logs)
	if in.app.cfg.Mode != errs.Development {
		t.Fatal("not development")
	}
	const password = "correct horse battery staple"
	c := newClient(t, in.URL)
	c.register("dev@example.com", "Dev", password)
	c.do("POST", "/auth/register", map[string]string{"email": "dev@example.com", "name": "Again", "password": password}).expect(t, 409, "email_taken")
	pair := c.login("dev@example.com", password)
	c.do("POST", "/auth/login", map[string]string{"email": "dev@example.com", "password": "wrong password 123"}).expect(t, 401, "")
	c.do("POST", "/auth/refresh", map[string]string{"refresh_token": pair["refresh_token"].(string)}).expect(t, 200, "")
	u, err := in.app.store.userByEmail(t.Context(), "dev@example.com")
	if err != nil || u == nil {
		t.Fatal(err)
	}
	in.app.log.Debug("done")
	out := logs.String()
	for name, secret := range map[string]string{
		"password hash": u.PasswordHash, "hash body": u.PasswordHash[len(u.PasswordHash)-20:],
		"argon2 hash (any)": "$argon2", "bcrypt hash (any)": "$2a$",
		"password": password, "access token": pair["access_token"].(string), "refresh token": pair["refresh_token"].(string),
	} {
		if strings.Contains(out, secret) {
			t.Errorf("development log holds the %s", name)
		}
	}
}

// /metrics outside development: not on the public address unless a bearer
// token guards it; COVET_METRICS_ADDR serves it on an internal listener.
func TestMetricsNotPublicInProduction(t *testing.T) {
	const token = "metrics-token-0123456789-abcdefghijkl"
	metricsBody := func(r *response) bool { return strings.Contains(string(r.Body), "covet_http_requests_in_flight") }
	t.Run("production, nothing set", func(t *testing.T) {
		in := start(t, testEnv(t, map[string]string{"COVET_ENV": "production"}))
		r := newClient(t, in.URL).do("GET", "/metrics", nil)
		if r.Status != 404 || metricsBody(r) {
			t.Fatalf("public /metrics in production: %d %.200s", r.Status, r.Body)
		}
	})
	t.Run("staging, nothing set", func(t *testing.T) {
		in := start(t, testEnv(t, map[string]string{"COVET_ENV": "staging"}))
		if r := newClient(t, in.URL).do("GET", "/metrics", nil); r.Status != 404 {
			t.Fatalf("public /metrics in staging: %d", r.Status)
		}
	})
	t.Run("production, bearer token", func(t *testing.T) {
		in := start(t, testEnv(t, map[string]string{"COVET_ENV": "production", "COVET_METRICS_TOKEN": token}))
		c := newClient(t, in.URL)
		c.do("GET", "/metrics", nil).expect(t, 401, "metrics_unauthorized")
		c.hdr.Set("Authorization", "Bearer "+token[:len(token)-1]+"x")
		c.do("GET", "/metrics", nil).expect(t, 401, "metrics_unauthorized")
		c.hdr.Set("Authorization", "Bearer "+token)
		if r := c.do("GET", "/metrics", nil).expect(t, 200, ""); !metricsBody(r) {
			t.Fatalf("no metrics: %.200s", r.Body)
		}
	})
	t.Run("production, internal address", func(t *testing.T) {
		in := start(t, testEnv(t, map[string]string{"COVET_ENV": "production", "COVET_METRICS_ADDR": "127.0.0.1:0"}))
		newClient(t, in.URL).do("GET", "/metrics", nil).expect(t, 404, "")
		addr, _ := in.app.metricsAddr.Load().(string)
		if addr == "" {
			t.Fatal("no internal metrics listener")
		}
		if r := newClient(t, "http://"+addr).do("GET", "/metrics", nil).expect(t, 200, ""); !metricsBody(r) {
			t.Fatalf("no metrics on the internal address: %.200s", r.Body)
		}
	})
	t.Run("development stays open", func(t *testing.T) {
		in := start(t, testEnv(t, nil))
		newClient(t, in.URL).do("GET", "/metrics", nil).expect(t, 200, "")
	})
	for _, bad := range []map[string]string{{"COVET_METRICS_TOKEN": "short"}, {"COVET_METRICS_ADDR": "9090"}} {
		if _, err := loadConfig(func(k string) string { return bad[k] }); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// Turning 2FA on or off needs the current password: a stolen token or an
// open session alone cannot swap or drop the second factor.
func TestTwoFactorChangesNeedPassword(t *testing.T) {
	in := start(t, testEnv(t, nil))
	c := newClient(t, in.URL)
	c.register("tfa@example.com", "T", password)
	c.login("tfa@example.com", password)
	c.do("POST", "/auth/2fa/enroll", nil).expect(t, 415, "")
	c.do("POST", "/auth/2fa/enroll", map[string]string{}).expect(t, 422, "")
	c.do("POST", "/auth/2fa/enroll", map[string]string{"password": "not the password"}).expect(t, 403, "password_confirmation_failed")
	secret := c.do("POST", "/auth/2fa/enroll", map[string]string{"password": password}).expect(t, 200, "").json(t)["secret"].(string)
	code, _ := totp.GenerateCode(secret, time.Now())
	c.do("POST", "/auth/2fa/verify", map[string]string{"code": code}).expect(t, 200, "")

	c.do("POST", "/auth/2fa/disable", map[string]string{"password": "not the password"}).expect(t, 403, "password_confirmation_failed")
	if m := c.do("GET", "/api/me", nil).expect(t, 200, "").json(t); m["totp_enabled"] != true {
		t.Fatalf("2FA turned off without the password: %v", m)
	}
	c.do("POST", "/auth/2fa/disable", map[string]string{"password": password}).expect(t, 200, "")
	if m := c.do("GET", "/api/me", nil).expect(t, 200, "").json(t); m["totp_enabled"] != false {
		t.Fatalf("2FA still on: %v", m)
	}
	// Guessing the password here costs the same budget as logging in.
	for range 12 {
		c.do("POST", "/auth/2fa/enroll", map[string]string{"password": "guess guess guess"})
	}
	c.do("POST", "/auth/2fa/enroll", map[string]string{"password": password}).expect(t, 429, "login_rate_limited")
}
