package observe_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/covetgo/covet/observe"
)

// FuzzAccessLog feeds arbitrary request lines, headers and peer addresses
// through AccessLog on a chi router: every request must give exactly one
// record that parses as JSON, whose route is a registered pattern or
// UnmatchedRoute, and which never contains the raw path.
func FuzzAccessLog(f *testing.F) {
	f.Add("GET", "/users/42", "192.0.2.1:1234", "req-1")
	f.Add("POST", "/users/%2e%2e/admin?x=1", "[::1]:80", "")
	f.Add("GET\r\n", "/\"}\n{\"forged\":true}", "garbage", "a\nb")
	f.Add("M-SEARCH", "/users/\u2028x", "", strings.Repeat("x", 100))
	f.Fuzz(func(t *testing.T, method, rawPath, remoteAddr, requestID string) {
		var buf, lines bytes.Buffer
		al, err := observe.NewAccessLog(observe.AccessLogOptions{
			Logger:    slog.New(slog.NewJSONHandler(&buf, nil)),
			SkipPaths: []string{"/healthz"},
		})
		if err != nil {
			t.Fatal(err)
		}
		byWriter, err := observe.NewAccessLog(observe.AccessLogOptions{Writer: &lines, SkipPaths: []string{"/healthz"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, stage := range []*observe.AccessLogStage{al, byWriter} {
			r := chi.NewRouter()
			r.Use(trustAllRequestID, stage.Handler)
			r.Get("/users/{id}", func(w http.ResponseWriter, r *http.Request) {
				observe.AddAttrs(r.Context(), slog.String("id", chi.URLParam(r, "id")))
			})
			r.Get("/healthz", func(http.ResponseWriter, *http.Request) {})

			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.Method = method
			req.URL = &url.URL{Path: rawPath}
			req.RequestURI = rawPath
			req.RemoteAddr = remoteAddr
			req.Header.Set("X-Request-ID", requestID)
			r.ServeHTTP(httptest.NewRecorder(), req)
		}
		if !sameRecord(buf.Bytes(), lines.Bytes(), !observe.ValidRequestID(requestID)) {
			t.Fatalf("Writer and Logger records differ:\n%s\n%s", lines.Bytes(), buf.Bytes())
		}

		out := buf.Bytes()
		if rawPath == "/healthz" {
			if len(out) != 0 {
				t.Fatalf("skipped path logged: %s", out)
			}
			return
		}
		if bytes.Count(out, []byte("\n")) != 1 {
			t.Fatalf("want one record, got %q", out)
		}
		var rec map[string]any
		if err := json.Unmarshal(out, &rec); err != nil {
			t.Fatalf("record is not JSON: %v: %q", err, out)
		}
		route, _ := rec["route"].(string)
		if route != "/users/{id}" && route != "/healthz" && route != observe.UnmatchedRoute {
			t.Fatalf("route %q is not a pattern", route)
		}
		if _, ok := rec["forged"]; ok {
			t.Fatalf("path injected a key: %s", out)
		}
	})
}

// sameRecord reports whether two access-log outputs hold the same record,
// apart from the time, the duration and, with randomID, the request ID.
func sameRecord(a, b []byte, randomID bool) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var ra, rb map[string]any
	if json.Unmarshal(a, &ra) != nil || json.Unmarshal(b, &rb) != nil {
		return false
	}
	ignore := []string{"time", "duration"}
	if randomID {
		ignore = append(ignore, "request_id")
	}
	for _, k := range ignore {
		delete(ra, k)
		delete(rb, k)
	}
	return reflect.DeepEqual(ra, rb)
}
