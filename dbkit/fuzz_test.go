package dbkit

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzReadYourWritesCookie sends arbitrary cookie values: the stage must
// never fail the request, and only a well-formed unexpired deadline may pin
// reads to the primary.
func FuzzReadYourWritesCookie(f *testing.F) {
	for _, s := range []string{"", "1", "-1", "99999999999999999999", "abc", "1e9", " 12", "\x00", strings.Repeat("9", 400)} {
		f.Add(s)
	}
	mw := &Middleware{o: MiddlewareOptions{ReadYourWritesWindow: time.Second}, cookie: "covet_ryw"}
	f.Fuzz(func(t *testing.T, value string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Cookie", "covet_ryw="+value)
		if !mw.pinned(r) {
			return
		}
		c, err := r.Cookie("covet_ryw")
		if err != nil {
			t.Fatalf("header %q pinned reads without a cookie", value)
		}
		until, err := strconv.ParseInt(c.Value, 10, 64)
		if err != nil || len(c.Value) > 20 || until <= time.Now().UnixMilli() || until > time.Now().Add(time.Second).UnixMilli() {
			t.Fatalf("cookie value %q pinned reads", c.Value)
		}
	})
}

// FuzzDriverMessageParsers feeds arbitrary server messages to the helpers
// that read a constraint name out of them: they must not panic, and what
// they return must be a substring of the message.
func FuzzDriverMessageParsers(f *testing.F) {
	for _, s := range []string{
		"Duplicate entry 'a@example.com' for key 'users.email'",
		"Duplicate entry 'x' for key '",
		"constraint failed: UNIQUE constraint failed: tk_items.email (2067)",
		"UNIQUE constraint failed: a.b, a.c",
		"constraint failed: ",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		if k := mysqlDuplicateKey(msg); !strings.Contains(msg, k) {
			t.Fatalf("mysqlDuplicateKey(%q) = %q, not in the message", msg, k)
		}
		if c := sqliteUniqueColumns(errors.New(msg)); !strings.Contains(msg, c) {
			t.Fatalf("sqliteUniqueColumns(%q) = %q, not in the message", msg, c)
		}
	})
}
