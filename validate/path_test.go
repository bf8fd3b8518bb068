package validate

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/covetgo/covet/errs"
)

type notePath struct {
	Org  string  `path:"org" validate:"required,slug"`
	ID   int64   `path:"id" validate:"required,gt=0"`
	Rev  *uint16 `path:"rev"`
	Rest string  `path:"-"`
}

func TestPathStdlibAndChi(t *testing.T) {
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
	type slice struct {
		IDs []int `path:"ids"`
	}
	if _, err := NewPath[slice](nil, PathOptions{}); !errors.Is(err, errs.KindConfiguration) {
		t.Fatalf("%v, want a configuration error", err)
	}
}

func TestPathUnescapesOnce(t *testing.T) {
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
	tests := map[string]string{
		"/files/plain":         "plain",
		"/files/a%20b":         "a b",
		"/files/a%2Fb":         "a/b",
		"/files/100%2541":      "100%41",
		"/files/%C3%A9t%C3%A9": "été",
	}
	for _, h := range []http.Handler{mux, cr} {
		for path, want := range tests {
			got = ""
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
			if w.Code != 200 || got != want {
				t.Errorf("%T %s: status %d value %q, want %q", h, path, w.Code, got, want)
			}
		}
	}
}

func TestFromEmptyContext(t *testing.T) {
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
