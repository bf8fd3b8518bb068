package validate

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

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
	fn := func(validator.FieldLevel) bool { return true }
	tests := map[string]Rule{
		"no tag":        {Func: fn},
		"no func":       {Tag: "x"},
		"reserved word": {Tag: "dive", Func: fn},
	}
	for name, r := range tests {
		if _, err := New(Options{Rules: []Rule{r}}); !errors.Is(err, errs.KindConfiguration) {
			t.Errorf("%s: %v, want a configuration error", name, err)
		}
	}
}

func TestCustomRuleAndMessages(t *testing.T) {
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
	v := newTestValidator(t)
	if err := v.Struct(context.Background(), item{Name: "pen", Qty: 1}); err != nil {
		t.Fatal(err)
	}
	if err := v.Struct(context.Background(), 42); errs.KindOf(err) != errs.KindInternal {
		t.Fatalf("non-struct: %v, want an internal error", err)
	}
}

func TestEnglishCoversCommonRules(t *testing.T) {
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
	a, b := Default(), Default()
	if a != b || a == nil {
		t.Fatal("Default is not one instance")
	}
}

func TestStructChecksOnlyWhatValidationNeeds(t *testing.T) {
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
