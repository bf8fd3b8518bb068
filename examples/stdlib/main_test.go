package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/covetgo/covet/authn"
)

func TestStdlibStack(t *testing.T) {
	keys := authn.NewMemoryAPIKeys()
	writerKey, rec, _ := authn.NewAPIKey("demo")
	rec.Subject, rec.Roles = "w", []string{"writer"}
	keys.Add(rec)
	readerKey, rec2, _ := authn.NewAPIKey("demo")
	rec2.Subject, rec2.Roles = "r", []string{"reader"}
	keys.Add(rec2)
	h, err := newHandler(keys)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	do := func(method, path, key, body string) (*http.Response, map[string]any) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if key != "" {
			req.Header.Set("X-API-Key", key)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp, m
	}
	tests := []struct {
		name, method, path, key, body string
		status                        int
		code                          string
	}{
		{"no key", "GET", "/notes", "", "", 401, "unauthenticated"},
		{"bad key", "GET", "/notes", "demo_0000000000000000_nope", "", 401, "invalid_credentials"},
		{"writer creates", "POST", "/notes", writerKey, `{"title":"hi"}`, 201, ""},
		{"writer reads", "GET", "/notes/1", writerKey, "", 200, ""},
		{"writer lists", "GET", "/notes", writerKey, "", 200, ""},
		{"reader may not write", "POST", "/notes", readerKey, `{"title":"hi"}`, 403, "forbidden"},
		{"reader cannot see another's note", "GET", "/notes/1", readerKey, "", 404, "note_not_found"},
		{"invalid body", "POST", "/notes", writerKey, `{"title":""}`, 422, "validation_failed"},
		{"unknown field", "POST", "/notes", writerKey, `{"title":"x","owner":"r"}`, 400, ""},
		{"wrong method", "DELETE", "/notes/1", writerKey, "", 405, ""},
		{"no route", "GET", "/nowhere", writerKey, "", 404, "route_not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, m := do(tt.method, tt.path, tt.key, tt.body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %v", resp.StatusCode, tt.status, m)
			}
			if tt.code != "" && m["code"] != tt.code {
				t.Fatalf("code %v, want %s", m["code"], tt.code)
			}
			// JSON says so: with nosniff, a sniffed text/plain is what
			// the client gets.
			if ct := resp.Header.Get("Content-Type"); resp.StatusCode < 300 && ct != "application/json" {
				t.Fatalf("Content-Type %q, want application/json", ct)
			}
			if resp.Header.Get("X-Request-ID") == "" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Fatalf("stage headers missing: %v", resp.Header)
			}
		})
	}
}
