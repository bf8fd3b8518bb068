package errs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"
)

// secretPart is planted in every shape below; no sanitized output may
// contain it, in whole or in the part after a quote or separator.
const secretPart = "Zq7SECRETvalueXw"

// logLine logs through a JSON handler with the sanitizer as ReplaceAttr.
func logLine(s *Sanitizer, f func(*slog.Logger)) string {
	var buf bytes.Buffer
	f(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: s.ReplaceAttr})))
	return buf.String()
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSanitizerShapes plants a secret in every common shape a log line or
// error context carries it in, and checks that none of it survives, while
// the neighbouring plain values (kept) do.
func TestSanitizerShapes(t *testing.T) {
	t.Parallel()
	s := NewSanitizer(SanitizerOptions{})
	const sec = secretPart
	str := func(in string) func(*testing.T) string { return func(*testing.T) string { return s.String(in) } }
	tests := []struct {
		name string
		out  func(t *testing.T) string
		kept []string
	}{
		// Groups.
		{"slog.Group password", func(*testing.T) string {
			return logLine(s, func(l *slog.Logger) { l.Info("m", slog.Group("password", slog.String("new", sec)), "user", "bob") })
		}, []string{`"user":"bob"`}},
		{"nested group under secret", func(*testing.T) string {
			return logLine(s, func(l *slog.Logger) {
				l.Info("m", slog.Group("client_secret", slog.Group("v", slog.String("x", sec))))
			})
		}, nil},
		{"WithGroup secret", func(*testing.T) string {
			return logLine(s, func(l *slog.Logger) { l.WithGroup("secret").Info("m", "value", sec) })
		}, []string{`"msg":"m"`}},
		{"WithGroup credentials then With", func(*testing.T) string {
			return logLine(s, func(l *slog.Logger) { l.WithGroup("credentials").With("k", sec).Info("m") })
		}, nil},
		{"Attrs group", func(*testing.T) string {
			return fmt.Sprint(s.Attrs([]slog.Attr{slog.Group("passwords", slog.String("a", sec))}))
		}, nil},
		// Keys.
		{"key seed", func(*testing.T) string { return logLine(s, func(l *slog.Logger) { l.Info("m", "seed", sec) }) }, nil},
		{"key pw", func(*testing.T) string { return logLine(s, func(l *slog.Logger) { l.Info("m", "pw", sec) }) }, nil},
		{"key pass", func(*testing.T) string { return logLine(s, func(l *slog.Logger) { l.Info("m", "pass", sec) }) }, nil},
		{"key signing_key", func(*testing.T) string { return logLine(s, func(l *slog.Logger) { l.Info("m", "signing_key", sec) }) }, nil},
		{"key signingKey", func(*testing.T) string { return logLine(s, func(l *slog.Logger) { l.Info("m", "signingKey", sec) }) }, nil},
		{"key mfa_code", func(*testing.T) string { return logLine(s, func(l *slog.Logger) { l.Info("m", "mfa_code", sec) }) }, nil},
		{"key totp", func(*testing.T) string { return logLine(s, func(l *slog.Logger) { l.Info("m", "totp", sec) }) }, nil},
		{"key recovery_code", func(*testing.T) string { return logLine(s, func(l *slog.Logger) { l.Info("m", "recovery_code", sec) }) }, nil},
		{"key encryption_key", func(*testing.T) string {
			return logLine(s, func(l *slog.Logger) { l.Info("m", "encryption_key", sec) })
		}, nil},
		{"key passcode", func(*testing.T) string { return logLine(s, func(l *slog.Logger) { l.Info("m", "passcode", sec) }) }, nil},
		{"code attribute stays", func(*testing.T) string {
			return logLine(s, func(l *slog.Logger) { l.Info("m", "code", "rate_limited", "pw", sec) })
		}, []string{`"code":"rate_limited"`}},
		{"map key seed", func(t *testing.T) string {
			return jsonOf(t, s.Map(map[string]any{"wallet_seed": sec, "code": "not_found"}))
		}, []string{`"code":"not_found"`}},
		// Quoted and JSON values.
		{"json escaped quote", str(`{"password":"ab\"` + sec + `"}`), nil},
		{"json escaped quote in text", str(`body {"password":"ab\"` + sec + `", "user":"bob"} sent`), []string{`"user":"bob"`, "sent"}},
		{"json unicode-escaped quote", str(`{"password":"ab\u0022` + sec + `"}`), nil},
		{"json nested secret object", str(`{"user":"bob","secret":{"k":"` + sec + `"}}`), []string{"bob"}},
		{"json array of logins", str(`[{"login":"bob","pass":"` + sec + `"}]`), []string{"bob"}},
		{"json value attribute", func(*testing.T) string {
			return logLine(s, func(l *slog.Logger) { l.Info("m", "body", `{"token":"a\\\"`+sec+`"}`) })
		}, nil},
		{"double-encoded json", str(`{"body":"{\"password\":\"ab\\\"` + sec + `\"}"}`), nil},
		{"single-quoted value", str(`password='ab\'` + sec + `'`), nil},
		{"unquoted value with quote", str(`password=ab"` + sec), nil},
		{"unquoted value with comma", str(`password=ab,` + sec + ` user=bob`), []string{"user=bob"}},
		{"unquoted value with semicolon", str(`token=ab;` + sec), nil},
		{"colon value with semicolons (cookie)", str("Cookie: a=b; sid=" + sec), nil},
		// DSNs and URLs.
		{"mysql dsn", str("dial root:" + sec + "@tcp(127.0.0.1:3306)/app?parseTime=true failed"), []string{"127.0.0.1:3306", "failed"}},
		{"mysql dsn unix", str("app:" + sec + "@unix(/run/mysqld.sock)/app"), nil},
		{"mysql dsn at in password", str("app:ab@" + sec + "@tcp(db)/app"), nil},
		{"mysql dsn default address", str("app:" + sec + "@/app"), nil},
		{"postgres url", str("postgres://app:" + sec + "@db:5432/app?sslmode=disable"), []string{"db:5432/app"}},
		{"postgres url at in password", str("postgresql://app:p@" + sec + "@db/app"), []string{"db/app"}},
		{"postgres keyword dsn", str("host=db user=app password=" + sec + " dbname=app"), []string{"dbname=app"}},
		{"postgres keyword dsn quoted", str(`host=db password='a b\'` + sec + `' dbname=app`), []string{"dbname=app"}},
		{"redis url", str("redis://default:" + sec + "@cache:6379/0"), []string{"cache:6379"}},
		{"redis url no user", str("rediss://:" + sec + "@cache:6380"), nil},
		{"dsn attribute", func(*testing.T) string {
			return logLine(s, func(l *slog.Logger) { l.Info("m", "database_url", "postgres://u:"+sec+"@h/d") })
		}, nil},
		// PEM.
		{"pem rsa key", str("key: -----BEGIN RSA PRIVATE KEY-----\nMIIE" + sec + "\n-----END RSA PRIVATE KEY-----\nnext"), []string{"next"}},
		{"pem pkcs8 key in attribute", func(*testing.T) string {
			return logLine(s, func(l *slog.Logger) {
				l.Info("m", "material", "-----BEGIN PRIVATE KEY-----\n"+sec+"\n-----END PRIVATE KEY-----")
			})
		}, nil},
		{"pem openssh key, no END", str("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl" + sec), nil},
		{"pem encrypted key", str("-----BEGIN ENCRYPTED PRIVATE KEY-----\r\n" + sec + "\r\n-----END ENCRYPTED PRIVATE KEY-----"), nil},
		// OAuth in query strings.
		{"oauth code in callback", str("GET /callback?code=" + sec + "&state=xyz"), []string{"state=xyz"}},
		{"oauth access_token in fragment", str("https://app/cb#access_token=" + sec + "&token_type=bearer"), []string{"token_type"}},
		{"oauth id_token in query", str("/cb?id_token=" + sec), nil},
		{"oauth code_verifier", str("code_verifier=" + sec), nil},
		// Header maps.
		{"http.Header Authorization", func(*testing.T) string {
			return logLine(s, func(l *slog.Logger) {
				l.Info("m", "h", http.Header{"Authorization": {"Token " + sec}, "Accept": {"text/html"}})
			})
		}, []string{"text/html"}},
		{"http.Header X-Api-Key", func(*testing.T) string {
			return logLine(s, func(l *slog.Logger) { l.Info("m", "h", http.Header{"X-Api-Key": {sec}}) })
		}, nil},
		{"http.Header Ocp-Apim-Subscription-Key", func(t *testing.T) string {
			return jsonOf(t, s.Map(map[string]any{"h": http.Header{"Ocp-Apim-Subscription-Key": {sec}}}))
		}, nil},
		{"map[string]string Proxy-Authorization", func(t *testing.T) string {
			return jsonOf(t, s.Map(map[string]any{"h": map[string]string{"Proxy-Authorization": "Digest " + sec}}))
		}, nil},
		{"map[string]string Set-Cookie", func(*testing.T) string {
			return logLine(s, func(l *slog.Logger) {
				l.Info("m", "h", map[string]string{"Set-Cookie": "sid=" + sec, "Vary": "Cookie"})
			})
		}, []string{`"Vary":"Cookie"`}},
		{"map[string][]string X-Auth-Token", func(*testing.T) string {
			return logLine(s, func(l *slog.Logger) { l.Info("m", "h", map[string][]string{"X-Auth-Token": {sec}}) })
		}, nil},
		{"header text", str("X-Csrf-Token: " + sec + "\nAccept: */*"), []string{"Accept: */*"}},
		// Error context.
		{"error context map", func(t *testing.T) string {
			return jsonOf(t, s.Map(map[string]any{"mfaCode": sec, "req": map[string]any{"signing_key": []byte(sec)}}))
		}, nil},
		{"error text", str("open db: app:" + sec + "@tcp(db:3306)/x: connection refused"), []string{"connection refused"}},
	}
	if len(tests) < 40 {
		t.Fatalf("only %d shapes", len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out := tt.out(t)
			if strings.Contains(out, "SECRET") || strings.Contains(out, "valueXw") {
				t.Fatalf("leaked: %s", out)
			}
			if !strings.Contains(out, "REDACTED") {
				t.Fatalf("nothing redacted: %s", out)
			}
			for _, k := range tt.kept {
				if !strings.Contains(out, k) {
					t.Errorf("lost %q: %s", k, out)
				}
			}
		})
	}
}

