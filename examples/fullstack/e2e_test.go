package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pquerna/otp/totp"
)

const password = "correct horse battery staple"

func TestRegisterAndLogin(t *testing.T) {
	in := start(t, testEnv(t, nil))
	c := newClient(t, in.URL)

	tests := []struct {
		name   string
		body   any
		ctype  string
		status int
		code   string
	}{
		{"short password", map[string]string{"email": "a@example.com", "name": "A", "password": "short"}, "", 422, "validation_failed"},
		{"bad email", map[string]string{"email": "not-an-email", "name": "A", "password": password}, "", 422, "validation_failed"},
		{"name too long", map[string]string{"email": "a@example.com", "name": strings.Repeat("n", 65), "password": password}, "", 422, "validation_failed"},
		{"missing name", map[string]string{"email": "a@example.com", "password": password}, "", 422, "validation_failed"},
		{"unknown field", `{"email":"a@example.com","name":"A","password":"` + password + `","admin":true}`, "", 400, ""},
		{"duplicate key", `{"email":"a@example.com","email":"b@example.com","name":"A","password":"` + password + `"}`, "", 400, ""},
		{"malformed JSON", `{"email":`, "", 400, ""},
		{"wrong type", `{"email":5,"name":"A","password":"` + password + `"}`, "", 400, ""},
		{"not JSON", `email=a`, "application/x-www-form-urlencoded", 415, ""},
		{"oversized", `{"email":"` + strings.Repeat("a", 2<<20) + `"}`, "", 413, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.t = t
			if tt.ctype != "" {
				c.hdr.Set("Content-Type", tt.ctype)
				defer c.hdr.Del("Content-Type")
			}
			r := c.do("POST", "/auth/register", tt.body) // c.hdr's Content-Type wins
			r.expect(t, tt.status, tt.code)
			if tt.status == 422 {
				if errsList, _ := r.json(t)["errors"].([]any); len(errsList) == 0 {
					t.Fatalf("422 without field errors: %s", r.Body)
				}
			}
		})
	}
	c.t = t

	first := c.register("Admin@Example.com", "Ada", password)
	c.do("POST", "/auth/register", map[string]string{"email": "admin@example.com", "name": "Again", "password": password}).expect(t, 409, "email_taken")

	// Wrong password and unknown account look the same.
	wrong := c.do("POST", "/auth/login", map[string]string{"email": "admin@example.com", "password": "wrong password 123"}).expect(t, 401, "invalid_credentials")
	unknown := c.do("POST", "/auth/login", map[string]string{"email": "nobody@example.com", "password": "wrong password 123"}).expect(t, 401, "invalid_credentials")
	if wrong.json(t)["detail"] != unknown.json(t)["detail"] {
		t.Fatal("wrong password and unknown account are told apart")
	}

	tok := c.login("admin@example.com", password)
	if tok["token_type"] != "Bearer" || tok["refresh_token"] == "" || tok["expires_in"].(float64) <= 0 {
		t.Fatalf("token response %v", tok)
	}
	me := c.do("GET", "/api/me", nil).expect(t, 200, "").json(t)
	if me["id"] != first || me["email"] != "admin@example.com" || me["roles"].([]any)[0] != "admin" || me["auth_method"] != "jwt" {
		t.Fatalf("me %v", me)
	}
	// The same caller through the session cookie alone.
	c.token = ""
	me = c.do("GET", "/api/me", nil).expect(t, 200, "").json(t)
	if me["auth_method"] != "session" {
		t.Fatalf("me by cookie %v", me)
	}
	// A bad token never falls back to the cookie.
	c.token = "not.a.jwt"
	c.do("GET", "/api/me", nil).expect(t, 401, "invalid_token")
}

func TestSessionRotatesAtLogin(t *testing.T) {
	in := start(t, testEnv(t, nil))
	c := newClient(t, in.URL)
	c.register("u@example.com", "U", password)
	c.do("GET", "/", nil).expect(t, 200, "")
	before := sessionCookie(c)
	c.login("u@example.com", password)
	after := sessionCookie(c)
	if after == "" || after == before {
		t.Fatalf("session cookie did not rotate at login: %q → %q", before, after)
	}
	// Logout destroys the session server-side: the old cookie is dead.
	c.token = ""
	c.do("POST", "/auth/logout", nil).expect(t, 204, "")
	replay := newClient(t, in.URL)
	replay.hdr.Set("Cookie", "session="+after)
	replay.do("GET", "/api/me", nil).expect(t, 401, "")
}

