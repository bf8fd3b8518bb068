package validate

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/covetgo/covet/errs"
)

type notePath struct {
	Org  string  `path:"org" validate:"required,slug"`
	ID   int64   `path:"id" validate:"required,gt=0"`
	Rev  *uint16 `path:"rev"`
	Rest string  `path:"-"`
}

func TestPathStdlibAndChi(t *testing.T) {
	t.Parallel()
	p, err := NewPath[notePath](newTestValidator(t), PathOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got notePath
	ok := func(w http.ResponseWriter, r *http.Request) {
		got, _ = PathFrom[notePath](r.Context())
		w.WriteHeader(http.StatusNoContent)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /orgs/{org}/notes/{id}", p.Handler(http.HandlerFunc(ok)))
	mux.Handle("GET /orgs/{org}/notes/{id}/revs/{rev}/{$}", p.Handler(http.HandlerFunc(ok)))

	cr := chi.NewRouter()
	cr.With(p.Handler).Get("/orgs/{org}/notes/{id}", ok)
	cr.Route("/orgs/{org}/notes/{id}/revs/{rev}", func(r chi.Router) {
		r.Use(p.Handler)
		r.Get("/", ok)
	})

	tests := []struct {
		name   string
		path   string
		status int
		code   string
		want   notePath
		field  string
	}{
		{name: "valid", path: "/orgs/acme/notes/42", status: 204, want: notePath{Org: "acme", ID: 42}},
		{name: "with rev", path: "/orgs/acme/notes/42/revs/7/", status: 204, want: notePath{Org: "acme", ID: 42, Rev: ptr(uint16(7))}},
		{name: "escaped value", path: "/orgs/ac%2Dme/notes/42", status: 204, want: notePath{Org: "ac-me", ID: 42}},
		{name: "id not a number", path: "/orgs/acme/notes/abc", status: 400, code: "invalid_parameter", field: "id"},
		{name: "id overflow", path: "/orgs/acme/notes/99999999999999999999", status: 400, code: "invalid_parameter", field: "id"},
		{name: "rev overflow", path: "/orgs/acme/notes/1/revs/70000/", status: 400, code: "invalid_parameter", field: "rev"},
		{name: "invalid utf-8", path: "/orgs/%ff/notes/1", status: 400, code: "invalid_parameter", field: "org"},
		{name: "rule: gt", path: "/orgs/acme/notes/-3", status: 422, code: "validation_failed", field: "id"},
		{name: "rule: custom", path: "/orgs/ACME/notes/3", status: 422, code: "validation_failed", field: "org"},
	}
	for _, router := range []struct {
		name string
		h    http.Handler
	}{{"ServeMux", mux}, {"chi", cr}} {
		for _, tc := range tests {
			t.Run(router.name+"/"+tc.name, func(t *testing.T) {
				got = notePath{}
				w, p := serve(t, router.h, httptest.NewRequest("GET", tc.path, nil))
				if w.Code != tc.status || p.Code != tc.code {
					t.Fatalf("status %d code %q, want %d %q; body %s", w.Code, p.Code, tc.status, tc.code, w.Body)
				}
				if tc.status == 204 {
					if got.Org != tc.want.Org || got.ID != tc.want.ID || (got.Rev == nil) != (tc.want.Rev == nil) || (got.Rev != nil && *got.Rev != *tc.want.Rev) {
						t.Fatalf("got %+v, want %+v", got, tc.want)
					}
				}
				if tc.field != "" {
					findField(t, p, tc.field)
				}
			})
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestPathChiURLParamFallback(t *testing.T) {
	t.Parallel()
	p, err := NewPath[notePath](newTestValidator(t), PathOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// A chi route context without http.Request path values, as older chi
	// versions leave it.
	r := httptest.NewRequest("GET", "/x", nil)
	rctx := chi.NewRouteContext()
	rctx.URLParams.Add("org", "acme")
	rctx.URLParams.Add("id", "9")
	r = r.WithContext(t.Context())
	r = r.WithContext(contextWithChi(r, rctx))
	got, err := p.Bind(r)
	if err != nil || got.ID != 9 || got.Org != "acme" {
		t.Fatalf("%+v, %v", got, err)
	}
}

func TestPathMissingIsRequired(t *testing.T) {
	t.Parallel()
	p, err := NewPath[notePath](newTestValidator(t), PathOptions{Lookup: func(*http.Request, string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Bind(httptest.NewRequest("GET", "/", nil))
	var e *errs.Error
	if !errors.As(err, &e) || e.Status() != 422 || len(e.Fields()) != 2 {
		t.Fatalf("%v, want 422 with org and id required", err)
	}
	for _, f := range e.Fields() {
		if f.Rule != "required" {
			t.Errorf("field %+v, want required", f)
		}
	}
}

func TestPathTypesRefused(t *testing.T) {
	t.Parallel()
	type slice struct {
		IDs []int `path:"ids"`
	}
	if _, err := NewPath[slice](nil, PathOptions{}); !errors.Is(err, errs.KindConfiguration) {
		t.Fatalf("%v, want a configuration error", err)
	}
}

func TestPathUnescapesOnce(t *testing.T) {
	t.Parallel()
	type raw struct {
		Name string `path:"name"`
	}
	p, err := NewPath[raw](nil, PathOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got string
	ok := func(w http.ResponseWriter, r *http.Request) {
		v, _ := PathFrom[raw](r.Context())
		got = v.Name
	}
	mux := http.NewServeMux()
	mux.Handle("GET /files/{name}", p.Handler(http.HandlerFunc(ok)))
	cr := chi.NewRouter()
	cr.With(p.Handler).Get("/files/{name}", ok)
	// StripSlashes makes chi route on the decoded path.
	stripped := chi.NewRouter()
	stripped.Use(middleware.StripSlashes)
	stripped.With(p.Handler).Get("/files/{name}", ok)
	// A mounted router inherits the form its parent matched.
	mounted, mountedStripped := chi.NewRouter(), chi.NewRouter()
	sub := chi.NewRouter()
	sub.With(p.Handler).Get("/{name}", ok)
	mounted.Mount("/files", sub)
	mountedStripped.Use(middleware.StripSlashes)
	mountedStripped.Mount("/files", sub)
	tests := map[string]string{
		"/files/plain":         "plain",
		"/files/a%20b":         "a b",
		"/files/a%2Fb":         "a/b",
		"/files/100%2541":      "100%41",
		"/files/100%25":        "100%",
		"/files/%C3%A9t%C3%A9": "été",
		"/files/%252e%252e":    "%2e%2e",
		"/files/%25%32%65%25%32%65%25%32%66etc%25%32%66passwd": "%2e%2e%2fetc%2fpasswd",
	}
	for _, h := range []struct {
		name string
		h    http.Handler
	}{{"ServeMux", mux}, {"chi", cr}, {"chi StripSlashes", stripped}, {"chi Mount", mounted}, {"chi StripSlashes Mount", mountedStripped}} {
		for path, want := range tests {
			targets := []string{path}
			// With a trailing slash, StripSlashes routes on the decoded
			// path, where an encoded slash is a separator.
			if (h.name == "chi StripSlashes" || h.name == "chi StripSlashes Mount") && !strings.Contains(path, "%2F") {
				targets = append(targets, path+"/")
			}
			for _, target := range targets {
				got = ""
				w := httptest.NewRecorder()
				h.h.ServeHTTP(w, httptest.NewRequest("GET", target, nil))
				if w.Code != 200 || got != want {
					t.Errorf("%s %s: status %d value %q, want %q", h.name, target, w.Code, got, want)
				}
			}
		}
	}
}

// TestPathChiDecodedRoutePath binds a parameter that chi matched on the
// decoded path, as it does after middleware.StripSlashes: decoding it
// again would turn "%2e%2e%2f" into "../".
func TestPathChiDecodedRoutePath(t *testing.T) {
	t.Parallel()
	type file struct {
		Name string `path:"name"`
	}
	p, err := NewPath[file](nil, PathOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cr := chi.NewRouter()
	cr.Use(middleware.StripSlashes)
	var got *string
	cr.With(p.Handler).Get("/files/{name}", func(w http.ResponseWriter, r *http.Request) {
		v, _ := PathFrom[file](r.Context())
		got = &v.Name
	})
	r := httptest.NewRequest("GET", "/files/%25%32%65%25%32%65%25%32%66etc%25%32%66passwd/", nil)
	if r.URL.RawPath == "" {
		t.Fatal("the request has no RawPath: the case under test does not arise")
	}
	w := httptest.NewRecorder()
	cr.ServeHTTP(w, r)
	if got == nil {
		t.Fatalf("handler not reached: %d %s", w.Code, w.Body)
	}
	if *got != "%2e%2e%2fetc%2fpasswd" {
		t.Fatalf("bound %q, want the path segment decoded once", *got)
	}
}

// TestPathChiAmbiguousEncoding refuses a value that reads as a part of the
// decoded path both as it is and decoded once: which one chi matched
// cannot be told.
func TestPathChiAmbiguousEncoding(t *testing.T) {
	t.Parallel()
	type pair struct {
		A string `path:"a"`
		B string `path:"b"`
	}
	p, err := NewPath[pair](nil, PathOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cr := chi.NewRouter()
	cr.Use(middleware.StripSlashes)
	reached := false
	cr.With(p.Handler).Get("/x/{a}/{b}", func(w http.ResponseWriter, r *http.Request) { reached = true })
	// Decoded path "/x/%41/A": chi (on the decoded path) binds a = "%41",
	// which is in the path as it is and, decoded, as b.
	w, prob := serve(t, cr, httptest.NewRequest("GET", "/x/%2541/A/", nil))
	if reached || w.Code != 400 {
		t.Fatalf("status %d, reached %v; body %s", w.Code, reached, w.Body)
	}
	findField(t, prob, "a")
}

func TestFromEmptyContext(t *testing.T) {
	t.Parallel()
	if _, ok := PathFrom[notePath](t.Context()); ok {
		t.Error("PathFrom found a value in an empty context")
	}
	if _, ok := QueryFrom[listQuery](t.Context()); ok {
		t.Error("QueryFrom found a value in an empty context")
	}
	p, err := NewPath[notePath](newTestValidator(t), PathOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.From(t.Context()); ok {
		t.Error("Path.From found a value in an empty context")
	}
}

// FuzzChiPathDecodedOnce routes arbitrary path segments through chi, with
// and without StripSlashes: a bound value is the segment decoded exactly
// once, or the request is refused.
// plainSegment reports whether seg can be sent as one path segment as it
// is: not empty, printable ASCII, no '/', '?' or '#'.
func plainSegment(seg string) bool {
	return seg != "" && !strings.ContainsFunc(seg, func(r rune) bool {
		return r <= ' ' || r == 0x7f || r == '/' || r == '?' || r == '#' || r >= 0x80
	})
}

// boundOnce reports whether got is want, the segment decoded once; with
// StripSlashes, also want without the trailing slash.
func boundOnce(got, want string, strips bool) bool {
	return got == want || (strips && got == strings.TrimSuffix(want, "/"))
}

func FuzzChiPathDecodedOnce(f *testing.F) {
	for _, s := range []string{"plain", "a%20b", "a%2Fb", "%252e%252e", "%25%32%65%25%32%65%25%32%66etc", "100%25", "%2541", "%C3%A9"} {
		f.Add(s)
	}
	type file struct {
		Name string `path:"name"`
	}
	p, err := NewPath[file](nil, PathOptions{})
	if err != nil {
		f.Fatal(err)
	}
	var got *string
	handler := func(w http.ResponseWriter, r *http.Request) {
		v, _ := PathFrom[file](r.Context())
		got = &v.Name
	}
	plain, stripped := chi.NewRouter(), chi.NewRouter()
	plain.With(p.Handler).Get("/files/{name}", handler)
	stripped.Use(middleware.StripSlashes)
	stripped.With(p.Handler).Get("/files/{name}", handler)
	f.Fuzz(func(t *testing.T, seg string) {
		if !plainSegment(seg) {
			return
		}
		want, err := url.PathUnescape(seg)
		if err != nil {
			return
		}
		for _, tc := range []struct {
			h      http.Handler
			target string
			strips bool
		}{{plain, "/files/" + seg, false}, {stripped, "/files/" + seg, true}, {stripped, "/files/" + seg + "/", true}} {
			got = nil
			w := httptest.NewRecorder()
			tc.h.ServeHTTP(w, httptest.NewRequest("GET", tc.target, nil))
			// StripSlashes drops a trailing slash of the decoded path,
			// also one the client encoded ("0%2F" routes as "0").
			if got != nil && w.Code < 300 && !boundOnce(*got, want, tc.strips) {
				t.Fatalf("%s: bound %q, want %q (decoded once)", tc.target, *got, want)
			}
			if w.Code >= 500 {
				t.Fatalf("%s: status %d", tc.target, w.Code)
			}
		}
	})
}
