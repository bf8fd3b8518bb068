package validate

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/covetgo/covet/errs"
)

// PathOptions configures a Path binder.
type PathOptions struct {
	// Lookup returns the (unescaped) path value called name. Nil: on a chi
	// route chi.URLParam(r, name), decoded exactly once whichever path chi
	// matched (escaped, or decoded after a middleware such as
	// StripSlashes); otherwise r.PathValue(name), which http.ServeMux
	// fills.
	Lookup func(r *http.Request, name string) string
}

// Path binds the path values of a matched route ("/notes/{id}") to the
// fields of struct T and validates them. A field is named by its
// `path:"name"` tag (its Go name without one; "-" skips it); field types
// are those of Query except slices. An empty or missing value leaves the
// field zero (nil for a pointer), for a `required` rule to catch.
//
// Path values exist only once a route has matched: mount Handler on the
// route (chi's r.With, or wrapping the handler given to ServeMux.Handle),
// or in a chi Route group whose pattern holds the parameters, not with
// r.Use on the router that does the matching.
type Path[T any] struct {
	v      *Validator
	ps     *paramSet
	typ    reflect.Type
	lookup func(r *http.Request, name string) (string, bool)
}

// pathValue is the default lookup: on a chi route chi's URL parameter,
// decoded exactly once (see chiValue); elsewhere r.PathValue, which
// http.ServeMux has decoded once already.
func pathValue(r *http.Request, name string) (string, bool) {
	if rctx := chi.RouteContext(r.Context()); rctx != nil {
		if s := rctx.URLParam(name); s != "" {
			return chiValue(r, s)
		}
	}
	return r.PathValue(name), true
}

// chiValue returns chi's parameter value s decoded exactly once, and false
// when that cannot be told. chi matches the escaped path (r.URL.RawPath)
// when the request has one, but the decoded path when a middleware set
// its RoutePath first (middleware.StripSlashes does, from r.URL.Path), and
// a mounted router inherits whichever its parent used: the value alone
// does not say whether it is still escaped. Decoding it when it is not
// decodes the client's input twice ("%252e" would become "."), so the
// choice is made from the request itself: a value decoded once is part of
// r.URL.Path. A value without "%" reads the same either way. When both
// readings, or neither, are part of r.URL.Path, the value is refused
// rather than guessed.
func chiValue(r *http.Request, s string) (string, bool) {
	if strings.IndexByte(s, '%') < 0 {
		return s, true
	}
	asIs := strings.Contains(r.URL.Path, s)
	u, err := url.PathUnescape(s)
	unescaped := err == nil && strings.Contains(r.URL.Path, u)
	switch {
	case unescaped && !asIs:
		return u, true
	case asIs && !unescaped:
		return s, true
	}
	return "", false
}

// NewPath returns a path binder for struct type T, checking its fields and
// tags now. A nil v means Default().
func NewPath[T any](v *Validator, o PathOptions) (*Path[T], error) {
	if v == nil {
		v = Default()
	}
	t := reflect.TypeFor[T]()
	ps, err := newParamSet(t, "path", "path")
	if err != nil {
		return nil, err
	}
	for _, p := range ps.params {
		if p.multi {
			return nil, errs.Configf("validate: type %s: path value %q cannot be a slice", t, p.name)
		}
	}
	if err := v.checkParamType(t); err != nil {
		return nil, err
	}
	lookup := pathValue
	if o.Lookup != nil {
		lookup = func(r *http.Request, name string) (string, bool) { return o.Lookup(r, name), true }
	}
	return &Path[T]{v: v, ps: ps, typ: t, lookup: lookup}, nil
}

// Bind reads r's path values into a T and validates it. The error is an
// *errs.Error for errs.Write (400 or 422).
func (p *Path[T]) Bind(r *http.Request) (T, error) {
	var t T
	err := p.Decode(r, &t)
	return t, err
}

// Decode is Bind into an existing value.
func (p *Path[T]) Decode(r *http.Request, dst *T) error {
	sv := reflect.ValueOf(dst).Elem()
	var bad []errs.FieldError
	for i := range p.ps.params {
		pp := &p.ps.params[i]
		raw, ok := p.lookup(r, pp.name)
		if !ok {
			bad = append(bad, errs.FieldError{Field: pp.name, Rule: "encoding", Message: pp.name + " is percent-encoded ambiguously"})
			continue
		}
		if raw == "" {
			continue
		}
		if !utf8.ValidString(raw) {
			bad = append(bad, errs.FieldError{Field: pp.name, Rule: "encoding", Message: pp.name + " is not valid UTF-8"})
			continue
		}
		if !pp.set(sv, raw) {
			bad = append(bad, badValue(pp))
		}
	}
	if len(bad) > 0 {
		return convError(ErrParam.WithMessage("A path parameter is malformed."), bad)
	}
	return p.v.validate(r.Context(), dst, p.typ, p.ps.rename, ErrInvalid.WithMessage("The path is not valid."))
}

type pathKey[T any] struct{}

// Handler is middleware that binds the path values before next runs and
// stores the value in the request context (read it with PathFrom[T] or
// p.From). A failure is written with errs.Write and next does not run.
func (p *Path[T]) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := new(T)
		if err := p.Decode(r, t); err != nil {
			errs.Write(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), pathKey[T]{}, t)))
	})
}

// From returns the value Handler stored in ctx.
func (p *Path[T]) From(ctx context.Context) (T, bool) { return PathFrom[T](ctx) }

// PathFrom returns the path value a Path[T] Handler stored in ctx, and
// whether there was one.
func PathFrom[T any](ctx context.Context) (T, bool) {
	if v, ok := ctx.Value(pathKey[T]{}).(*T); ok {
		return *v, true
	}
	var zero T
	return zero, false
}
