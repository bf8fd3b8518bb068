package sanitize

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/covetgo/covet/errs"
)

func rawRequest(target string) *http.Request {
	path, query := splitTarget(target)
	return &http.Request{Method: "GET", RequestURI: target, URL: &url.URL{RawPath: path, Path: path, RawQuery: query}, Header: http.Header{}}
}

func TestScreenTable(t *testing.T) {
	t.Parallel()
	s, err := NewScreen(ScreenOptions{MaxURLBytes: 512, MaxQueryParams: 5})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, target string
		want         error // nil: accepted
	}{
		{"plain", "/api/notes/7", nil},
		{"query", "/search?q=caf%C3%A9&page=2", nil},
		{"plus and encoded space", "/search?q=a+b%20c", nil},
		{"utf8 path", "/wiki/%E6%97%A5%E6%9C%AC", nil},
		{"raw utf8 path", "/wiki/日本", nil},
		{"three dots is a name", "/files/.../x", nil},
		{"dotfile is a name", "/files/.well-known/x", nil},
		{"encoded reserved chars", "/a%3Bb/c%3Fd", nil},
		{"absolute-form target", "http://api.test/notes?x=1", nil},
		{"root", "/", nil},
		{"five params", "/?a=1&b=2&c=3&d=4&e=5", nil},

		{"dot-dot", "/files/../etc/passwd", ErrPathTraversal},
		{"dot-dot at end", "/files/..", ErrPathTraversal},
		{"dot", "/files/./x", ErrPathTraversal},
		{"encoded dot-dot", "/files/%2e%2e/etc/passwd", ErrPathTraversal},
		{"encoded dot-dot uppercase", "/files/%2E%2E/etc", ErrPathTraversal},
		{"half-encoded dot-dot", "/files/.%2e/etc", ErrPathTraversal},
		{"dot-dot semicolon", "/files/..;/admin", ErrPathTraversal},
		{"encoded slash", "/files/..%2fetc", ErrEncodedSeparator},
		{"encoded slash uppercase", "/a%2Fb", ErrEncodedSeparator},
		{"encoded backslash", "/files/..%5c..%5cwindows", ErrEncodedSeparator},
		{"raw backslash", `/files/..\..\windows`, ErrEncodedSeparator},
		{"double-encoded dot", "/files/%252e%252e/etc", ErrDoubleEncoding},
		{"double-encoded slash", "/a%252fb", ErrDoubleEncoding},
		{"NUL", "/files/a%00.png", ErrControlCharacter},
		{"raw NUL", "/files/a\x00", ErrControlCharacter},
		{"CRLF injection", "/a%0d%0aSet-Cookie:x=1", ErrControlCharacter},
		{"DEL", "/a%7f", ErrControlCharacter},
		{"tab in query", "/?q=a%09b", nil},
		{"multi-line query value", "/?body=line+1%0D%0Aline+2%0Aline+3", nil},
		{"NUL in query", "/?q=a%00", ErrControlCharacter},
		{"escape in query", "/?q=a%1Bb", ErrControlCharacter},
		{"DEL in query", "/?q=a%7F", ErrControlCharacter},
		{"raw tab in query", "/?q=a\tb", ErrControlCharacter},
		{"raw LF in query", "/?q=a\nb", ErrControlCharacter},
		{"CR in path", "/a%0Db", ErrControlCharacter},
		{"LF in path", "/a%0Ab", ErrControlCharacter},
		{"tab in path", "/a%09b", ErrControlCharacter},

		{"double-encoded dot, digits encoded", "/files/%25%32%65%25%32%65%25%32%66etc%25%32%66passwd/", ErrDoubleEncoding},
		{"double-encoded dot, one digit encoded", "/files/%252%65", ErrDoubleEncoding},
		{"double-encoded dot, other digit encoded", "/files/%25%32e", ErrDoubleEncoding},
		{"double-encoded letter in path", "/files/%2541", ErrDoubleEncoding},
		{"percent sign in path", "/files/100%25", nil},
		{"percent sign then text in path", "/files/100%25%20off", nil},
		{"percent sign then one hex digit", "/files/%25a", nil},
		{"query: double-encoded space", "/?q=a%2520b", nil},
		{"query: double-encoded letter", "/?q=%2541", nil},
		{"query: percent sign", "/?q=100%25+off", nil},
		{"query: double-encoded dot", "/?file=%252e%252e%252fetc", ErrDoubleEncoding},
		{"query: double-encoded dot, digits encoded", "/?file=%25%32%65%25%32%65", ErrDoubleEncoding},
		{"query: double-encoded NUL", "/?q=%2500", ErrDoubleEncoding},
		{"query: nested URL with its own escapes", "/login?next=%2Fsearch%3Fq%3Dcaf%25C3%25A9%26page%3D2", nil},
		{"query: nested redirect_uri", "/authorize?redirect_uri=https%3A%2F%2Fapp.test%2Fcb%3Fnext%3D%252Fdashboard", nil},
		{"query: dots and a second-level slash apart", "/?a=..&b=%252F", nil},
		{"query: dot-dot then double-encoded slash", "/?file=..%252Fetc%252Fpasswd", ErrDoubleEncoding},
		{"query: double-encoded slash then dot-dot", "/?file=a%252F..", ErrDoubleEncoding},
		{"query: encoded dots then double-encoded slash", "/?file=%2e%2e%252Fetc", ErrDoubleEncoding},
		{"query: double-encoded backslash", "/?file=a%255Cb", ErrDoubleEncoding},
		{"query: double-encoded CR", "/?q=a%250Db", ErrDoubleEncoding},
		{"query: double-encoded UTF-8 byte", "/?q=%25C0%25AE", ErrDoubleEncoding},
		{"query: triple encoding", "/?q=%252541", ErrDoubleEncoding},
		{"invalid utf8", "/a%ff", ErrInvalidUTF8},
		{"truncated utf8", "/a%C3", ErrInvalidUTF8},
		{"truncated utf8 before slash", "/a%C3/b", ErrInvalidUTF8},
		{"overlong slash", "/a%C0%AFb", ErrInvalidUTF8},
		{"overlong dot", "/%C0%AE%C0%AE/etc", ErrInvalidUTF8},
		{"surrogate", "/a%ED%A0%80", ErrInvalidUTF8},
		{"invalid utf8 in query", "/?q=%ff", ErrInvalidUTF8},
		{"bad escape", "/a%zz", ErrBadEscape},
		{"truncated escape", "/a%2", ErrBadEscape},
		{"bad escape in query", "/?q=100%", ErrBadEscape},
		{"too long", "/" + strings.Repeat("a", 600), ErrURLTooLong},
		{"too many params", "/?a=1&b=2&c=3&d=4&e=5&f=6", ErrTooManyParams},
		{"semicolon params count", "/?a=1;b=2;c=3;d=4;e=5;f=6", ErrTooManyParams},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := s.Check(rawRequest(tc.target))
			if !errors.Is(err, tc.want) && !(err == nil && tc.want == nil) {
				t.Fatalf("Check(%q) = %v, want %v", tc.target, err, tc.want)
			}
		})
	}
}

