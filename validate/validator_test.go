package validate

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-playground/validator/v10"

	"github.com/covetgo/covet/errs"
)

type goodType struct {
	Name  string         `json:"name" validate:"required,max=10"`
	Items []item         `json:"items" validate:"dive"`
	Next  *goodType      `json:"next"`
	Map   map[string]int `json:"map" validate:"dive,keys,min=1,endkeys,gte=0"`
}

type unknownRule struct {
	A string `json:"a" validate:"required,nosuchrule"`
}

type unknownRuleDeep struct {
	Inner *struct {
		B []string `json:"b" validate:"dive,bogus"`
	} `json:"inner"`
}

type badNumber struct {
	A string `json:"a" validate:"omitempty,max=ten"`
}

type badFloat struct {
	A float64 `json:"a" validate:"gte=zero"`
}

type badDiveNumber struct {
	A []int `json:"a" validate:"max=3,dive,min=x"`
}

type badDive struct {
	A string `json:"a" validate:"dive,required"`
}

// clashingNames is built at run time: go vet rightly refuses the literal.
var clashingNames = reflect.New(reflect.StructOf([]reflect.StructField{
	{Name: "A", Type: reflect.TypeFor[int](), Tag: `json:"x"`},
	{Name: "B", Type: reflect.TypeFor[int](), Tag: `json:"x"`},
})).Interface()

type chanField struct {
	C chan int `json:"c"`
}

type okDuration struct {
	D int64  `json:"d" validate:"max=0x10"`
	E string `json:"e" validate:"eq=anything"`
	F bool   `json:"f" validate:"eq=true"`
}

func TestRegisterRefusesBadTypes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		typ  any
		want string // substring of the error
	}{
		{"unknown rule", unknownRule{}, "nosuchrule"},
		{"unknown rule in nested pointer struct after dive", unknownRuleDeep{}, "bogus"},
		{"malformed max for string", badNumber{}, `"max"`},
		{"malformed gte for float", &badFloat{}, `"gte"`},
		{"malformed param after dive", badDiveNumber{}, `"min"`},
		{"dive on a string", badDive{}, "dive"},
		{"clashing JSON names", clashingNames, "conflict"},
		{"channel field", chanField{}, "chan int"},
		{"nil", nil, "nil"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(Options{Types: []any{tc.typ}})
			if err == nil {
				t.Fatal("New accepted the type")
			}
			if !errors.Is(err, errs.KindConfiguration) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q: want a configuration error mentioning %s", err, tc.want)
			}
		})
	}
	if _, err := New(Options{Types: []any{goodType{}, &okDuration{}, []item{}, map[string]address{}}}); err != nil {
		t.Fatalf("sound types refused: %v", err)
	}
}

func TestBindersRefuseBadTypesAtConstruction(t *testing.T) {
	t.Parallel()
	if _, err := NewBody[unknownRule](nil, BodyOptions{}); !errors.Is(err, errs.KindConfiguration) {
		t.Errorf("NewBody: %v", err)
	}
	type q struct {
		Limit int `query:"limit" validate:"max=lots"`
	}
	if _, err := NewQuery[q](nil, QueryOptions{}); !errors.Is(err, errs.KindConfiguration) {
		t.Errorf("NewQuery: %v", err)
	}
	type p struct {
		ID int `path:"id" validate:"nosuch"`
	}
	if _, err := NewPath[p](nil, PathOptions{}); !errors.Is(err, errs.KindConfiguration) {
		t.Errorf("NewPath: %v", err)
	}
}

func TestRulesRefused(t *testing.T) {
	t.Parallel()
	fn := func(validator.FieldLevel) bool { return true }
	tests := map[string]Rule{
		"no tag":        {Func: fn},
		"no func":       {Tag: "x"},
		"both funcs":    {Tag: "x", Func: fn, FuncCtx: func(context.Context, validator.FieldLevel) bool { return true }},
		"reserved word": {Tag: "dive", Func: fn},
	}
	for name, r := range tests {
		if _, err := New(Options{Rules: []Rule{r}}); !errors.Is(err, errs.KindConfiguration) {
			t.Errorf("%s: %v, want a configuration error", name, err)
		}
	}
}

