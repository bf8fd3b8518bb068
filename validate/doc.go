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
//     or a +json type (else 415), the body is capped through
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
package validate
