package validate

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"github.com/go-json-experiment/json"
	"github.com/go-playground/validator/v10"

	"github.com/covetgo/covet/errs"
)

// Rule is a custom validation rule registered at start-up.
type Rule struct {
	// Tag is the name used in `validate:"..."` tags, such as "slug".
	Tag string
	// Func reports whether the field is valid.
	Func validator.Func
	// FuncCtx is Func with the request's context, for rules that look
	// something up. Set Func or FuncCtx, not both.
	FuncCtx validator.FuncCtx
	// CallIfNull runs Func even for nil pointers, maps and slices.
	CallIfNull bool
	// Message is the English message for a failure, with "{field}" and
	// "{param}" replaced. Empty: "{field} is not valid".
	Message string
}

// MessageFunc returns the client-facing message for one failed rule. An
// empty result falls back to Options.Messages and then to English.
type MessageFunc func(f Failure) string

// Options configures a Validator. The zero value is a validator with the
// baked-in rules of validator/v10 and English messages.
type Options struct {
	// Rules are custom rules, registered before any type is checked.
	Rules []Rule
	// Types are request types (values or pointers, such as CreateNote{}) to
	// check now: their tags must name known rules with well-formed numeric
	// parameters and their JSON names must not collide, so a bad tag fails
	// at start-up instead of on the first request. Binders check their type
	// too; listing a type here also covers types validated with Struct.
	Types []any
	// Messages replaces the message of single rules: rule tag → template,
	// with "{field}" and "{param}" replaced ("{field} must be a slug").
	Messages map[string]string
	// MessageFunc, when set, is asked first for every message (for
	// translations); an empty result falls back to Messages and English.
	MessageFunc MessageFunc
}

// Validator is the one validator of a process: a validator/v10 instance
// configured with JSON field names, the custom rules and the messages. It
// is safe for concurrent use. Build it once at start-up with New.
type Validator struct {
	engine      *validator.Validate
	messages    map[string]string
	messageFunc MessageFunc
	checked     sync.Map // checkKey → error (nil when the type is sound)
	bodies      sync.Map // reflect.Type → *Body[T] used by JSON
}

// embeddedName is the name the tag-name function gives an embedded struct
// without a JSON name: JSON inlines its fields, so paths skip it.
const embeddedName = "\x00"

// New builds a Validator: it registers the custom rules and checks the
// listed types. A rule without a tag or function, a tag validator/v10
// refuses, or a type with a bad tag is a configuration error.
func New(o Options) (*Validator, error) {
	eng := validator.New(validator.WithRequiredStructEnabled())
	eng.RegisterTagNameFunc(jsonName)
	v := &Validator{engine: eng, messageFunc: o.MessageFunc}
	if len(o.Messages) > 0 {
		v.messages = make(map[string]string, len(o.Messages))
		for k, m := range o.Messages {
			v.messages[k] = m
		}
	}
	for _, rule := range o.Rules {
		if rule.Tag == "" || (rule.Func == nil) == (rule.FuncCtx == nil) {
			return nil, errs.Configf("validate: rule %q needs a tag and one of Func and FuncCtx", rule.Tag)
		}
		if err := register(eng, rule); err != nil {
			return nil, errs.Configf("validate: rule %q: %v", rule.Tag, err)
		}
		if rule.Message != "" {
			if _, ok := v.messages[rule.Tag]; !ok {
				if v.messages == nil {
					v.messages = make(map[string]string)
				}
				v.messages[rule.Tag] = rule.Message
			}
		}
	}
	if err := v.Register(o.Types...); err != nil {
		return nil, err
	}
	return v, nil
}

// register adds a rule; validator/v10 panics on reserved tags, which
// becomes an error here.
func register(eng *validator.Validate, rule Rule) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	if rule.FuncCtx != nil {
		return eng.RegisterValidationCtx(rule.Tag, rule.FuncCtx, rule.CallIfNull)
	}
	return eng.RegisterValidation(rule.Tag, rule.Func, rule.CallIfNull)
}

var (
	defaultOnce      sync.Once
	defaultValidator *Validator
)

// Default returns the process-wide Validator with zero Options, built on
// first use. Binders given a nil *Validator use it. Programs with custom
// rules build their own with New and pass it everywhere instead.
func Default() *Validator {
	defaultOnce.Do(func() {
		v, err := New(Options{})
		if err != nil {
			panic(err) // zero Options cannot fail
		}
		defaultValidator = v
	})
	return defaultValidator
}

// Engine returns the underlying validator/v10 instance, for registrations
// this package has no option for (struct-level rules, aliases, custom type
// functions). Use it only at start-up, before serving.
func (v *Validator) Engine() *validator.Validate { return v.engine }

