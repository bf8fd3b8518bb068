package validate

import (
	"net/http/httptest"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// TestEchoedNamesAreInert: a name the client chose is echoed into the
// problem (detail, field, pointer) without line breaks, other control
// characters or bidirectional overrides, which would forge lines in a
// plain-text log or reorder the text a person reads; they appear escaped.
func TestEchoedNamesAreInert(t *testing.T) {
	t.Parallel()
	b, err := NewBody[createOrder](newTestValidator(t), BodyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	q, err := NewQuery[listQuery](newTestValidator(t), QueryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	inert := func(t *testing.T, p problem, want string) {
		t.Helper()
		all := p.Detail
		for _, f := range p.Errors {
			all += f.Field + f.Pointer + f.Message
		}
		if ptr, ok := p.Context["pointer"].(string); ok {
			all += ptr
		}
		if strings.ContainsAny(all, "\r\n\x00\x1b\u202e\u2028\u200f") {
			t.Fatalf("problem echoes a control character: %+v", p)
		}
		if !strings.Contains(p.Detail, want) {
			t.Fatalf("detail %q does not show %q", p.Detail, want)
		}
	}
	t.Run("body member", func(t *testing.T) {
		w, p := serve(t, orderHandler(b), jsonRequest(`{"a\r\nlevel=ERROR\u202e\u0000":1}`))
		if w.Code != 400 || p.Code != "unknown_field" {
			t.Fatalf("status %d code %q", w.Code, p.Code)
		}
		inert(t, p, `a\u000d\u000alevel=ERROR\u202e\u0000`)
	})
	t.Run("query parameter", func(t *testing.T) {
		_, p := serve(t, queryHandler(q), httptest.NewRequest("GET", "/?x%0d%0ay%E2%80%AE%1b=1", nil))
		if p.Code != "unknown_parameter" {
			t.Fatalf("code %q", p.Code)
		}
		inert(t, p, `x\u000d\u000ay\u202e\u001b`)
	})
	t.Run("empty query name", func(t *testing.T) {
		_, p := serve(t, queryHandler(q), httptest.NewRequest("GET", "/?=1", nil))
		if p.Code != "unknown_parameter" || !strings.Contains(p.Detail, `""`) {
			t.Fatalf("problem %+v", p)
		}
	})
}

// FuzzEscapeUnsafe: whatever a client sends, an echoed name is valid UTF-8
// without control, separator or format characters, and printable ASCII
// comes back unchanged.
func FuzzEscapeUnsafe(f *testing.F) {
	for _, s := range []string{"", "name", "a\r\nb", "\u202e", "\x00\x7f\u0085", "\U000e0001", "\xff", "日本\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := clip(s)
		if !utf8.ValidString(out) {
			t.Fatalf("clip(%q) = %q: invalid UTF-8", s, out)
		}
		for _, r := range out {
			if unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp) {
				t.Fatalf("clip(%q) = %q keeps %U", s, out, r)
			}
		}
		printable := len(s) <= maxNameBytes
		for i := 0; i < len(s) && printable; i++ {
			printable = s[i] >= 0x20 && s[i] < 0x7f
		}
		if printable && out != s {
			t.Fatalf("clip(%q) = %q changed printable ASCII", s, out)
		}
	})
}
