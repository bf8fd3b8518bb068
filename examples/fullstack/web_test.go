package main

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
)

// TestStaticFilesProblems: a file that is not there is a 404 problem, like
// every other error of the app, not net/http's plain-text page.
func TestStaticFilesProblems(t *testing.T) {
	t.Parallel()
	h := staticFiles()
	tests := []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/static/app.js", 200, ""},
		{"HEAD", "/static/style.css", 200, ""},
		{"GET", "/static/", 200, ""},
		{"GET", "/static/nope.js", 404, "file_not_found"},
		{"GET", "/static/.env", 404, "file_not_found"},
		{"GET", "/static/.git/config", 404, "file_not_found"},
		{"GET", "/static/APP.JS", 404, "file_not_found"},
		{"GET", "/static/app.js/x", 404, "file_not_found"},
		{"GET", "/static//etc/passwd", 404, "file_not_found"},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(tc.method, tc.path, nil))
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if tc.code == "" {
				return
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("Content-Type %q, want problem+json: %s", ct, w.Body)
			}
			var p struct{ Code string }
			if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || p.Code != tc.code {
				t.Fatalf("code %q (%v), want %q: %s", p.Code, err, tc.code, w.Body)
			}
		})
	}
}
