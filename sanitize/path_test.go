package sanitize

import (
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/covetgo/covet/errs"
)

func TestLocalPath(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string // want "": refused
	}{
		{"report.pdf", "report.pdf"},
		{"a/b/c.txt", "a/b/c.txt"},
		{"a//b/./c", "a/b/c"},
		{"a/b/", "a/b"},
		{".hidden", ".hidden"},
		{"日本/ファイル.txt", "日本/ファイル.txt"},
		{"", ""},
		{".", ""},
		{"..", ""},
		{"../etc/passwd", ""},
		{"a/../../etc", ""},
		{"a/../b", ""},
		{"/etc/passwd", ""},
		{"//server/share", ""},
		{`..\..\windows\win.ini`, ""},
		{`a\b`, ""},
		{`C:\Windows`, ""},
		{"C:/Windows", ""},
		{"c:", ""},
		{"file.txt:stream", ""},
		{"a\x00.png", ""},
		{"a\nb", ""},
		{"a\x7f", ""},
		{"\xff\xfe", ""},
		{"CON", ""},
		{"docs/nul.txt", ""},
		{"com1", ""},
		{"LPT9.log", ""},
		{"COM¹.txt", ""},
		{"lpt³", ""},
		{"console.txt", "console.txt"},
		{strings.Repeat("a/", 600), ""},
	} {
		got, err := LocalPath(tc.in)
		if tc.want == "" {
			if err == nil {
				t.Errorf("LocalPath(%q) = %q, want refusal", tc.in, got)
			} else if !errors.Is(err, ErrUnsafePath) {
				t.Errorf("LocalPath(%q): error %v", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("LocalPath(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestRoot(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	dir := filepath.Join(base, "files")
	secret := filepath.Join(base, "secret.txt")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "sub"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "sub", "a.txt"), []byte("hello"), 0o644))
	must(os.WriteFile(secret, []byte("secret"), 0o644))
	must(os.Symlink(secret, filepath.Join(dir, "escape")))
	must(os.Symlink("../..", filepath.Join(dir, "sub", "up")))
	must(os.Symlink("a.txt", filepath.Join(dir, "sub", "inside")))
	r, err := OpenRoot(dir)
	must(err)
	defer r.Close()

	for _, tc := range []struct {
		name string
		want string // content, or an error code
	}{
		{"sub/a.txt", "hello"},
		{"sub/inside", "hello"},
		{"escape", "unsafe_path"},
		{"sub/up/secret.txt", "unsafe_path"},
		{"../secret.txt", "unsafe_path"},
		{secret, "unsafe_path"},
		{"missing.txt", "file_not_found"},
		{"sub/a.txt/x", "unsafe_path"},
	} {
		f, err := r.Open(tc.name)
		if err != nil {
			if code := errs.From(err).Code(); code != tc.want {
				t.Errorf("Open(%q): %v (code %s), want %s", tc.name, err, code, tc.want)
			}
			continue
		}
		b, _ := io.ReadAll(f)
		f.Close()
		if string(b) != tc.want {
			t.Errorf("Open(%q) read %q, want %s", tc.name, b, tc.want)
		}
	}
	if _, err := r.Stat("escape"); err == nil {
		t.Error("Stat follows an escaping symlink")
	}
	if fi, err := r.Stat("sub/a.txt"); err != nil || fi.Size() != 5 {
		t.Errorf("Stat: %v", err)
	}
	if _, err := r.FS().Open("escape"); err == nil {
		t.Error("FS follows an escaping symlink")
	}
	if _, err := OpenRoot(filepath.Join(base, "nope")); !errors.Is(err, errs.KindConfiguration) {
		t.Errorf("OpenRoot of a missing dir: %v", err)
	}
}

// TestRootFSChecksNames opens, through FS and through Root, names that
// exist on this file system but that Root must refuse.
func TestRootFSChecksNames(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		`a\b`:          "backslash",
		"CON":          "device",
		".env":         "SECRET=1",
		".git/config":  "[core]",
		"docs/ok.txt":  "fine",
		"docs/.hidden": "hidden",
	})
	strict, err := OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer strict.Close()
	dotted, err := NewRoot(dir, RootOptions{AllowDotfiles: true})
	if err != nil {
		t.Fatal(err)
	}
	defer dotted.Close()

	for _, tc := range []struct {
		name             string
		strictOK, dotted bool
	}{
		{`a\b`, false, false},
		{"CON", false, false},
		{".env", false, true},
		{".git/config", false, true},
		{"docs/.hidden", false, true},
		{"docs/ok.txt", true, true},
	} {
		checkRootOpens(t, strict, tc.name, tc.strictOK)
		checkRootOpens(t, dotted, tc.name, tc.dotted)
	}
	checkFileServer(t, strict)
}

