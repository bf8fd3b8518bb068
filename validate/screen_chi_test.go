package validate_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/covetgo/covet/sanitize"
	"github.com/covetgo/covet/validate"
)

// TestDoubleEncodedPathThroughChi sends a path segment encoded twice
// through chi with StripSlashes, the request screen and a path binder, as
// an application stacks them: no handler may see it decoded twice.
func TestDoubleEncodedPathThroughChi(t *testing.T) {
	t.Parallel()
	type file struct {
		Name string `path:"name"`
	}
	p, err := validate.NewPath[file](nil, validate.PathOptions{})
	if err != nil {
		t.Fatal(err)
	}
	screen, err := sanitize.NewScreen(sanitize.ScreenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var bound []string
	handler := func(w http.ResponseWriter, r *http.Request) {
		v, _ := validate.PathFrom[file](r.Context())
		bound = append(bound, v.Name)
	}
	withScreen, without := chi.NewRouter(), chi.NewRouter()
	withScreen.Use(middleware.StripSlashes, screen.Handler)
	withScreen.With(p.Handler).Get("/files/{name}", handler)
	without.Use(middleware.StripSlashes)
	without.With(p.Handler).Get("/files/{name}", handler)

	srv := httptest.NewServer(withScreen)
	defer srv.Close()
	bare := httptest.NewServer(without)
	defer bare.Close()

	const target = "/files/%25%32%65%25%32%65%25%32%66etc%25%32%66passwd/"
	resp, err := http.Get(srv.URL + target)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("with the screen: status %d, want 400", resp.StatusCode)
	}
	// Each half holds on its own: without the screen the binder decodes
	// the segment once.
	resp, err = http.Get(bare.URL + target)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, v := range bound {
		if v == "../etc/passwd" {
			t.Fatalf("a handler bound %q", v)
		}
	}
	if resp.StatusCode != 200 || len(bound) != 1 || bound[0] != "%2e%2e%2fetc%2fpasswd" {
		t.Fatalf("without the screen: status %d, bound %q, want the segment decoded once", resp.StatusCode, bound)
	}
}
