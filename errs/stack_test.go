package errs

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/covetgo/covet/errs/internal/paniccase"
)

// TestStackNamesInlinedClosureFile panics in a closure of another package
// that the compiler inlined here: the frame's function is named after this
// package, but the file must be named after the package it is in.
func TestStackNamesInlinedClosureFile(t *testing.T) {
	t.Parallel()
	rd := renderer(t, Options{Mode: Development, Logger: slog.New(slog.DiscardHandler)})
	rec := httptest.NewRecorder()
	rd.Recover(paniccase.Handler()).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	m := decode(t, rec)
	stack, _ := m["stack"].([]any)
	if len(stack) == 0 {
		t.Fatalf("no stack: %v", m)
	}
	top := stack[0].(map[string]any)
	fn, file := top["func"].(string), top["file"].(string)
	if strings.HasPrefix(fn, "paniccase.") {
		t.Skipf("Handler was not inlined (%s); the case this test is for did not arise", fn)
	}
	if want := "github.com/covetgo/covet/errs/internal/paniccase/paniccase.go"; file != want {
		t.Fatalf("top frame %s in %q, want %q", fn, file, want)
	}
	for _, f := range stack {
		file := f.(map[string]any)["file"].(string)
		if strings.HasPrefix(file, "/") || strings.Contains(file, "pkg/mod") {
			t.Errorf("absolute or module-cache path in stack: %s", file)
		}
	}
}

func TestSourceFileNames(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ fn, file, want string }{
		{"github.com/a/b/pkg.F", "/root/go/pkg/mod/github.com/a/b@v1.2.3/pkg/f.go", "github.com/a/b/pkg/f.go"},
		{"github.com/a/b/pkg.F.func1", "/root/go/pkg/mod/github.com/!burnt!sushi/toml@v1.0.0/f.go", "github.com/BurntSushi/toml/f.go"},
		{"main.main.func1", "github.com/a/b@v1.0.0/pkg/f.go", "github.com/a/b/pkg/f.go"},
		{"github.com/a/b/pkg.F[...]", "github.com/a/b/pkg/f.go", "github.com/a/b/pkg/f.go"},
		{"main.main.Handler.func1", "/srv/unknown/lib/h.go", "lib/h.go"},
		{"main.main", "/srv/unknown/cmd/m.go", "main/m.go"},
	} {
		if got := relFile(tc.fn, tc.file); got != tc.want {
			t.Errorf("relFile(%q, %q) = %q, want %q", tc.fn, tc.file, got, tc.want)
		}
	}
	for fn, want := range map[string]bool{
		"a/b.F": false, "a/b.(*T).M": false, "a/b.F.func1": true, "a/b.F.func1.2": true,
		"a/b.F-range1": true, "a/b.glob..func3": true, "a/b.functional": false, "a/b.F[go.shape.func()]": false,
	} {
		if got := isClosure(fn); got != want {
			t.Errorf("isClosure(%q) = %v", fn, got)
		}
	}
}