// Register checks request types at start-up (values or pointers): every
// struct reachable from each type must have validate tags that name known
// rules with well-formed numeric parameters, JSON names that do not
// collide, and no field JSON cannot decode (channels, functions, complex
// numbers). The first problem is returned as a configuration error naming
// the type and field.
func (v *Validator) Register(types ...any) error {
	for _, x := range types {
		if x == nil {
			return errs.Configf("validate: Register needs a type, got nil")
		}
		if err := v.checkType(reflect.TypeOf(x), true); err != nil {
			return err
		}
	}
	return nil
}

type checkKey struct {
	t    reflect.Type
	json bool
}

// checkType checks t and every struct reachable from it once, including
// what JSON decoding needs when forJSON is set; the result is cached.
func (v *Validator) checkType(t reflect.Type, forJSON bool) error {
	k := checkKey{t, forJSON}
	if e, ok := v.checked.Load(k); ok {
		if e == nil {
			return nil
		}
		return e.(error)
	}
	err := v.walkType(t, forJSON, make(map[reflect.Type]bool))
	if err != nil {
		v.checked.Store(k, err)
		return err
	}
	v.checked.Store(k, nil)
	return nil
}

var (
	jsonUnmarshalerFrom = reflect.TypeFor[json.UnmarshalerFrom]()
	jsonUnmarshaler     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler     = reflect.TypeFor[interface{ UnmarshalText([]byte) error }]()
)

// decodesItself reports whether t (or *t) unmarshals itself, so its fields
// are its own business.
func decodesItself(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	for _, i := range []reflect.Type{jsonUnmarshalerFrom, jsonUnmarshaler, textUnmarshaler} {
		if t.Implements(i) || p.Implements(i) {
			return true
		}
	}
	return false
}

func (v *Validator) walkType(t reflect.Type, forJSON bool, seen map[reflect.Type]bool) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if seen[t] {
		return nil
	}
	seen[t] = true
	if decodesItself(t) {
		return nil
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		return v.walkType(t.Elem(), forJSON, seen)
	case reflect.Map:
		if err := v.walkType(t.Key(), forJSON, seen); err != nil {
			return err
		}
		return v.walkType(t.Elem(), forJSON, seen)
	case reflect.Chan, reflect.Func, reflect.Complex64, reflect.Complex128, reflect.UnsafePointer:
		if forJSON {
			return errs.Configf("validate: type %s cannot be decoded from JSON", t)
		}
		return nil
	case reflect.Struct:
		return v.walkStruct(t, forJSON, seen)
	}
	return nil
}

// walkStruct checks the fields of struct type t (see walkType).
func (v *Validator) walkStruct(t reflect.Type, forJSON bool, seen map[reflect.Type]bool) error {
	// JSON: the field set of the struct must be valid (no name collisions,
	// no malformed json tags). Decoding "{}" builds it.
	if forJSON {
		if err := json.Unmarshal([]byte("{}"), reflect.New(t).Interface()); err != nil {
			return errs.Configf("validate: type %s: %v", t, err)
		}
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() && !f.Anonymous {
			continue
		}
		// A field JSON skips (json:"-") is still validated, so its tags
		// are checked, but it need not be decodable.
		fieldJSON := forJSON
		if tag := f.Tag.Get("json"); tag == "-" {
			fieldJSON = false
		}
		if err := checkTag(f.Tag.Get("validate"), f.Type); err != nil {
			return errs.Configf("validate: type %s, field %s: %v", t, f.Name, err)
		}
		if err := v.walkType(f.Type, fieldJSON, seen); err != nil {
			return err
		}
	}
	// validator/v10 parses a struct's tags the first time it validates it
	// and panics on an unknown rule; do that now, on a zero value.
	return v.probe(t)
}

// probe validates a zero value of struct type t so validator/v10 parses
// (and caches) its tags now, turning its panic on a bad tag into an error.
func (v *Validator) probe(t reflect.Type) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = errs.Configf("validate: type %s: bad validate tag: %v", t, p)
		}
	}()
	_ = v.engine.Struct(reflect.New(t).Interface())
	return nil
}

// Struct validates x (a struct or a pointer to one) and returns nil, or a
// 422 validation error whose fields use JSON names and pointers. A value
// that is not a struct is a 500: that is a programming error.
func (v *Validator) Struct(ctx context.Context, x any) error {
	t := reflect.TypeOf(x)
	if t != nil {
		if err := v.checkType(t, false); err != nil {
			return err
		}
	}
	if err := v.engine.StructCtx(ctx, x); err != nil {
		return v.validationError(err, t, nil, ErrInvalid)
	}
	return nil
}

