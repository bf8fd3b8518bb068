package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMethodNotAllowedListsAllow checks that a 405 carries the Allow header
// RFC 9110 requires, on the top router and in mounted subrouters.
func TestMethodNotAllowedListsAllow(t *testing.T) {
	in := start(t, testEnv(t, nil))
	c := newClient(t, in.URL)
	c.register("allow@example.com", "Allow", password)
	c.login("allow@example.com", password)
	note := c.do("POST", "/api/notes", map[string]string{"title": "Allow", "body": "x"}).expect(t, 201, "").json(t)
	notePath := "/api/notes/" + fmt.Sprint(note["id"])
	for _, tc := range []struct{ method, path, allow string }{
		{"DELETE", "/", "GET"},
		{"GET", "/auth/login", "POST"},
		{"DELETE", "/api/notes", "GET, POST"},
		{"POST", "/api/me", "GET"},
		{"PATCH", notePath, "GET, PUT, DELETE"},
		{"POST", notePath + "/", "GET, PUT, DELETE"},
	} {
		r := c.do(tc.method, tc.path, nil).expect(t, 405, "")
		if got := r.Header.Get("Allow"); got != tc.allow {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.path, got, tc.allow)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("%s %s: Content-Type %q", tc.method, tc.path, ct)
		}
	}
}

// TestDataDir checks where the default SQLite database goes: under
// COVET_DATA_DIR, else under the user's cache directory, never the
// current directory; COVET_DB_DSN overrides it.
func TestDataDir(t *testing.T) {
	env := map[string]string{}
	get := func(k string) string { return env[k] }
	c, err := loadConfig(get)
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(c.DataDir) || filepath.Dir(c.DBDSN) != c.DataDir || !c.DBInDataDir {
		t.Fatalf("default data dir %q, db %q", c.DataDir, c.DBDSN)
	}
	env["COVET_DATA_DIR"] = "/srv/covet"
	if c, err = loadConfig(get); err != nil || c.DBDSN != "/srv/covet/covet-fullstack.db" {
		t.Fatalf("COVET_DATA_DIR: %q, %v", c.DBDSN, err)
	}
	env["COVET_DB_DSN"] = "/elsewhere/app.db"
	if c, err = loadConfig(get); err != nil || c.DBDSN != "/elsewhere/app.db" || c.DBInDataDir {
		t.Fatalf("COVET_DB_DSN: %q, %v", c.DBDSN, err)
	}
}

// TestRunFailsFastOnTakenPort starts the app on an address already in use:
// it must fail before it opens or migrates the database.
func TestRunFailsFastOnTakenPort(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	dir := t.TempDir()
	env := map[string]string{
		"COVET_ADDR":       taken.Addr().String(),
		"COVET_DATA_DIR":   dir,
		"COVET_SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	err = run(ctx, func(k string) string { return env[k] }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("run on a taken port = %v", err)
	}
	if _, serr := os.Stat(filepath.Join(dir, "covet-fullstack.db")); !errors.Is(serr, os.ErrNotExist) {
		t.Fatalf("the database was opened before the port was bound (%v); run took %v", serr, time.Since(start))
	}
}
