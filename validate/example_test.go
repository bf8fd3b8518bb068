package validate_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/go-playground/validator/v10"

	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/validate"
)

type CreateNote struct {
	Title string   `json:"title" validate:"required,max=80"`
	Tags  []string `json:"tags" validate:"max=5,dive,slug"`
	Pin   *bool    `json:"pin"` // nil when absent
}

type ListNotes struct {
	Limit int    `query:"limit" validate:"omitempty,min=1,max=100"`
	Sort  string `query:"sort" validate:"omitempty,oneof=created_at -created_at"`
}

func isSlug(fl validator.FieldLevel) bool {
	s := fl.Field().String()
	for i := 0; i < len(s); i++ {
		if (s[i] < 'a' || s[i] > 'z') && s[i] != '-' {
			return false
		}
	}
	return s != ""
}

// One validator per process, with its custom rules and request types
// registered at start-up; binders per request type; the body binder
// mounted as middleware in front of the handler.
func Example() {
	v, err := validate.New(validate.Options{
		Rules: []validate.Rule{{Tag: "slug", Func: isSlug, Message: "{field} must be lowercase words joined by dashes"}},
		Types: []any{CreateNote{}, ListNotes{}},
	})
	if err != nil {
		panic(err)
	}
	createNote, err := validate.NewBody[CreateNote](v, validate.BodyOptions{MaxBytes: 64 << 10})
	if err != nil {
		panic(err)
	}
	listNotes, err := validate.NewQuery[ListNotes](v, validate.QueryOptions{})
	if err != nil {
		panic(err)
	}

	mux := http.NewServeMux()
	mux.Handle("POST /notes", createNote.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		note, _ := validate.BodyFrom[CreateNote](r.Context())
		fmt.Fprintf(w, "created %q (pin given: %v)", note.Title, note.Pin != nil)
	})))
	mux.HandleFunc("GET /notes", func(w http.ResponseWriter, r *http.Request) {
		q, err := listNotes.Bind(r)
		if err != nil {
			errs.Write(w, r, err)
			return
		}
		fmt.Fprintf(w, "limit=%d sort=%s", q.Limit, q.Sort)
	})

	do := func(method, target, body string) {
		r := httptest.NewRequest(method, target, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Body.String())
	}
	do("POST", "/notes", `{"title":"Groceries","tags":["home"]}`)
	do("POST", "/notes", `{"title":"Groceries","tags":["Home Stuff"]}`)
	do("POST", "/notes", `{"title":"Groceries","owner":"root"}`)
	do("GET", "/notes?limit=10&sort=-created_at", "")
	do("GET", "/notes?limit=ten", "")
	// Output:
	// 200 created "Groceries" (pin given: false)
	// 422 {"type":"about:blank","title":"Unprocessable Entity","status":422,"detail":"The request is not valid.","instance":"/notes","code":"validation_failed","errors":[{"field":"tags[0]","pointer":"/tags/0","rule":"slug","message":"tags[0] must be lowercase words joined by dashes"}]}
	// 400 {"type":"about:blank","title":"Bad Request","status":400,"detail":"The request body has an unknown field: owner.","instance":"/notes","code":"unknown_field","errors":[{"field":"owner","pointer":"/owner","rule":"unknown_field","message":"owner is not a known field"}],"context":{"pointer":"/owner"}}
	// 200 limit=10 sort=-created_at
	// 400 {"type":"about:blank","title":"Bad Request","status":400,"detail":"The parameter limit must be an integer.","instance":"/notes","code":"invalid_parameter","errors":[{"field":"limit","rule":"type","param":"int","message":"limit must be an integer"}]}
}

type NoteRef struct {
	ID int64 `path:"id" validate:"gt=0"`
}

// A path binder on a chi route: mounted with r.With so it runs after chi
// has matched {id}.
func ExamplePath_Handler() {
	noteRef, err := validate.NewPath[NoteRef](nil, validate.PathOptions{})
	if err != nil {
		panic(err)
	}
	r := chi.NewRouter()
	r.With(noteRef.Handler).Get("/notes/{id}", func(w http.ResponseWriter, r *http.Request) {
		ref, _ := validate.PathFrom[NoteRef](r.Context())
		fmt.Fprintf(w, "note %d", ref.ID)
	})
	for _, path := range []string{"/notes/42", "/notes/abc", "/notes/0"} {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		fmt.Println(w.Code, w.Body.String())
	}
	// Output:
	// 200 note 42
	// 400 {"type":"about:blank","title":"Bad Request","status":400,"detail":"The parameter id must be an integer.","instance":"/notes/abc","code":"invalid_parameter","errors":[{"field":"id","rule":"type","param":"int64","message":"id must be an integer"}]}
	// 422 {"type":"about:blank","title":"Unprocessable Entity","status":422,"detail":"The path is not valid.","instance":"/notes/0","code":"validation_failed","errors":[{"field":"id","rule":"gt","param":"0","message":"id must be more than 0"}]}
}
