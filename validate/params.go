package validate

import (
	"encoding"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/covetgo/covet/errs"
)

// param is one field of a query or path struct, resolved at construction.
type param struct {
	name  string // the client's name
	index int    // field index in the struct
	multi bool   // a slice: every value is kept
	ptr   bool   // a pointer (to the element, for slices)
	elem  reflect.Type
	conv  converter
	want  string // what a value must look like, for messages
}

// converter parses s into v, which is settable and of the element type.
type converter func(v reflect.Value, s string) bool

// paramSet is the precomputed plan of a query or path struct.
type paramSet struct {
	params []param
	byName map[string]int
	byGo   map[string]string // Go field name → client name
}

var (
	textUnmarsh  = reflect.TypeFor[encoding.TextUnmarshaler]()
	defaultParam = func(f reflect.StructField) string { return f.Name }
)

// newParamSet plans the fields of struct type t tagged with tagKey. Fields
// without the tag use their Go name; "-" skips a field.
func newParamSet(t reflect.Type, tagKey, what string) (*paramSet, error) {
	if t.Kind() != reflect.Struct {
		return nil, errs.Configf("validate: %s binder needs a struct type, not %s", what, t)
	}
	ps := &paramSet{byName: make(map[string]int), byGo: make(map[string]string)}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get(tagKey), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = defaultParam(f)
		}
		if _, dup := ps.byName[name]; dup {
			return nil, errs.Configf("validate: type %s has two fields named %q in the %s", t, name, what)
		}
		p := param{name: name, index: i}
		ft := f.Type
		if ft.Kind() == reflect.Slice && !ft.Implements(textUnmarsh) && !reflect.PointerTo(ft).Implements(textUnmarsh) {
			p.multi = true
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Pointer {
			p.ptr = true
			ft = ft.Elem()
		}
		p.elem = ft
		p.conv, p.want = converterFor(ft)
		if p.conv == nil {
			return nil, errs.Configf("validate: type %s, field %s: a %s value cannot be a %s", t, f.Name, what, f.Type)
		}
		ps.byName[name] = len(ps.params)
		ps.byGo[f.Name] = name
		ps.params = append(ps.params, p)
	}
	return ps, nil
}

// converterFor returns the parser for values of type t and a phrase for
// what such a value looks like.
func converterFor(t reflect.Type) (converter, string) {
	if reflect.PointerTo(t).Implements(textUnmarsh) {
		return func(v reflect.Value, s string) bool {
			return v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)) == nil
		}, "a valid " + t.Name()
	}
	if t == durationType {
		return func(v reflect.Value, s string) bool {
			d, err := time.ParseDuration(s)
			v.SetInt(int64(d))
			return err == nil
		}, "a duration such as 1m30s"
	}
	switch t.Kind() {
	case reflect.String:
		return func(v reflect.Value, s string) bool { v.SetString(s); return true }, "text"
	case reflect.Bool:
		return func(v reflect.Value, s string) bool {
			b, err := strconv.ParseBool(s)
			v.SetBool(b)
			return err == nil
		}, "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		bits := t.Bits()
		return func(v reflect.Value, s string) bool {
			n, err := strconv.ParseInt(s, 10, bits)
			v.SetInt(n)
			return err == nil
		}, intRange(bits)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		bits := t.Bits()
		return func(v reflect.Value, s string) bool {
			n, err := strconv.ParseUint(s, 10, bits)
			v.SetUint(n)
			return err == nil
		}, uintRange(bits)
	case reflect.Float32, reflect.Float64:
		bits := t.Bits()
		return func(v reflect.Value, s string) bool {
			f, err := strconv.ParseFloat(s, bits)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				return false
			}
			v.SetFloat(f)
			return true
		}, "a finite number"
	}
	return nil, ""
}

// set converts raw into field p of the struct value sv.
func (p *param) set(sv reflect.Value, raw string) bool {
	fv := sv.Field(p.index)
	if p.multi {
		n := fv.Len()
		fv.Grow(1)
		fv.SetLen(n + 1)
		fv = fv.Index(n)
	}
	if p.ptr {
		nv := reflect.New(p.elem)
		if !p.conv(nv.Elem(), raw) {
			return false
		}
		fv.Set(nv)
		return true
	}
	return p.conv(fv, raw)
}

// rename maps a validator/v10 struct path ("Limit", "Tags[2]") to the
// client's name ("limit", "tags[2]").
func (ps *paramSet) rename(goPath string) string {
	name, rest := goPath, ""
	if i := strings.IndexAny(goPath, ".["); i >= 0 {
		name, rest = goPath[:i], goPath[i:]
	}
	if n, ok := ps.byGo[name]; ok {
		return n + rest
	}
	return goPath
}

// convError is the 400 for values that did not convert.
func convError(base *errs.Error, fields []errs.FieldError) *errs.Error {
	msg := base.Message()
	if len(fields) == 1 {
		msg = "The parameter " + fields[0].Message + "."
	}
	return base.WithMessage(msg).WithFields(fields...)
}

func badValue(p *param) errs.FieldError {
	return errs.FieldError{Field: p.name, Rule: "type", Param: p.elem.String(), Message: p.name + " must be " + p.want}
}