func sessionCookie(c *client) string {
	u, _ := http.NewRequest("GET", c.base, nil)
	for _, ck := range c.http.Jar.Cookies(u.URL) {
		if strings.Contains(ck.Name, "session") {
			return ck.Value
		}
	}
	return ""
}

func TestRefreshRotationAndReuse(t *testing.T) {
	in := start(t, testEnv(t, nil))
	c := newClient(t, in.URL)
	c.register("r@example.com", "R", password)
	first := c.login("r@example.com", password)["refresh_token"].(string)

	second := c.do("POST", "/auth/refresh", map[string]string{"refresh_token": first}).expect(t, 200, "").json(t)
	if second["refresh_token"] == first || second["access_token"] == "" {
		t.Fatalf("refresh did not rotate: %v", second)
	}
	// A retry of the first token (its answer lost) gets the same successor.
	again := c.do("POST", "/auth/refresh", map[string]string{"refresh_token": first}).expect(t, 200, "").json(t)
	if again["refresh_token"] != second["refresh_token"] {
		t.Fatalf("retry within the reuse interval got another token")
	}
	third := c.do("POST", "/auth/refresh", map[string]string{"refresh_token": second["refresh_token"].(string)}).expect(t, 200, "").json(t)
	// Once the successor has been used, the first token is reuse: the
	// whole family is revoked...
	c.do("POST", "/auth/refresh", map[string]string{"refresh_token": first}).expect(t, 401, "invalid_refresh_token")
	// ...so the newest token is dead too.
	c.do("POST", "/auth/refresh", map[string]string{"refresh_token": third["refresh_token"].(string)}).expect(t, 401, "invalid_refresh_token")
	c.do("POST", "/auth/refresh", map[string]string{"refresh_token": "garbage"}).expect(t, 401, "invalid_refresh_token")
	c.do("POST", "/auth/refresh", map[string]string{}).expect(t, 422, "validation_failed")

	// Logout revokes the refresh token it is given.
	fourth := c.login("r@example.com", password)["refresh_token"].(string)
	c.do("POST", "/auth/logout", map[string]string{"refresh_token": fourth}).expect(t, 204, "")
	c.do("POST", "/auth/refresh", map[string]string{"refresh_token": fourth}).expect(t, 401, "invalid_refresh_token")
}

func TestTwoFactor(t *testing.T) {
	in := start(t, testEnv(t, nil))
	c := newClient(t, in.URL)
	c.register("t@example.com", "T", password)
	c.login("t@example.com", password)

	c.do("POST", "/auth/2fa/verify", map[string]string{"code": "123456"}).expect(t, 409, "totp_not_enrolled")
	e := c.do("POST", "/auth/2fa/enroll", map[string]string{"password": password}).expect(t, 200, "").json(t)
	secret := e["secret"].(string)
	if !strings.HasPrefix(e["otpauth_url"].(string), "otpauth://totp/") {
		t.Fatalf("enrolment %v", e)
	}
	c.do("POST", "/auth/2fa/verify", map[string]string{"code": "000000"}).expect(t, 401, "invalid_code")
	now := time.Now()
	code, _ := totp.GenerateCode(secret, now)
	c.do("POST", "/auth/2fa/verify", map[string]string{"code": code}).expect(t, 200, "")

	fresh := newClient(t, in.URL)
	fresh.do("POST", "/auth/login", map[string]string{"email": "t@example.com", "password": password}).expect(t, 401, "otp_required")
	// The code that turned 2FA on cannot be used again.
	fresh.do("POST", "/auth/login", map[string]string{"email": "t@example.com", "password": password, "otp": code}).expect(t, 401, "otp_required")
	next, _ := totp.GenerateCode(secret, now.Add(30*time.Second))
	fresh.do("POST", "/auth/login", map[string]string{"email": "t@example.com", "password": password, "otp": next}).expect(t, 200, "")
	fresh.do("POST", "/auth/login", map[string]string{"email": "t@example.com", "password": password, "otp": next}).expect(t, 401, "otp_required")
}

