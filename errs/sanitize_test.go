package errs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"testing"
)

const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlLWJ5dGVz"

func TestSanitizerKeys(t *testing.T) {
	t.Parallel()
	s := NewSanitizer(SanitizerOptions{})
	tests := []struct {
		key       string
		sensitive bool
	}{
		{"password", true},
		{"Password", true},
		{"user_password", true},
		{"passwd", true},
		{"PASS-WORD", true},
		{"client_secret", true},
		{"access_token", true},
		{"refreshToken", true},
		{"api_key", true},
		{"apiKey", true},
		{"X-API-Key", true},
		{"Authorization", true},
		{"cookie", true},
		{"Set-Cookie", true},
		{"session_id", true},
		{"private_key", true},
		{"credit_card", true},
		{"card.number", true},
		{"ssn", true},
		{"SSN", true},
		{"pin", true},
		{"cvv", true},
		{"otp", true},
		{"username", false},
		{"shipping", false},
		{"email", false},
		{"id", false},
		{"author", false},
		{"spinner", false},
	}
	for _, tt := range tests {
		if got := s.SensitiveKey(tt.key); got != tt.sensitive {
			t.Errorf("SensitiveKey(%q) = %v, want %v", tt.key, got, tt.sensitive)
		}
	}
}

func TestSanitizerValues(t *testing.T) {
	t.Parallel()
	s := NewSanitizer(SanitizerOptions{})
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"plain text untouched", "user 42 not found", "user 42 not found"},
		{"jwt alone", jwt, Redacted},
		{"jwt in text", "token was " + jwt + " yes", "token was " + Redacted + " yes"},
		{"bearer header", "Authorization: Bearer abcdefgh12345678", "Authorization: " + Redacted},
		{"bearer in text", "sent Bearer abcdefgh12345678 twice", "sent Bearer " + Redacted + " twice"},
		{"bearer lower", "bearer abcdefgh12345678.x", "bearer " + Redacted},
		{"basic credentials", "Basic dXNlcjpwYXNzd29yZA==", "Basic " + Redacted},
		{"bearer word alone is fine", "the bearer of bad news", "the bearer of bad news"},
		{"visa card", "card 4111111111111111 declined", "card " + Redacted + " declined"},
		{"card with spaces", "4111 1111 1111 1111", Redacted},
		{"card with dashes", "5500-0000-0000-0004", Redacted},
		{"luhn fails: kept", "order 4111111111111112", "order 4111111111111112"},
		{"short number kept", "id 123456789012", "id 123456789012"},
		{"digits inside word kept", "x4111111111111111", "x4111111111111111"},
		{"not a jwt: two segments", "eyJhbGc.eyJzdWIi", "eyJhbGc.eyJzdWIi"},
		{"invalid utf8 replaced", "a\xffb", "a\uFFFDb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := s.String(tt.in); got != tt.want {
				t.Fatalf("String(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestSanitizerMap(t *testing.T) {
	t.Parallel()
	s := NewSanitizer(SanitizerOptions{})
	in := map[string]any{
		"user":     "alice",
		"password": "hunter2",
		"nested": map[string]any{
			"api_key": 12345,
			"list":    []any{"ok", map[string]any{"Secret": "x"}, jwt},
		},
		"headers":  map[string]string{"Cookie": "a=b", "Accept": "*/*"},
		"card":     int64(4111111111111111),
		"count":    3,
		"ratio":    math.NaN(),
		"err":      errors.New("bad Bearer abcdefgh12345678"),
		"fn":       func() {},
		"ch":       make(chan int),
		"strs":     []string{jwt},
		"typed":    map[string]int{"token": 5, "n": 1},
		"ptr":      new(int),
		"nilptr":   (*int)(nil),
		"bytes":    []byte("raw"),
		"deep":     deep(20),
		"panicker": panicStringer{},
	}
	out := s.Map(in)
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatalf("sanitized map does not encode: %v", err)
	}
	text := string(b)
	for _, leaked := range []string{"hunter2", "12345", `"x"`, jwt, "a=b", "4111111111111111", "abcdefgh12345678"} {
		if strings.Contains(text, leaked) {
			t.Errorf("leaked %q in %s", leaked, text)
		}
	}
	for _, kept := range []string{"alice", `"ok"`, `"Accept":"*/*"`, `"count":3`, `"ratio":"NaN"`, `"n":1`, "[func]", "TOO DEEP", "PANIC IN STRING METHOD", `"bytes":"raw"`} {
		if !strings.Contains(text, kept) {
			t.Errorf("missing %q in %s", kept, text)
		}
	}
	if in["password"] != "hunter2" {
		t.Error("Map modified its input")
	}
}

type panicStringer struct{}

func (panicStringer) String() string { panic("boom") }

func deep(n int) any {
	if n == 0 {
		return "bottom"
	}
	return map[string]any{"d": deep(n - 1)}
}