// writeTree writes files (by slash-separated name) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// checkRootOpens checks that every way of opening name in root agrees:
// it works when ok, and fails with ErrUnsafePath (and, through FS, with
// fs.ErrNotExist) otherwise.
func checkRootOpens(t *testing.T, root *Root, name string, ok bool) {
	t.Helper()
	_, errOpen := root.Open(name)
	_, errStat := root.Stat(name)
	f, errFS := root.FS().Open(name)
	if f != nil {
		f.Close()
	}
	_, errFSStat := fs.Stat(root.FS(), name)
	for what, err := range map[string]error{"Open": errOpen, "Stat": errStat, "FS().Open": errFS, "fs.Stat": errFSStat} {
		if (err == nil) != ok {
			t.Errorf("dotfiles %v: %s(%q) = %v, want ok %v", root.dotfiles, what, name, err, ok)
		}
		if err != nil && !errors.Is(err, ErrUnsafePath) {
			t.Errorf("%s(%q) = %v, want ErrUnsafePath", what, name, err)
		}
	}
	if !ok && !errors.Is(errFS, fs.ErrNotExist) {
		t.Errorf("FS().Open(%q) = %v, want fs.ErrNotExist for http.FileServerFS", name, errFS)
	}
}

// checkFileServer serves the strict root with http.FileServerFS: refused
// names are 404s and do not appear in listings.
func checkFileServer(t *testing.T, strict *Root) {
	t.Helper()
	srv := httptest.NewServer(http.FileServerFS(strict.FS()))
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, path := range []string{"/.env", "/.git/config", "/CON", "/a%5Cb", "/docs/.hidden"} {
		if code, body := get(path); code != 404 {
			t.Errorf("GET %s: %d %q, want 404", path, code, body)
		}
	}
	if code, body := get("/docs/ok.txt"); code != 200 || body != "fine" {
		t.Errorf("GET /docs/ok.txt: %d %q", code, body)
	}
	for path, hidden := range map[string][]string{"/": {".env", ".git", "CON", `a\b`}, "/docs/": {".hidden"}} {
		code, body := get(path)
		if code != 200 {
			t.Fatalf("GET %s: %d", path, code)
		}
		for _, name := range hidden {
			if strings.Contains(body, ">"+name) {
				t.Errorf("listing of %s shows %q: %s", path, name, body)
			}
		}
	}
	if _, body := get("/docs/"); !strings.Contains(body, "ok.txt") {
		t.Errorf("listing of /docs/ lost ok.txt: %s", body)
	}
}

func FuzzLocalPath(f *testing.F) {
	for _, s := range []string{"a/b", "../x", "a/../../b", `a\..\b`, "/abs", "C:x", "a\x00b", "CON", "./a", "a/./b/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		clean, err := LocalPath(name)
		if err != nil {
			return
		}
		if !filepath.IsLocal(clean) || strings.ContainsAny(clean, "\\:\x00") || strings.HasPrefix(clean, "/") {
			t.Fatalf("LocalPath(%q) = %q, not local", name, clean)
		}
		for _, seg := range strings.Split(clean, "/") {
			if seg == ".." || seg == "." || seg == "" {
				t.Fatalf("LocalPath(%q) = %q has segment %q", name, clean, seg)
			}
		}
		if again, err := LocalPath(clean); err != nil || again != clean {
			t.Fatalf("LocalPath not idempotent on %q: %q, %v", clean, again, err)
		}
	})
}