func TestNotesOwnershipAndValidation(t *testing.T) {
	in := start(t, testEnv(t, nil))
	admin := newClient(t, in.URL)
	admin.register("admin@example.com", "Admin", password)
	admin.login("admin@example.com", password)
	alice := newClient(t, in.URL)
	alice.register("alice@example.com", "Alice", password)
	alice.login("alice@example.com", password)
	bob := newClient(t, in.URL)
	bob.register("bob@example.com", "Bob", password)
	bob.login("bob@example.com", password)

	n := alice.do("POST", "/api/notes", map[string]string{"title": "Plan", "body": `<p onclick="x()">Hi <script>alert(1)</script><a href="javascript:alert(1)">x</a></p>`}).expect(t, 201, "").json(t)
	body := n["body"].(string)
	if strings.Contains(body, "script") || strings.Contains(body, "onclick") || strings.Contains(body, "javascript:") || !strings.Contains(body, "<p>") {
		t.Fatalf("body not sanitized: %q", body)
	}
	id := fmt.Sprint(n["id"])
	for i := range 3 {
		alice.do("POST", "/api/notes", map[string]string{"title": fmt.Sprintf("n%d", i), "body": ""}).expect(t, 201, "")
	}
	alice.do("POST", "/api/notes", map[string]string{"title": "", "body": ""}).expect(t, 422, "validation_failed")
	alice.do("POST", "/api/notes", map[string]string{"title": strings.Repeat("t", 201)}).expect(t, 422, "validation_failed")

	list := alice.do("GET", "/api/notes?limit=2&sort=title", nil).expect(t, 200, "").json(t)
	items := list["items"].([]any)
	if len(items) != 2 || items[0].(map[string]any)["title"] != "Plan" {
		t.Fatalf("list %v", list)
	}
	for _, q := range []string{"limit=0", "limit=101", "sort=password", "sort=-id", "offset=-1"} {
		alice.do("GET", "/api/notes?"+q, nil).expect(t, 422, "validation_failed")
	}
	alice.do("GET", "/api/notes?limit=abc", nil).expect(t, 400, "")
	alice.do("GET", "/api/notes?sort=title%3BDROP%20TABLE%20notes", nil).expect(t, 422, "validation_failed")
	if got := bob.do("GET", "/api/notes", nil).expect(t, 200, "").json(t)["items"].([]any); len(got) != 0 {
		t.Fatalf("bob sees alice's notes: %v", got)
	}

	bob.do("GET", "/api/notes/"+id, nil).expect(t, 403, "forbidden")
	bob.do("PUT", "/api/notes/"+id, map[string]string{"title": "mine"}).expect(t, 403, "forbidden")
	bob.do("DELETE", "/api/notes/"+id, nil).expect(t, 403, "forbidden")
	bob.do("GET", "/api/notes/999999", nil).expect(t, 404, "")
	bob.do("GET", "/api/notes/abc", nil).expect(t, 404, "")
	alice.do("GET", "/api/notes/"+id, nil).expect(t, 200, "")
	alice.do("PUT", "/api/notes/"+id, map[string]string{"title": "Plan B", "body": "<b>bold</b>"}).expect(t, 200, "")
	if got := admin.do("GET", "/api/notes/"+id, nil).expect(t, 200, "").json(t); got["title"] != "Plan B" {
		t.Fatalf("admin read %v", got)
	}
	admin.do("GET", "/api/admin/users", nil).expect(t, 200, "")
	alice.do("GET", "/api/admin/users", nil).expect(t, 403, "forbidden")
	alice.do("DELETE", "/api/notes/"+id, nil).expect(t, 204, "")
	alice.do("GET", "/api/notes/"+id, nil).expect(t, 404, "")

	anon := newClient(t, in.URL)
	anon.do("GET", "/api/notes", nil).expect(t, 401, "unauthenticated")
	if h := anon.do("GET", "/api/notes", nil).Header.Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer") {
		t.Fatalf("WWW-Authenticate %q", h)
	}
	anon.hdr.Set("Authorization", "Bearer a b")
	anon.do("GET", "/api/me", nil).expect(t, 400, "")
}

func TestCSRFAndCORS(t *testing.T) {
	in := start(t, testEnv(t, map[string]string{"COVET_CORS_ORIGINS": "http://127.0.0.1:9999"}))
	c := newClient(t, in.URL)
	c.register("c@example.com", "C", password)
	c.login("c@example.com", password)
	c.token = "" // cookie authentication from here on

	c.hdr.Set("Origin", "https://evil.example")
	c.hdr.Set("Sec-Fetch-Site", "cross-site")
	c.do("POST", "/api/notes", map[string]string{"title": "csrf"}).expect(t, 403, "csrf_cross_origin")
	c.hdr.Set("Origin", "http://127.0.0.1:9999")
	c.do("POST", "/api/notes", map[string]string{"title": "allowed origin"}).expect(t, 201, "")
	c.hdr.Del("Origin")
	c.hdr.Set("Sec-Fetch-Site", "same-origin")
	c.do("POST", "/api/notes", map[string]string{"title": "same origin"}).expect(t, 201, "")
	c.hdr = http.Header{}

	pre := func(origin string) *response {
		req, _ := http.NewRequest("OPTIONS", in.URL+"/api/notes", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return &response{Status: resp.StatusCode, Header: resp.Header}
	}
	ok := pre("http://127.0.0.1:9999")
	if ok.Status != 204 || ok.Header.Get("Access-Control-Allow-Origin") != "http://127.0.0.1:9999" || ok.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("allowed preflight: %d %v", ok.Status, ok.Header)
	}
	if bad := pre("https://evil.example"); bad.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("refused preflight carries CORS headers: %v", bad.Header)
	}
}

