package validate

import (
	"context"
	"net/http"
	"reflect"

	"github.com/go-json-experiment/json"

	"github.com/covetgo/covet/errs"
)

// DefaultMaxBytes is the body limit when BodyOptions.MaxBytes is zero.
const DefaultMaxBytes = 1 << 20

// DefaultMaxDepth is the nesting limit when BodyOptions.MaxDepth is zero.
const DefaultMaxDepth = 32

// DefaultMaxElements is the element limit when BodyOptions.MaxElements is
// zero.
const DefaultMaxElements = 10000

// BodyOptions configures a Body binder. The zero value is the default:
// 1 MiB, 32 levels of nesting, 10000 elements.
type BodyOptions struct {
	// MaxBytes caps the body; a longer one is a 413. Zero: DefaultMaxBytes.
	MaxBytes int64
	// MaxDepth caps how deeply objects and arrays nest; deeper is a 400
	// (too_deep, with the byte offset). The body's top-level object is
	// level 1. Zero: DefaultMaxDepth. A type whose own shape nests less
	// deeply (no interface, raw JSON or self-decoding fields, no recursion)
	// needs no scan: deeper input cannot match it and fails as invalid_type
	// at the field that went wrong.
	MaxDepth int
	// MaxElements caps the array elements and object members of the whole
	// body, counted together as the commas and opening brackets outside
	// strings; more is a 400 (too_many_elements, with the byte offset). It
	// applies to types with slices, maps or interfaces (the others bound
	// their own size). It bounds
	// the work and memory validation spends on a body, which grows with the
	// number of failing elements rather than with bytes: a 1 MiB array of
	// empty objects could otherwise produce hundreds of thousands of field
	// errors. Zero: DefaultMaxElements.
	MaxElements int
}

// Body binds JSON request bodies to T and validates them. Build one per
// request type at start-up with NewBody; it is safe for concurrent use.
//
// Decoding is strict: member names match the type's JSON names exactly
// (case-sensitively), and unknown or duplicate members, data after the
// value, invalid UTF-8 and a top-level null are refused.
type Body[T any] struct {
	v      *Validator
	typ    reflect.Type
	limits limits
}

// decodeOptions are the strict decoding options; json v2 already refuses
// duplicate names and invalid UTF-8 by default.
var decodeOptions = json.RejectUnknownMembers(true)

// NewBody returns a binder for T, which must be a struct, a pointer to one,
// or a slice, array or map. It checks T's tags now (see
// Validator.Register). A nil v means Default().
func NewBody[T any](v *Validator, o BodyOptions) (*Body[T], error) {
	if v == nil {
		v = Default()
	}
	if o.MaxBytes < 0 {
		return nil, errs.Configf("validate: BodyOptions.MaxBytes is negative (%d)", o.MaxBytes)
	}
	if o.MaxDepth < 0 {
		return nil, errs.Configf("validate: BodyOptions.MaxDepth is negative (%d)", o.MaxDepth)
	}
	if o.MaxElements < 0 {
		return nil, errs.Configf("validate: BodyOptions.MaxElements is negative (%d)", o.MaxElements)
	}
	if o.MaxElements == 0 {
		o.MaxElements = DefaultMaxElements
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxDepth == 0 {
		o.MaxDepth = DefaultMaxDepth
	}
	t := reflect.TypeFor[T]()
	switch deref(t).Kind() {
	case reflect.Struct, reflect.Slice, reflect.Array, reflect.Map:
	default:
		return nil, errs.Configf("validate: NewBody needs a struct, slice, array or map type, not %s", t)
	}
	if err := v.checkType(t, true); err != nil {
		return nil, err
	}
	depth, bounded := typeBounds(t, make(map[reflect.Type]bool))
	return &Body[T]{v: v, typ: t, limits: limits{
		maxBytes:   o.MaxBytes,
		maxDepth:   o.MaxDepth,
		maxElems:   o.MaxElements,
		scan:       !bounded || depth > o.MaxDepth,
		wantObject: deref(t).Kind() == reflect.Struct || deref(t).Kind() == reflect.Map,
	}}, nil
}

// Bind reads r's body into a T and validates it. The error is an *errs.Error
// for errs.Write: 415, 413, 400 (naming the JSON pointer or byte offset) or
// 422 (with a field error per failed rule). w may be nil; when given, an
// oversized body also makes the server close the connection.
func (b *Body[T]) Bind(w http.ResponseWriter, r *http.Request) (T, error) {
	var t T
	err := b.Decode(w, r, &t)
	return t, err
}

// Decode is Bind into an existing value: it decodes into *dst (merging into
// what is there) and validates it.
func (b *Body[T]) Decode(w http.ResponseWriter, r *http.Request, dst *T) error {
	if err := decodeJSON(w, r, dst, &b.limits); err != nil {
		return err
	}
	return b.v.validate(r.Context(), dst, b.typ, nil, ErrInvalid)
}

type bodyKey[T any] struct{}

// Handler is middleware that binds the body before next runs and stores the
// value in the request context (read it with BodyFrom[T] or b.From). A
// failure is written with errs.Write and next does not run.
func (b *Body[T]) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := new(T)
		if err := b.Decode(w, r, t); err != nil {
			errs.Write(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), bodyKey[T]{}, t)))
	})
}

// From returns the value Handler stored in ctx.
func (b *Body[T]) From(ctx context.Context) (T, bool) { return BodyFrom[T](ctx) }

// BodyFrom returns the body value a Body[T] Handler stored in ctx, and
// whether there was one.
func BodyFrom[T any](ctx context.Context) (T, bool) {
	if p, ok := ctx.Value(bodyKey[T]{}).(*T); ok {
		return *p, true
	}
	var zero T
	return zero, false
}

// JSON binds and validates r's JSON body into a T with default BodyOptions:
// the one-call form of NewBody(v, BodyOptions{}).Bind(w, r). The binder
// for T is built on first use and kept; a T with bad tags gives a 500
// (register T at start-up to fail earlier). A nil v means Default().
func JSON[T any](v *Validator, w http.ResponseWriter, r *http.Request) (T, error) {
	if v == nil {
		v = Default()
	}
	t := reflect.TypeFor[T]()
	var b *Body[T]
	if x, ok := v.bodies.Load(t); ok {
		b = x.(*Body[T])
	} else {
		nb, err := NewBody[T](v, BodyOptions{})
		if err != nil {
			var zero T
			return zero, err
		}
		x, _ := v.bodies.LoadOrStore(t, nb)
		b = x.(*Body[T])
	}
	return b.Bind(w, r)
}
