// Package validate decodes request input into Go types and checks it with
// github.com/go-playground/validator/v10, answering every failure through
// errs as problem+json.
//
// A process builds one *Validator at start-up with New, registering its custom
// rules and, ideally, every request type, so that a misspelt rule or a
// malformed parameter fails at boot instead of on the first request. Binders
// are then built per request type:
//
//   - NewBody[T] reads a JSON body: the Content-Type must be application/json
//     or a +json type and the body must have no Content-Encoding other
//     than identity (else 415), the body is capped through
//     http.MaxBytesReader (1 MiB by default, else 413), and decoding is strict
//     (unknown fields, duplicate names, trailing data, invalid UTF-8,
//     nesting deeper than a limit and more elements than a limit are 400s
//     naming the JSON pointer or byte offset).
//   - NewQuery[T] reads the query string into fields tagged `query:"name"`.
//   - NewPath[T] reads path values (r.PathValue, which chi and
//     http.ServeMux fill, with chi.URLParam as a fallback) into fields tagged
//     `path:"name"`. A value is decoded exactly once, whether chi matched
//     the escaped path or, after a middleware such as StripSlashes, the
//     decoded one; a value whose encoding cannot be told is a 400.
//
// Each binder has a Bind method for handlers that decode themselves, and a
// Handler method, a middleware that decodes before the handler and stores
// the value in the request context for BodyFrom, QueryFrom and PathFrom.
// Values that cannot be converted to the field's type are 400s; values that
// break a rule are 422s listing the failed fields (up to 100) as
// {field, pointer, rule, param, message}, where field is the name the client
// used ("items[2].name") and pointer its RFC 6901 JSON pointer
// ("/items/2/name").
//
// A missing field and a zero value can be told apart with pointer fields: a
// *int stays nil when the member is absent (or null), and `validate:"required"`
// on a pointer field means "present and not null".
//
// Messages are English by default; Options.Messages replaces the text of
// single rules and Options.MessageFunc replaces all of it (for translations).
//
// # Request bodies, queries and path values, decoded strictly
//
// One *validate.Validator per process (github.com/go-playground/validator/v10 underneath) holds
// the custom rules and checks every request type at start-up: an unknown rule, a malformed numeric
// parameter (max=ten), clashing JSON names or a field JSON cannot decode fail at boot, not on the
// first request. Binders per request type then decode and validate:
//
//   - validate.NewBody[T]: application/json or any +json type, uncompressed (else 415), 1 MiB through
//     http.MaxBytesReader (else 413), strict decoding with go-json-experiment/json: unknown or
//     duplicate members, trailing data, invalid UTF-8, nesting deeper than 32 levels and a top-level
//     null are 400s naming the JSON pointer or byte offset; more than 10000 array elements and object
//     members is a 400 too, which bounds what validation of a hostile body can cost.
//   - validate.NewQuery[T] (query:"limit" tags) and validate.NewPath[T] (path:"id" tags;
//     r.PathValue on ServeMux, chi URL parameters on chi): values that do not convert are 400s;
//     unknown and repeated query parameters are refused unless allowed.
//   - Rule failures are 422s listing the failed fields (up to 100) as {field, pointer, rule, param, message} with JSON
//     names (items[2].name, /items/2/name). Pointer fields tell a missing member from a zero one.
//     Messages are English; Options.Messages or Options.MessageFunc replace them.
//
// Each binder has Bind for handlers and Handler, a middleware that stores the value for
// validate.BodyFrom[T], QueryFrom[T] and PathFrom[T].
//
//	type CreateNote struct {
//		Title string   `json:"title" validate:"required,max=80"`
//		Tags  []string `json:"tags" validate:"max=5,dive,slug"`
//		Pin   *bool    `json:"pin"` // nil when absent
//	}
//
//	type ListNotes struct {
//		Limit int    `query:"limit" validate:"omitempty,min=1,max=100"`
//		Sort  string `query:"sort" validate:"omitempty,oneof=created_at -created_at"`
//	}
//
//	type NoteID struct {
//		ID int64 `path:"id" validate:"gt=0"`
//	}
//
//	v, err := validate.New(validate.Options{
//		Rules: []validate.Rule{{Tag: "slug", Func: isSlug, Message: "{field} must be lowercase words joined by dashes"}},
//		Types: []any{CreateNote{}, ListNotes{}, NoteID{}},
//	})
//	if err != nil {
//		log.Fatal(err) // names the type, field and tag
//	}
//	createNote, _ := validate.NewBody[CreateNote](v, validate.BodyOptions{MaxBytes: 64 << 10})
//	listNotes, _ := validate.NewQuery[ListNotes](v, validate.QueryOptions{})
//	noteID, _ := validate.NewPath[NoteID](v, validate.PathOptions{})
//
//	r := chi.NewRouter()
//	r.With(createNote.Handler).Post("/notes", func(w http.ResponseWriter, r *http.Request) {
//		note, _ := validate.BodyFrom[CreateNote](r.Context())
//		_ = note // decoded and valid
//	})
//	r.Get("/notes", func(w http.ResponseWriter, r *http.Request) {
//		q, err := listNotes.Bind(r)
//		if err != nil {
//			errs.Write(w, r, err) // 400 or 422 problem+json
//			return
//		}
//		_ = q
//	})
//	r.With(noteID.Handler).Get("/notes/{id}", func(w http.ResponseWriter, r *http.Request) {
//		id, _ := validate.PathFrom[NoteID](r.Context())
//		_ = id
//	})
//
// Path values exist once a route has matched: mount the path binder with r.With (or inside a
// r.Route group whose pattern holds the parameters), not with r.Use on the router that matches.
package validate