// validate runs the struct rules on dst (a pointer to T) for a binder.
// rename maps a Go field path to the client's name for flat parameter
// structs; nil means JSON names.
func (v *Validator) validate(ctx context.Context, dst any, t reflect.Type, rename func(goPath string) string, base *errs.Error) error {
	if t.Kind() == reflect.Pointer {
		// dst is a pointer to a pointer: validate what it points to.
		rv := reflect.ValueOf(dst).Elem()
		for rv.Kind() == reflect.Pointer && rv.Elem().Kind() == reflect.Pointer {
			rv = rv.Elem()
		}
		if rv.IsNil() {
			return nil
		}
		dst, t = rv.Interface(), deref(t)
	}
	if t.Kind() == reflect.Struct {
		if err := v.engine.StructCtx(ctx, dst); err != nil {
			return v.validationError(err, t, rename, base)
		}
		return nil
	}
	if elemIsStruct(t) {
		if err := v.engine.VarCtx(ctx, dst, "dive"); err != nil {
			return v.validationError(err, nil, rename, base)
		}
	}
	return nil
}

// elemIsStruct reports whether t is a slice, array or map of structs (or
// pointers to structs), whose elements validator/v10 can dive into.
func elemIsStruct(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Slice, reflect.Array, reflect.Map:
		e := t.Elem()
		for e.Kind() == reflect.Pointer {
			e = e.Elem()
		}
		return e.Kind() == reflect.Struct
	}
	return false
}

func (v *Validator) validationError(err error, top reflect.Type, rename func(string) string, base *errs.Error) error {
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		return errs.Wrap(err, errs.KindInternal, "", "validation could not run")
	}
	prefix := 0
	if top != nil {
		for top.Kind() == reflect.Pointer {
			top = top.Elem()
		}
		if n := top.Name(); n != "" {
			prefix = len(n) + 1
		}
	}
	fields := make([]errs.FieldError, 0, min(len(verrs), maxFieldErrors))
	for _, fe := range verrs[:min(len(verrs), maxFieldErrors)] {
		var field, pointer string
		if rename != nil {
			field = rename(fe.StructNamespace()[min(prefix, len(fe.StructNamespace())):])
		} else {
			ns := fe.Namespace()
			field, pointer = paths(ns[min(prefix, len(ns)):])
		}
		f := Failure{Field: field, Pointer: pointer, Rule: fe.Tag(), Param: fe.Param(), Kind: fe.Kind(), Type: fe.Type()}
		fields = append(fields, errs.FieldError{Field: field, Pointer: pointer, Rule: f.Rule, Param: f.Param, Message: v.message(f)})
	}
	e := base.WithFields(fields...)
	if len(verrs) > maxFieldErrors {
		e = e.WithPublic("errors_omitted", len(verrs)-maxFieldErrors)
	}
	return e
}

// maxFieldErrors caps the field errors of one response; the rest are
// counted in the public context as "errors_omitted".
const maxFieldErrors = 100

// paths turns a validator/v10 namespace with JSON names ("items[2].name",
// without the top type's name) into the field path the client knows and
// its RFC 6901 pointer ("/items/2/name"). Embedded structs that JSON
// inlines are left out of both.
func paths(ns string) (field, pointer string) {
	var f, p strings.Builder
	f.Grow(len(ns))
	p.Grow(len(ns) + 4)
	for i := 0; i < len(ns); {
		switch ns[i] {
		case '.':
			i++
		case '[':
			// A key or index runs to the first ']' that ends the namespace
			// or is followed by '.' or '['.
			j := i + 1
			for j < len(ns) && (ns[j] != ']' || (j+1 < len(ns) && ns[j+1] != '.' && ns[j+1] != '[')) {
				j++
			}
			key := ns[i+1 : j]
			f.WriteString(ns[i:min(j+1, len(ns))])
			p.WriteByte('/')
			writePointerToken(&p, key)
			i = j + 1
		default:
			j := i
			for j < len(ns) && ns[j] != '.' && ns[j] != '[' {
				j++
			}
			name := ns[i:j]
			i = j
			if name == embeddedName {
				continue
			}
			if f.Len() > 0 {
				f.WriteByte('.')
			}
			f.WriteString(name)
			p.WriteByte('/')
			writePointerToken(&p, name)
		}
	}
	return f.String(), p.String()
}

func writePointerToken(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '~':
			b.WriteString("~0")
		case '/':
			b.WriteString("~1")
		default:
			b.WriteByte(s[i])
		}
	}
}

// jsonName is the tag-name function: the name JSON decoding uses for f.
func jsonName(f reflect.StructField) string {
	tag, hasTag := f.Tag.Lookup("json")
	name, _, _ := strings.Cut(tag, ",")
	if hasTag && name == "-" && !strings.Contains(tag, ",") {
		return f.Name
	}
	if len(name) >= 2 && name[0] == '\'' && name[len(name)-1] == '\'' {
		name = name[1 : len(name)-1]
	}
	if name != "" {
		return name
	}
	if f.Anonymous {
		t := f.Type
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() == reflect.Struct {
			return embeddedName
		}
	}
	return f.Name
}

// checkParamType checks the validate tags of a flat query or path struct.
func (v *Validator) checkParamType(t reflect.Type) error {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		if err := checkTag(f.Tag.Get("validate"), f.Type); err != nil {
			return errs.Configf("validate: type %s, field %s: %v", t, f.Name, err)
		}
	}
	return v.probe(t)
}
