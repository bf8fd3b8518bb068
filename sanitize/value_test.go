package sanitize

import (
	"errors"
	"mime"
	"strings"
	"testing"
)

func TestHeaderValue(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in string
		max      int
		want     string
		ok       bool
	}{
		{"plain", "report 2024", 0, "report 2024", true},
		{"tab kept, trimmed", "\ta\tb ", 0, "a\tb", true},
		{"utf8", "café", 0, "café", true},
		{"CRLF injection", "x\r\nSet-Cookie: a=1", 0, "", false},
		{"bare LF", "x\ny", 0, "", false},
		{"NUL", "x\x00", 0, "", false},
		{"DEL", "x\x7f", 0, "", false},
		{"invalid utf8", "\xff", 0, "", false},
		{"too long", strings.Repeat("a", 11), 10, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := HeaderValue(tc.in, tc.max)
			if tc.ok != (err == nil) || got != tc.want {
				t.Fatalf("HeaderValue(%q) = %q, %v", tc.in, got, err)
			}
			if err != nil && !errors.Is(err, ErrUnsafeHeaderValue) {
				t.Fatalf("error %v", err)
			}
		})
	}
}

func TestCleanHeaderValue(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"x\r\nSet-Cookie: a=1", 0, "xSet-Cookie: a=1"},
		{" a\x00b\x7f ", 0, "ab"},
		{"caf\xffé", 0, "café"},
		{"ééé", 5, "éé"},
		{"abc", 0, "abc"},
	} {
		if got := CleanHeaderValue(tc.in, tc.max); got != tc.want {
			t.Errorf("CleanHeaderValue(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if n := testing.AllocsPerRun(50, func() { CleanHeaderValue("already clean", 0) }); n != 0 {
		t.Errorf("clean input allocates %v", n)
	}
}

func TestLogValue(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"user logged in", 0, "user logged in"},
		{"bob\n2024-01-01 INFO admin logged in", 0, `bob\n2024-01-01 INFO admin logged in`},
		{"a\r\tb\x00\x1b[31m", 0, `a\r\tb\u{0000}\u{001B}[31m`},
		{"evil\u202Etxt.exe", 0, `evil\u{202E}txt.exe`},
		{"line\u2028sep", 0, `line\u{2028}sep`},
		{"c1\u0085", 0, `c1\u{0085}`},
		{"bad\xffutf8", 0, `bad\x{FF}utf8`},
		{"日本語テキスト", 9, "日本語…"},
		{strings.Repeat("\n", 100), 10, `\n\n\n\n\n…`},
	} {
		if got := LogValue(tc.in, tc.max); got != tc.want {
			t.Errorf("LogValue(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if n := testing.AllocsPerRun(50, func() { LogValue("already safe", 0) }); n != 0 {
		t.Errorf("safe input allocates %v", n)
	}
}

func TestContentDisposition(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want, wantName string
	}{
		{"report.pdf", `attachment; filename="report.pdf"`, "report.pdf"},
		{"../../etc/passwd", `attachment; filename="passwd"`, "passwd"},
		{`C:\Users\x\evil.exe`, `attachment; filename="evil.exe"`, "evil.exe"},
		{"a\"b.txt", `attachment; filename="a_b.txt"`, "a_b.txt"},
		{"x\r\nSet-Cookie: a=1.txt", `attachment; filename="xSet-Cookie_ a=1.txt"`, "xSet-Cookie_ a=1.txt"},
		{"résumé.pdf", `attachment; filename="r_sum_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf`, "résumé.pdf"},
		{"", `attachment; filename="download"`, "download"},
		{"...", `attachment; filename="download"`, "download"},
		{".bashrc", `attachment; filename="bashrc"`, "bashrc"},
		{"evil\u202Efdp.exe", `attachment; filename="evilfdp.exe"`, "evilfdp.exe"},
	} {
		got := ContentDisposition(tc.in)
		if got != tc.want {
			t.Errorf("ContentDisposition(%q) = %q, want %q", tc.in, got, tc.want)
			continue
		}
		_, params, err := mime.ParseMediaType(got)
		if err != nil || params["filename"] != tc.wantName {
			t.Errorf("ContentDisposition(%q) parses to %q (%v), want %q", tc.in, params["filename"], err, tc.wantName)
		}
	}
	long := SafeFilename(strings.Repeat("a", 500) + ".pdf")
	if len(long) > 200 || !strings.HasSuffix(long, ".pdf") {
		t.Errorf("long name: %d bytes, %q", len(long), long[len(long)-8:])
	}
}
