package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/serve"
)

// instance is one running copy of the app on a loopback port.
type instance struct {
	URL  string
	app  *app
	done chan error
	stop context.CancelFunc
}

// testEnv is the environment of a test instance: a fresh SQLite file and
// generous limits unless the test says otherwise.
func testEnv(t *testing.T, extra map[string]string) map[string]string {
	env := map[string]string{
		"COVET_ENV":         "development",
		"COVET_DB_DSN":      filepath.Join(t.TempDir(), "app.db"),
		"COVET_SECRET_KEY":  "test-secret-key-that-is-long-enough-0123456789",
		"COVET_RATE_GLOBAL": "100000",
		"COVET_RATE_AUTH":   "100000",
		"COVET_RATE_API":    "100000",
		"COVET_ADMIN_EMAIL": "admin@example.com",
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// start runs the app with env until the test ends, once it is ready.
func start(t *testing.T, env map[string]string) *instance {
	t.Helper()
	in := launchLogged(t, env, nil)
	waitReady(t, in)
	return in
}

// startLogged runs the app like start, writing its logs to logs as well
// (at debug level, with the app's own logger: newLogger).
func startLogged(t *testing.T, env map[string]string, logs io.Writer) *instance {
	t.Helper()
	in := launchLogged(t, env, logs)
	waitReady(t, in)
	return in
}

// waitReady waits until the app's /readyz answers 200.
func waitReady(t *testing.T, in *instance) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(in.URL + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("app not ready: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// syncBuffer is a log sink tests read while the app writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// launch runs the app with env until the test ends, without waiting for it
// to be ready.
func launch(t *testing.T, env map[string]string) *instance {
	t.Helper()
	return launchLogged(t, env, nil)
}

// launchLogged is launch with the app's logs also written to logs.
func launchLogged(t *testing.T, env map[string]string, logs io.Writer) *instance {
	t.Helper()
	return launchConfigured(t, env, logs, nil)
}

// launchConfigured is launchLogged with the configuration adjusted by
// tweak (when set) before the app is built.
func launchConfigured(t *testing.T, env map[string]string, logs io.Writer, tweak func(*config)) *instance {
	t.Helper()
	cfg, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	if tweak != nil {
		tweak(cfg)
	}
	var out io.Writer = io.Discard
	if logs != nil {
		out = logs
	}
	if os.Getenv("COVET_TEST_LOGS") == "1" {
		out = io.MultiWriter(out, os.Stderr)
	}
	logger := newLogger(cfg.Mode, out)
	errs.Configure(errs.Config{Mode: cfg.Mode, Logger: logger, AuditLogger: logger})
	ctx, cancel := context.WithCancel(context.Background())
	a, err := newApp(ctx, cfg, logger)
	if err != nil {
		cancel()
		t.Fatalf("newApp: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := newServer(a, serve.Options{Listener: ln, Logger: logger, Signals: []os.Signal{}, ShutdownTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	in := &instance{URL: "http://" + ln.Addr().String(), app: a, done: make(chan error, 1), stop: cancel}
	go func() { in.done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-in.done:
			if err != nil {
				t.Errorf("server stopped with %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("server did not stop")
		}
	})
	return in
}

// client is a browser-like HTTP client with a cookie jar.
type client struct {
	t     *testing.T
	base  string
	http  *http.Client
	token string // bearer token, when set
	hdr   http.Header
}

func newClient(t *testing.T, base string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: base, http: &http.Client{Jar: jar, Timeout: 30 * time.Second}, hdr: http.Header{}}
}

// response is a finished request: status, headers and decoded JSON body.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r *response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body is not a JSON object (%d): %q", r.Status, r.Body)
	}
	return m
}

// code returns the problem code of an error response.
func (r *response) code(t *testing.T) string {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("status %d with Content-Type %q, want problem+json: %s", r.Status, ct, r.Body)
	}
	c, _ := r.json(t)["code"].(string)
	return c
}

func (c *client) do(method, path string, body any) *response {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range c.hdr {
		req.Header[k] = v
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// expect fails the test unless the response has the status (and, for
// errors, the problem code).
func (r *response) expect(t *testing.T, status int, code string) *response {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if code != "" {
		if got := r.code(t); got != code {
			t.Fatalf("code %q, want %q: %s", got, code, r.Body)
		}
	}
	return r
}

// register makes an account and returns its ID.
func (c *client) register(email, name, password string) float64 {
	c.t.Helper()
	m := c.do("POST", "/auth/register", map[string]string{"email": email, "name": name, "password": password}).expect(c.t, 201, "").json(c.t)
	return m["id"].(float64)
}

// login logs in and keeps the access token for later requests.
func (c *client) login(email, password string) map[string]any {
	c.t.Helper()
	m := c.do("POST", "/auth/login", map[string]string{"email": email, "password": password}).expect(c.t, 200, "").json(c.t)
	c.token = m["access_token"].(string)
	return m
}