func TestSanitizerHash(t *testing.T) {
	t.Parallel()
	s := NewSanitizer(SanitizerOptions{Hash: true, HashKey: []byte("k")})
	a := s.Value("password", "hunter2")
	b := s.Value("password", "hunter2")
	c := s.Value("password", "other")
	if a != b {
		t.Errorf("hash not stable: %v %v", a, b)
	}
	if a == c {
		t.Error("different secrets share a hash")
	}
	if str, _ := a.(string); !strings.HasPrefix(str, "[REDACTED:") || strings.Contains(str, "hunter2") {
		t.Errorf("unexpected redaction %v", a)
	}
	other := NewSanitizer(SanitizerOptions{Hash: true, HashKey: []byte("other key")})
	if other.Value("password", "hunter2") == a {
		t.Error("hash does not depend on the key")
	}
}

func TestSanitizerExtraKeysAndCap(t *testing.T) {
	t.Parallel()
	s := NewSanitizer(SanitizerOptions{ExtraKeys: []string{"Tenant-Code"}, MaxString: 8})
	if !s.SensitiveKey("tenant_code") {
		t.Error("extra key not sensitive")
	}
	if got := s.String("0123456789abc"); got != "01234567…" {
		t.Errorf("cap: %q", got)
	}
}

func TestReplaceAttr(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	s := NewSanitizer(SanitizerOptions{})
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: s.ReplaceAttr}))
	log.Info("login", "user", "bob", "password", "hunter2", "header", "Bearer abcdefgh12345678",
		"err", errors.New("token "+jwt), "ctx", map[string]any{"secret": "s3"})
	out := buf.String()
	for _, leaked := range []string{"hunter2", "abcdefgh12345678", jwt, "s3"} {
		if strings.Contains(out, leaked) {
			t.Errorf("log leaked %q: %s", leaked, out)
		}
	}
	if !strings.Contains(out, `"user":"bob"`) {
		t.Errorf("log lost a plain attribute: %s", out)
	}
}

func BenchmarkSanitizerString(b *testing.B) {
	s := NewSanitizer(SanitizerOptions{})
	b.ReportAllocs()
	for b.Loop() {
		s.String("user 42 could not be found in tenant acme (request 9f2c)")
	}
}

func TestSanitizerAssignments(t *testing.T) {
	t.Parallel()
	s := NewSanitizer(SanitizerOptions{})
	tests := []struct{ in, want string }{
		{"login failed password=hunter2 user=bob", "login failed password=" + Redacted + " user=bob"},
		{"api_key: abc123, next", "api_key: " + Redacted + ", next"},
		{`{"secret":"s3cr3t"}`, `{"secret":"` + Redacted + `"}`},
		{"postgres://app:pa55@db:5432/x", "postgres://app:" + Redacted + "@db:5432/x"},
		{"https://example.com:8443/a?b=c", "https://example.com:8443/a?b=c"},
		{"at 12:30 user=alice", "at 12:30 user=alice"},
		{"Authorization: Bearer abcdefgh12345678", "Authorization: " + Redacted},
		{"session: not found", "session: not found"},
		{"load: session: store unavailable", "load: session: store unavailable"},
		{"password: hunter2", "password: " + Redacted},
		{"bad session: abc123", "bad session: " + Redacted},
		{"cookie=abc123", "cookie=" + Redacted},
	}
	for _, tt := range tests {
		if got := s.String(tt.in); got != tt.want {
			t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

type loginForm struct {
	User     string
	Password string
	Token    string `json:"api_token"`
	Skipped  string `json:"-"`
	inner    string
}

// Values of any type are walked, so headers, plain maps, structs and
// groups cannot carry a secret past the sanitizer.
func TestSanitizerReachesEveryType(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	s := NewSanitizer(SanitizerOptions{})
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: s.ReplaceAttr}))
	log.Info("request",
		"headers", http.Header{"Authorization": {"Basic dXNlcjpodW50ZXIy"}, "Cookie": {"sid=s3cr3t"}, "Accept": {"text/html"}},
		"plain", map[string]string{"password": "hunter2-plain"},
		"form", loginForm{User: "alice", Password: "hunter2-struct", Token: "tok-123456", Skipped: "x", inner: "y"},
		"ptr", &loginForm{Password: "hunter2-ptr"},
		slog.Group("g", slog.String("password", "hunter2-group")))
	out := buf.String()
	for _, leaked := range []string{"dXNlcjpodW50ZXIy", "s3cr3t", "hunter2", "tok-123456"} {
		if strings.Contains(out, leaked) {
			t.Errorf("log leaked %q: %s", leaked, out)
		}
	}
	for _, kept := range []string{"text/html", `"User":"alice"`} {
		if !strings.Contains(out, kept) {
			t.Errorf("log lost %q: %s", kept, out)
		}
	}
	if strings.Contains(out, `"Skipped"`) || strings.Contains(out, "inner") {
		t.Errorf("json:\"-\" or unexported field logged: %s", out)
	}

	attrs := s.Attrs([]slog.Attr{slog.Group("form", slog.String("password", "hunter2-audit"), slog.String("user", "bob"))})
	if got := fmt.Sprint(attrs); strings.Contains(got, "hunter2") || !strings.Contains(got, "bob") {
		t.Errorf("Attrs: %s", got)
	}
}