func TestRateLimits(t *testing.T) {
	in := start(t, testEnv(t, map[string]string{"COVET_RATE_AUTH": "5"}))
	c := newClient(t, in.URL)
	var limited *response
	for i := range 10 {
		r := c.do("POST", "/auth/refresh", map[string]string{"refresh_token": "x"})
		if r.Status == 429 {
			limited = r
			if i < 5 {
				t.Fatalf("limited after %d requests, want 5 allowed", i)
			}
			break
		}
	}
	if limited == nil {
		t.Fatal("never limited")
	}
	if limited.code(t) != "rate_limited" || limited.Header.Get("Retry-After") == "" || limited.Header.Get("RateLimit-Policy") == "" {
		t.Fatalf("429: %v %s", limited.Header, limited.Body)
	}
	// Other routes have their own budget.
	c.do("GET", "/", nil).expect(t, 200, "")
}

func TestLoginBruteForcePerAccount(t *testing.T) {
	in := start(t, testEnv(t, nil))
	c := newClient(t, in.URL)
	c.register("v@example.com", "V", password)
	for range 10 {
		c.do("POST", "/auth/login", map[string]string{"email": "v@example.com", "password": "wrong password 123"}).expect(t, 401, "invalid_credentials")
	}
	c.do("POST", "/auth/login", map[string]string{"email": "v@example.com", "password": password}).expect(t, 429, "login_rate_limited")
	// Another account is not affected.
	c.register("w@example.com", "W", password)
	c.login("w@example.com", password)
}

func TestPlumbing(t *testing.T) {
	in := start(t, testEnv(t, nil))
	c := newClient(t, in.URL)
	c.do("GET", "/healthz", nil).expect(t, 200, "")
	ready := c.do("GET", "/readyz", nil).expect(t, 200, "").json(t)
	if !strings.Contains(fmt.Sprint(ready), "migrations") {
		t.Fatalf("readyz %v", ready)
	}
	c.do("GET", "/api/me", nil)
	if m := c.do("GET", "/metrics", nil).expect(t, 200, ""); !strings.Contains(string(m.Body), `covet_http_requests_total{method="GET",route="/api/*",status="401"}`) &&
		!strings.Contains(string(m.Body), `route="/api/me"`) {
		t.Fatalf("metrics lack the route label: %s", m.Body)
	}
	jwks := c.do("GET", "/.well-known/jwks.json", nil).expect(t, 200, "").json(t)
	if keys, _ := jwks["keys"].([]any); len(keys) == 0 {
		t.Fatalf("jwks %v", jwks)
	}
	page := c.do("GET", "/", nil).expect(t, 200, "")
	csp := page.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") || page.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("security headers %v", page.Header)
	}
	if page.Header.Get("Strict-Transport-Security") != "" {
		t.Fatal("HSTS sent over plain HTTP")
	}
	c.do("GET", "/nope", nil).expect(t, 404, "route_not_found")
	c.do("GET", "/static/../main.go", nil).expect(t, 400, "")
	c.do("GET", "/api/%2e%2e/admin/users", nil).expect(t, 400, "")
	if id := c.do("GET", "/nope", nil).Header.Get("X-Request-ID"); len(id) != 32 {
		t.Fatalf("request ID %q", id)
	}
	// Compression.
	req, _ := http.NewRequest("GET", in.URL+"/static/app.js", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("app.js not compressed: %v", resp.Header)
	}
}