// TestSanitizerKeepsPlainText guards against false positives.
func TestSanitizerKeepsPlainText(t *testing.T) {
	t.Parallel()
	s := NewSanitizer(SanitizerOptions{})
	for _, in := range []string{
		"user 42 not found",
		"mailto:bob@example.com",
		"ratio 3:2 at 12:30",
		"see https://example.com:8443/a?b=c&code_page=2",
		`{"code":"rate_limited","status":429}`,
		"code=invalid_token",
		"email bob@example.com",
		"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
		"postgres://db:5432/app",
		"password reset requested for bob",
	} {
		if got := s.String(in); got != in {
			t.Errorf("String(%q) = %q", in, got)
		}
	}
	if !strings.Contains(logLine(s, func(l *slog.Logger) { l.Info("m", "code", "invalid_token", "session_count", 3) }), `"code":"invalid_token"`) {
		t.Error("the code attribute was redacted")
	}
}

// FuzzSanitizerLeak plants a secret in each shape between arbitrary text:
// the sanitizer must never panic and never let the secret through.
func FuzzSanitizerLeak(f *testing.F) {
	f.Add(uint8(0), "before", "after", []byte("abcdefghij"), []byte(`"\`))
	f.Add(uint8(7), `{"a":`, `}`, []byte("Zz0123456789"), []byte(`\"`))
	f.Add(uint8(12), "", "", []byte("hunter2hunter2"), []byte("'"))
	s := NewSanitizer(SanitizerOptions{})
	shapes := []func(a, j, b string) string{
		func(a, j, b string) string { return "password=" + a + b },
		func(a, j, b string) string { return "pw: " + a + b },
		func(a, j, b string) string { return `{"password":` + jsonQuote(a+j+b) + `}` },
		func(a, j, b string) string { return `"secret":` + jsonQuote(a+j+b) },
		func(a, j, b string) string { return `{"body":` + jsonQuote(`{"token":`+jsonQuote(a+j+b)+`}`) + `}` },
		func(a, j, b string) string { return "root:" + a + b + "@tcp(db:3306)/app" },
		func(a, j, b string) string { return "postgres://app:" + a + b + "@db/app" },
		func(a, j, b string) string { return "redis://:" + a + b + "@cache:6379" },
		func(a, j, b string) string {
			return "host=db password='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(a+j+b) + "' dbname=x"
		},
		func(a, j, b string) string {
			return "-----BEGIN PRIVATE KEY-----\n" + a + j + b + "\n-----END PRIVATE KEY-----"
		},
		func(a, j, b string) string { return "/cb?code=" + a + b + "&state=1" },
		func(a, j, b string) string { return "Authorization: Bearer " + a + b },
		func(a, j, b string) string { return "api_key=" + a + b },
		func(a, j, b string) string { return "Cookie: x=1; sid=" + a + b },
	}
	f.Fuzz(func(t *testing.T, shape uint8, prefix, suffix string, secret, junk []byte) {
		if len(prefix) > 200 || len(suffix) > 200 || len(junk) > 16 {
			return
		}
		a, b := alnum(secret, 0), alnum(secret, 1)
		if len(a) < 8 || len(b) < 8 || strings.Contains("[REDACTED]", a) || strings.Contains("[REDACTED]", b) {
			return
		}
		j := strings.ToValidUTF8(string(junk), "")
		in := prefix + " " + shapes[int(shape)%len(shapes)](a, j, b) + " " + suffix
		if strings.Count(in, a) != 1 || strings.Count(in, b) != 1 || len(in) > 1000 {
			return
		}
		out := s.String(in)
		if strings.Contains(out, a) || strings.Contains(out, b) {
			t.Fatalf("leaked a secret\n in: %q\nout: %q", in, out)
		}
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 out: %q", out)
		}
		// The same text as an attribute and as error context.
		line := logLine(s, func(l *slog.Logger) { l.Info("m", "v", in, "secret", a) })
		if strings.Contains(line, a) || strings.Contains(line, b) {
			t.Fatalf("log line leaked: %s", line)
		}
	})
}

// alnum maps the even (half 0) or odd (half 1) bytes of p to [0-9A-Za-z].
func alnum(p []byte, half int) string {
	const set = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	var b strings.Builder
	for i := half; i < len(p) && b.Len() < 24; i += 2 {
		b.WriteByte(set[int(p[i])%len(set)])
	}
	return b.String()
}

func jsonQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