func TestScreenHandlerProblem(t *testing.T) {
	t.Parallel()
	s, _ := NewScreen(ScreenOptions{})
	h := s.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Error("handler reached") }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, rawRequest("/x/%2e%2e/y"))
	if rec.Code != 400 || rec.Header().Get("Content-Type") != errs.ContentType {
		t.Fatalf("got %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	var p struct{ Code string }
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Code != "path_traversal" {
		t.Fatalf("body %s (%v)", rec.Body, err)
	}
}

// TestScreenOverTheWire sends raw request lines through a real server, so
// the targets are exactly what net/http hands to the stage.
func TestScreenOverTheWire(t *testing.T) {
	t.Parallel()
	s, _ := NewScreen(ScreenOptions{})
	srv := httptest.NewServer(s.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "ok")
	})))
	defer srv.Close()
	for _, tc := range []struct {
		target string
		status int
	}{
		{"/notes/7?x=1", 200},
		{"/notes/%2e%2e/admin", 400},
		{"/notes/..%2fadmin", 400},
		{"/a%00b", 400},
		{"/a%C0%AE", 400},
		{"/?" + strings.Repeat("a=1&", 100), 400},
	} {
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", tc.target)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		conn.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d", tc.target, resp.StatusCode, tc.status)
		}
	}
}

func TestScreenNoAlloc(t *testing.T) {
	s, _ := NewScreen(ScreenOptions{})
	r := rawRequest("/api/notes/%E6%97%A5?q=caf%C3%A9&page=2")
	if n := testing.AllocsPerRun(100, func() { _ = s.Check(r) }); n != 0 {
		t.Errorf("Check allocates %v times", n)
	}
}

func TestScreenConfig(t *testing.T) {
	t.Parallel()
	if _, err := NewScreen(ScreenOptions{MaxURLBytes: -1}); !errors.Is(err, errs.KindConfiguration) {
		t.Errorf("negative limit: %v", err)
	}
	s, _ := NewScreen(ScreenOptions{AllowEncodedSlash: true})
	if err := s.CheckTarget("/repos/a%2Fb", ""); err != nil {
		t.Errorf("AllowEncodedSlash: %v", err)
	}
	if err := s.CheckTarget("/repos/..%2F", ""); err == nil {
		t.Error(`AllowEncodedSlash accepts "..%2F"`)
	}
}

func FuzzScreen(f *testing.F) {
	for _, s := range []string{"/a/b", "/a/%2e%2e/b", "/a%2fb", "/%C0%AE", "/a;b", "/..;/", "/%252e", "/%", "/\x00", "/日本", "/%25%32%65", "/%25", "/%25a"} {
		f.Add(s, "q=1&b=%ff")
	}
	f.Add("/", "q=%2520&r=%25%32%65&s=%0D%0A&t=%2525")
	s, _ := NewScreen(ScreenOptions{})
	f.Fuzz(func(t *testing.T, path, query string) {
		if s.CheckTarget(path, query) != nil {
			return
		}
		checkAcceptedPath(t, path, query)
		for _, kv := range strings.FieldsFunc(query, func(r rune) bool { return r == '&' || r == ';' }) {
			checkAcceptedParam(t, query, kv)
		}
	})
}

