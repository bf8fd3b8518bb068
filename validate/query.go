package validate

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/covetgo/covet/errs"
)

// DefaultMaxParams is the query parameter limit when QueryOptions.MaxParams
// is zero.
const DefaultMaxParams = 64

// DefaultMaxQueryBytes is the raw query length limit when
// QueryOptions.MaxBytes is zero.
const DefaultMaxQueryBytes = 8 << 10

// QueryOptions configures a Query binder. The zero value is strict:
// unknown parameters are refused, at most 64 parameters in 8 KiB.
type QueryOptions struct {
	// MaxParams caps the number of name=value pairs. Zero: DefaultMaxParams.
	MaxParams int
	// MaxBytes caps the length of the raw query string. Zero:
	// DefaultMaxQueryBytes.
	MaxBytes int
	// AllowUnknown ignores parameters the type has no field for, instead of
	// refusing them (a 400). Set it for endpoints that see tracking
	// parameters such as utm_source.
	AllowUnknown bool
}

// Query binds query strings to the fields of struct T and validates them.
// A field is named by its `query:"name"` tag (its Go name without one;
// "-" skips it). Supported field types: string, bool, integers, floats,
// time.Duration, types whose pointer implements encoding.TextUnmarshaler
// (time.Time takes RFC 3339), pointers to these (nil when the parameter is
// absent, so absence and a zero value differ) and slices of these (one
// element per repetition: ?tag=a&tag=b). Build one per type at start-up
// with NewQuery; it is safe for concurrent use.
//
// A malformed query string, an unknown parameter, a repeated parameter
// whose field is not a slice, invalid UTF-8, or a value that does not
// convert (an empty one included) is a 400; a rule failure is a 422.
type Query[T any] struct {
	v            *Validator
	ps           *paramSet
	typ          reflect.Type
	maxParams    int
	maxBytes     int
	allowUnknown bool
}

// NewQuery returns a query binder for struct type T, checking its fields
// and tags now. A nil v means Default().
func NewQuery[T any](v *Validator, o QueryOptions) (*Query[T], error) {
	if v == nil {
		v = Default()
	}
	if o.MaxParams < 0 || o.MaxBytes < 0 {
		return nil, errs.Configf("validate: QueryOptions limits must not be negative (MaxParams %d, MaxBytes %d)", o.MaxParams, o.MaxBytes)
	}
	if o.MaxParams == 0 {
		o.MaxParams = DefaultMaxParams
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultMaxQueryBytes
	}
	t := reflect.TypeFor[T]()
	ps, err := newParamSet(t, "query", "query string")
	if err != nil {
		return nil, err
	}
	if err := v.checkParamType(t); err != nil {
		return nil, err
	}
	return &Query[T]{v: v, ps: ps, typ: t, maxParams: o.MaxParams, maxBytes: o.MaxBytes, allowUnknown: o.AllowUnknown}, nil
}

// Bind parses r's query string into a T and validates it. The error is an
// *errs.Error for errs.Write (400 or 422).
func (q *Query[T]) Bind(r *http.Request) (T, error) {
	var t T
	err := q.Decode(r, &t)
	return t, err
}

// Decode is Bind into an existing value: parameters present in the query
// overwrite (or, for slices, append to) what dst holds; then dst is
// validated.
func (q *Query[T]) Decode(r *http.Request, dst *T) error {
	if err := q.parse(r.URL.RawQuery, reflect.ValueOf(dst).Elem()); err != nil {
		return err
	}
	return q.v.validate(r.Context(), dst, q.typ, q.ps.rename, ErrInvalid.WithMessage("The query string is not valid."))
}

func (q *Query[T]) parse(raw string, sv reflect.Value) error {
	if len(raw) > q.maxBytes {
		return ErrTooManyParams.WithMessage("The query string is longer than "+strconv.Itoa(q.maxBytes)+" bytes.").WithPublic("limit", q.maxBytes)
	}
	var seen seenParams
	if len(q.ps.params) > 128 {
		seen.large = make([]bool, len(q.ps.params))
	}
	var bad []errs.FieldError
	count := 0
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		if count++; count > q.maxParams {
			return ErrTooManyParams.WithMessage("The query string has more than "+strconv.Itoa(q.maxParams)+" parameters.").WithPublic("limit", q.maxParams)
		}
		if strings.IndexByte(pair, ';') >= 0 {
			return ErrParam.WithMessage("The query string is malformed: parameters are separated by '&', not ';'.")
		}
		k, val, _ := strings.Cut(pair, "=")
		idx, err := q.lookup(k)
		if err != nil {
			return err
		}
		if idx < 0 {
			continue
		}
		p := &q.ps.params[idx]
		if !p.multi && seen.add(idx) {
			return ErrRepeatedParam.WithMessage("The query parameter " + p.name + " is given more than once.").
				WithFields(errs.FieldError{Field: p.name, Rule: "repeated_parameter", Message: p.name + " takes one value"})
		}
		v, err := url.QueryUnescape(val)
		if err != nil || !utf8.ValidString(v) {
			bad = append(bad, errs.FieldError{Field: p.name, Rule: "encoding", Message: p.name + " is not valid percent-encoded UTF-8"})
			continue
		}
		if !p.set(sv, v) {
			bad = append(bad, badValue(p))
		}
	}
	if len(bad) > 0 {
		return convError(ErrParam, bad)
	}
	return nil
}

// lookup returns the index of the parameter the raw (still escaped) name
// k names, or -1 for an unknown parameter that the Query lets through.
func (q *Query[T]) lookup(k string) (int, error) {
	key, err := url.QueryUnescape(k)
	if err != nil || !utf8.ValidString(key) {
		return 0, ErrParam.WithMessage("The query string has a malformed parameter name.")
	}
	if idx, ok := q.ps.byName[key]; ok {
		return idx, nil
	}
	if q.allowUnknown {
		return -1, nil
	}
	key = clip(key)
	shown := key
	if shown == "" {
		shown = `""`
	}
	return 0, ErrUnknownParam.WithMessage("The query string has an unknown parameter: " + shown + ".").
		WithFields(errs.FieldError{Field: key, Rule: "unknown_parameter", Message: key + " is not a known parameter"})
}

// seenParams records which parameters a query string gave: in two words
// for up to 128 parameters, in large beyond.
type seenParams struct {
	small [2]uint64
	large []bool
}

// add records parameter idx and reports whether it was given before.
func (s *seenParams) add(idx int) bool {
	if s.large != nil {
		dup := s.large[idx]
		s.large[idx] = true
		return dup
	}
	bit := uint64(1) << (idx & 63)
	dup := s.small[idx>>6]&bit != 0
	s.small[idx>>6] |= bit
	return dup
}

type queryKey[T any] struct{}

// Handler is middleware that binds the query string before next runs and
// stores the value in the request context (read it with QueryFrom[T] or
// q.From). A failure is written with errs.Write and next does not run.
func (q *Query[T]) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := new(T)
		if err := q.Decode(r, t); err != nil {
			errs.Write(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), queryKey[T]{}, t)))
	})
}

// From returns the value Handler stored in ctx.
func (q *Query[T]) From(ctx context.Context) (T, bool) { return QueryFrom[T](ctx) }

// QueryFrom returns the query value a Query[T] Handler stored in ctx, and
// whether there was one.
func QueryFrom[T any](ctx context.Context) (T, bool) {
	if p, ok := ctx.Value(queryKey[T]{}).(*T); ok {
		return *p, true
	}
	var zero T
	return zero, false
}