func TestChat(t *testing.T) {
	in := start(t, testEnv(t, nil))
	a := newClient(t, in.URL)
	a.register("a@example.com", "Ann", password)
	a.login("a@example.com", password)
	b := newClient(t, in.URL)
	b.register("b@example.com", "Ben", password)
	b.login("b@example.com", password)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ca := dialChat(ctx, t, in.URL, a.token)
	cb := dialChat(ctx, t, in.URL, b.token)
	send(ctx, t, ca, map[string]string{"type": "join", "room": "lobby"})
	send(ctx, t, cb, map[string]string{"type": "join", "room": "lobby"})
	waitPresence(t, in.app, "lobby", 2)
	send(ctx, t, cb, map[string]string{"type": "say", "room": "lobby", "text": "hello from Ben"})
	msg := readMessage(ctx, t, ca)
	data := msg["data"].(map[string]any)
	if data["from"] != "Ben" || data["text"] != "hello from Ben" || msg["room"] != "lobby" {
		t.Fatalf("message %v", msg)
	}

	// Refused before the upgrade: no credentials, a foreign origin.
	_, resp, err := websocket.Dial(ctx, wsURL(in.URL), &websocket.DialOptions{Subprotocols: []string{chatProtocol}})
	if err == nil || resp == nil || resp.StatusCode != 401 {
		t.Fatalf("anonymous socket: %v %v", err, resp)
	}
	h := http.Header{"Authorization": {"Bearer " + a.token}, "Origin": {"https://evil.example"}}
	_, resp, err = websocket.Dial(ctx, wsURL(in.URL), &websocket.DialOptions{HTTPHeader: h, Subprotocols: []string{chatProtocol}})
	if err == nil || resp == nil || resp.StatusCode != 403 {
		t.Fatalf("cross-origin socket: %v %v", err, resp)
	}
}

func wsURL(base string) string { return "ws" + strings.TrimPrefix(base, "http") + "/ws" }

func dialChat(ctx context.Context, t *testing.T, base, token string) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.Dial(ctx, wsURL(base), &websocket.DialOptions{
		HTTPHeader:   http.Header{"Authorization": {"Bearer " + token}},
		Subprotocols: []string{chatProtocol},
	})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close(websocket.StatusNormalClosure, "") })
	return c
}

func send(ctx context.Context, t *testing.T, c *websocket.Conn, v any) {
	t.Helper()
	b, _ := json.Marshal(v)
	if err := c.Write(ctx, websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
}

// readMessage returns the next chat line, skipping other message types.
func readMessage(ctx context.Context, t *testing.T, c *websocket.Conn) map[string]any {
	t.Helper()
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if m["type"] == "message" {
			return m
		}
		if m["type"] == "error" {
			t.Fatalf("error message: %s", b)
		}
	}
}

func waitPresence(t *testing.T, a *app, room string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for a.hub.Presence(room) < n {
		if time.Now().After(deadline) {
			t.Fatalf("presence in %s: %d, want %d", room, a.hub.Presence(room), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestModes breaks the database under a running app and reads the 5xx each
// environment mode answers: Production reveals nothing, Staging and
// Development show the stack, and no mode shows a secret.
func TestModes(t *testing.T) {
	for _, mode := range []string{"production", "staging", "development"} {
		t.Run(mode, func(t *testing.T) {
			in := start(t, testEnv(t, map[string]string{"COVET_ENV": mode}))
			c := newClient(t, in.URL)
			c.register("m@example.com", "M", password)
			c.login("m@example.com", password)
			if err := in.app.db.SQL().Close(); err != nil {
				t.Fatal(err)
			}
			r := c.do("GET", "/api/notes", nil)
			if r.Status < 500 {
				t.Fatalf("status %d after the database closed: %s", r.Status, r.Body)
			}
			m := r.json(t)
			body := string(r.Body)
			for _, secret := range []string{password, c.token, "test-secret-key"} {
				if strings.Contains(body, secret) {
					t.Fatalf("%s response reveals a secret: %s", mode, body)
				}
			}
			_, hasStack := m["stack"]
			_, hasContext := m["context"]
			switch mode {
			case "production":
				if hasStack || hasContext || strings.Contains(body, "closed") || !strings.Contains(m["detail"].(string), "correlation ID") {
					t.Fatalf("production 5xx reveals internals: %s", body)
				}
			default:
				if !hasStack {
					t.Fatalf("%s 5xx without a stack: %s", mode, body)
				}
				for _, f := range m["stack"].([]any) {
					if file := f.(map[string]any)["file"].(string); strings.HasPrefix(file, "/") {
						t.Fatalf("absolute path in the stack: %s", file)
					}
				}
			}
			if m["correlation_id"] == "" || m["correlation_id"] != r.Header.Get("X-Request-ID") {
				t.Fatalf("correlation ID %v vs header %q", m["correlation_id"], r.Header.Get("X-Request-ID"))
			}
		})
	}
}