// checkAcceptedPath fails t unless path, which the screen accepted, is
// safe to decode once and harmless decoded twice.
func checkAcceptedPath(t *testing.T, path, query string) {
	t.Helper()
	dp, err := url.PathUnescape(path)
	if err != nil {
		t.Fatalf("accepted path %q that does not unescape: %v", path, err)
	}
	if !utf8.ValidString(dp) {
		t.Fatalf("accepted path %q, invalid UTF-8 once decoded", path)
	}
	for _, seg := range strings.Split(dp, "/") {
		if seg == "." || seg == ".." || strings.HasPrefix(seg, "..;") {
			t.Fatalf("accepted path %q with segment %q", path, seg)
		}
	}
	if strings.ContainsAny(dp, "\\") || strings.ContainsFunc(dp+query, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		t.Fatalf("accepted %q ? %q with a control character or backslash", path, query)
	}
	if strings.Contains(path, "%2f") || strings.Contains(path, "%2F") {
		t.Fatalf("accepted encoded slash in %q", path)
	}
	// A second decoding, as a careless handler or a proxy would do,
	// must leave the path as it is (or fail).
	if dp2, err := url.PathUnescape(dp); err == nil && dp2 != dp {
		t.Fatalf("accepted path %q: decodes to %q, then to %q", path, dp, dp2)
	}
}

// checkAcceptedParam fails t unless the query parameter kv, which the
// screen accepted, decodes to clean text, and decoding it twice adds
// nothing dangerous.
func checkAcceptedParam(t *testing.T, query, kv string) {
	t.Helper()
	v, err := url.QueryUnescape(kv)
	if err != nil || !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool {
		return (r < 0x20 || r == 0x7f) && r != '\t' && r != '\n' && r != '\r'
	}) {
		t.Fatalf("accepted query %q: part %q decodes to %q (%v)", query, kv, v, err)
	}
	v2, err := url.QueryUnescape(v)
	if err != nil || v2 == v {
		return
	}
	// Decoding twice may not add controls, dots, backslashes or percent
	// signs, nor a slash next to "..", nor bytes that never occur in UTF-8.
	for _, c := range []string{".", "\\", "%", "\x00", "\t", "\r", "\n", "\x1b", "\x7f", "\xc0", "\xc1", "\xff"} {
		if strings.Count(v2, c) > strings.Count(v, c) {
			t.Fatalf("accepted query %q: part %q decodes to %q, then to %q (more %q)", query, kv, v, v2, c)
		}
	}
	if strings.Count(v2, "/") > strings.Count(v, "/") && strings.Contains(v, "..") {
		t.Fatalf("accepted query %q: part %q decodes to %q, then to %q", query, kv, v, v2)
	}
}

// BenchmarkScreenBrowserRequest screens a request with the headers a
// browser sends, so the header check is part of the cost.
func BenchmarkScreenBrowserRequest(b *testing.B) {
	s, _ := NewScreen(ScreenOptions{})
	r := rawRequest("/api/v1/notes/%E6%97%A5%E6%9C%AC/comments?sort=-created&limit=20&q=caf%C3%A9")
	r.Header = http.Header{
		"Accept":          {"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
		"Accept-Encoding": {"gzip, deflate, br"},
		"Accept-Language": {"en-GB,en;q=0.9"},
		"Cookie":          {"session=MTcwMDAwMDAwMHxEdi1CQkFFQ180SUFBUkFCRUFBQVNfLUNBQUVHYzNSeWFXNW5EQTRBREhObGMzTnBiMjVmYVdRPXxhYmNkZWY="},
		"Referer":         {"https://app.example.com/notes?page=2"},
		"User-Agent":      {"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"},
		"Sec-Fetch-Mode":  {"navigate"},
		"Sec-Fetch-Site":  {"same-origin"},
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Check(r)
	}
}

func TestHasHeaderControl(t *testing.T) {
	t.Parallel()
	for i := 0; i < 256; i++ {
		c := byte(i)
		want := (c < 0x20 && c != '\t') || c == 0x7f
		for _, pos := range []int{0, 3, 7, 8, 15, 16, 20} {
			b := []byte(strings.Repeat("a\t~\x80\xffZ ", 4)[:21])
			b[pos] = c
			if got := hasHeaderControl(string(b)); got != want {
				t.Fatalf("byte %#x at %d: %v, want %v", c, pos, got, want)
			}
		}
	}
}

func FuzzHasHeaderControl(f *testing.F) {
	f.Add("text/html; q=0.9\t")
	f.Add("a\x7fb")
	f.Fuzz(func(t *testing.T, v string) {
		want := false
		for i := 0; i < len(v); i++ {
			if c := v[i]; (c < 0x20 && c != '\t') || c == 0x7f {
				want = true
			}
		}
		if got := hasHeaderControl(v); got != want {
			t.Fatalf("hasHeaderControl(%q) = %v, want %v", v, got, want)
		}
	})
}