func TestCustomRuleAndMessages(t *testing.T) {
	t.Parallel()
	type signup struct {
		Handle string `json:"handle" validate:"required,slug"`
		Name   string `json:"name" validate:"required,max=5"`
		Age    int    `json:"age" validate:"gte=18"`
	}
	in := signup{Handle: "Bad Handle", Name: "toolongname", Age: 3}
	tests := []struct {
		name string
		opts Options
		want map[string]string // field → message
	}{
		{
			name: "english defaults and rule message",
			opts: Options{Rules: []Rule{slugRule}},
			want: map[string]string{
				"handle": "handle must be a slug (lowercase letters, digits and dashes)",
				"name":   "name must be at most 5 characters long",
				"age":    "age must be at least 18",
			},
		},
		{
			name: "rule without message",
			opts: Options{Rules: []Rule{{Tag: "slug", Func: slugRule.Func}}},
			want: map[string]string{"handle": "handle is not valid (slug)"},
		},
		{
			name: "messages replace single rules",
			opts: Options{Rules: []Rule{slugRule}, Messages: map[string]string{"max": "{field}: {param} max", "slug": "{field} needs a slug"}},
			want: map[string]string{"handle": "handle needs a slug", "name": "name: 5 max", "age": "age must be at least 18"},
		},
		{
			name: "message func replaces everything it answers",
			opts: Options{Rules: []Rule{slugRule}, MessageFunc: func(f Failure) string {
				if f.Rule == "gte" {
					return f.Field + " doit être au moins " + f.Param
				}
				return ""
			}},
			want: map[string]string{"age": "age doit être au moins 18", "name": "name must be at most 5 characters long"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := New(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			err = v.Struct(context.Background(), &in)
			var e *errs.Error
			if !errors.As(err, &e) || e.Status() != 422 {
				t.Fatalf("Struct: %v, want a 422", err)
			}
			got := map[string]string{}
			for _, f := range e.Fields() {
				got[f.Field] = f.Message
			}
			for field, msg := range tc.want {
				if got[field] != msg {
					t.Errorf("%s: message %q, want %q", field, got[field], msg)
				}
			}
		})
	}
}

func TestStructValid(t *testing.T) {
	t.Parallel()
	v := newTestValidator(t)
	if err := v.Struct(context.Background(), item{Name: "pen", Qty: 1}); err != nil {
		t.Fatal(err)
	}
	if err := v.Struct(context.Background(), 42); errs.KindOf(err) != errs.KindInternal {
		t.Fatalf("non-struct: %v, want an internal error", err)
	}
}

func TestEnglishCoversCommonRules(t *testing.T) {
	t.Parallel()
	for _, rule := range []string{"required", "min", "max", "len", "eq", "ne", "gt", "gte", "lt", "lte", "oneof", "email", "url", "uuid", "alphanum", "numeric", "ip", "hostname", "e164", "datetime", "unique", "startswith"} {
		m := English(Failure{Field: "f", Rule: rule, Param: "3", Kind: reflect.String})
		if strings.Contains(m, "is not valid ("+rule+")") || !strings.HasPrefix(m, "f ") {
			t.Errorf("rule %s: generic or malformed message %q", rule, m)
		}
	}
	if m := English(Failure{Field: "tags", Rule: "max", Param: "1", Kind: reflect.Slice}); m != "tags must be at most 1 item" {
		t.Errorf("slice max: %q", m)
	}
}

func TestDefaultIsShared(t *testing.T) {
	t.Parallel()
	a, b := Default(), Default()
	if a != b || a == nil {
		t.Fatal("Default is not one instance")
	}
}

func TestStructChecksOnlyWhatValidationNeeds(t *testing.T) {
	t.Parallel()
	type domain struct {
		Name     string      `validate:"required"`
		Callback func()      `json:"-"`
		Events   chan string `json:"-"`
	}
	v := newTestValidator(t)
	if err := v.Struct(context.Background(), domain{Name: "x"}); err != nil {
		t.Fatalf("Struct refused a type it can validate: %v", err)
	}
	type bad struct {
		Hidden string `json:"-" validate:"nosuch"`
	}
	if err := v.Struct(context.Background(), bad{}); !errors.Is(err, errs.KindConfiguration) {
		t.Fatalf("bad tag on a json:\"-\" field: %v", err)
	}
	type undecodable struct {
		C chan int `json:"c"`
	}
	if err := v.Register(undecodable{}); !errors.Is(err, errs.KindConfiguration) {
		t.Fatalf("Register accepted a channel field: %v", err)
	}
	if err := v.Struct(context.Background(), undecodable{}); err != nil {
		t.Fatalf("Struct refused a channel field it does not decode: %v", err)
	}
}

func TestEngineStructLevelRule(t *testing.T) {
	t.Parallel()
	type passwordChange struct {
		New     string `json:"new_password" validate:"required,min=8"`
		Confirm string `json:"confirm_password" validate:"required"`
	}
	v := newTestValidator(t)
	v.Engine().RegisterStructValidation(func(sl validator.StructLevel) {
		p := sl.Current().Interface().(passwordChange)
		if p.New != p.Confirm {
			sl.ReportError(p.Confirm, "confirm_password", "Confirm", "eqfield", "new_password")
		}
	}, passwordChange{})
	b, err := NewBody[passwordChange](v, BodyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Bind(nil, jsonRequest(`{"new_password":"longenough","confirm_password":"different"}`))
	var e *errs.Error
	if !errors.As(err, &e) || len(e.Fields()) != 1 {
		t.Fatalf("%v, want one field error", err)
	}
	want := errs.FieldError{Field: "confirm_password", Pointer: "/confirm_password", Rule: "eqfield", Param: "new_password", Message: "confirm_password must be equal to new_password"}
	if got := e.Fields()[0]; got != want {
		t.Fatalf("field error %+v, want %+v", got, want)
	}
}

func TestTypeErrorMessages(t *testing.T) {
	t.Parallel()
	type kinds struct {
		S  string            `json:"s"`
		B  bool              `json:"b"`
		I8 int8              `json:"i8"`
		U  uint64            `json:"u"`
		U8 uint8             `json:"u8"`
		F  float64           `json:"f"`
		L  []int             `json:"l"`
		M  map[string]string `json:"m"`
		T  time.Time         `json:"t"`
	}
	b, err := NewBody[kinds](nil, BodyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]string{
		`{"s":1}`:           "s must be a string",
		`{"b":"yes"}`:       "b must be true or false",
		`{"i8":300}`:        "i8 must be an integer from -128 to 127",
		`{"u":-1}`:          "u must be a non-negative integer",
		`{"u8":256}`:        "u8 must be an integer from 0 to 255",
		`{"f":"1.5"}`:       "f must be a number",
		`{"l":{}}`:          "l must be an array",
		`{"m":[]}`:          "m must be an object",
		`{"t":"yesterday"}`: "t must be a valid Time",
	}
	for body, want := range tests {
		_, err := b.Bind(nil, jsonRequest(body))
		var e *errs.Error
		if !errors.As(err, &e) || !errors.Is(err, ErrType) || len(e.Fields()) != 1 || e.Fields()[0].Message != want {
			t.Errorf("%s: %v (fields %+v), want %q", body, err, e.Fields(), want)
		}
	}
}

func TestLongUnknownNameIsClipped(t *testing.T) {
	t.Parallel()
	b, err := NewBody[address](nil, BodyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	name := strings.Repeat("A", 5000)
	_, err = b.Bind(nil, jsonRequest(`{"`+name+`":1}`))
	e := errs.From(err)
	if !errors.Is(err, ErrUnknownField) || len(e.Message()) > 300 || len(e.Fields()[0].Field) > 300 {
		t.Fatalf("unknown field error of %d bytes: %v", len(e.Message()), err)
	}
}

type ctxKey struct{}

func TestRuleWithContext(t *testing.T) {
	t.Parallel()
	taken := Rule{
		Tag: "available",
		FuncCtx: func(ctx context.Context, fl validator.FieldLevel) bool {
			used, _ := ctx.Value(ctxKey{}).(string)
			return fl.Field().String() != used
		},
		Message: "{field} is taken",
	}
	v, err := New(Options{Rules: []Rule{taken}})
	if err != nil {
		t.Fatal(err)
	}
	type signup struct {
		Handle string `json:"handle" validate:"available"`
	}
	b, err := NewBody[signup](v, BodyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := jsonRequest(`{"handle":"ada"}`)
	r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, "ada"))
	_, err = b.Bind(nil, r)
	if e := errs.From(err); e == nil || len(e.Fields()) != 1 || e.Fields()[0].Message != "handle is taken" {
		t.Fatalf("%v, want handle is taken", err)
	}
	if _, err := b.Bind(nil, jsonRequest(`{"handle":"ada"}`)); err != nil {
		t.Fatalf("without the context value: %v", err)
	}
}
