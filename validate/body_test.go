package validate

import (
	"context"
	stdjson "encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/go-cmp/cmp"

	"github.com/covetgo/covet/errs"
)

type address struct {
	Street string `json:"street" validate:"required"`
	Zip    string `json:"zip" validate:"required,len=5,numeric"`
}

type item struct {
	Name string `json:"name" validate:"required,min=2"`
	Qty  int    `json:"qty" validate:"gte=1,lte=100"`
}

type meta struct {
	Source string `json:"source" validate:"omitempty,oneof=web app"`
}

type createOrder struct {
	meta
	Customer string            `json:"customer" validate:"required,slug"`
	Email    string            `json:"email" validate:"required,email"`
	Age      *int              `json:"age" validate:"required,gte=0,lte=150"`
	Note     string            `json:"note,omitempty" validate:"max=20"`
	Address  address           `json:"address"`
	Items    []item            `json:"items" validate:"required,min=1,dive"`
	Tags     map[string]string `json:"tags,omitempty" validate:"omitempty,max=3,dive,keys,min=2,endkeys,max=5"`
	Extra    any               `json:"extra,omitempty"`
}

const goodOrder = `{"customer":"acme-corp","email":"a@example.com","age":30,"address":{"street":"Main 1","zip":"12345"},"items":[{"name":"pen","qty":2}],"source":"web"}`

func orderHandler(b *Body[createOrder]) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := b.Bind(w, r); err != nil {
			errs.Write(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func TestBodyBindsValidOrder(t *testing.T) {
	t.Parallel()
	b, err := NewBody[createOrder](newTestValidator(t), BodyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.Bind(nil, jsonRequest(goodOrder))
	if err != nil {
		t.Fatal(err)
	}
	age := 30
	want := createOrder{meta: meta{Source: "web"}, Customer: "acme-corp", Email: "a@example.com", Age: &age,
		Address: address{Street: "Main 1", Zip: "12345"}, Items: []item{{Name: "pen", Qty: 2}}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(createOrder{})); diff != "" {
		t.Fatalf("bound value (-want +got):\n%s", diff)
	}
}

func TestBodyFailures(t *testing.T) {
	t.Parallel()
	b, err := NewBody[createOrder](newTestValidator(t), BodyOptions{MaxBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	h := orderHandler(b)
	deep := `{"extra":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`
	tests := []struct {
		name        string
		contentType []string // nil: application/json
		body        string
		unsized     bool
		status      int
		code        string
		pointer     string // expected context pointer, if any
		offset      float64
	}{
		{name: "valid", body: goodOrder, status: 204},
		{name: "charset utf-8", contentType: []string{"application/json; charset=UTF-8"}, body: goodOrder, status: 204},
		{name: "plus json", contentType: []string{"application/vnd.acme.order+json"}, body: goodOrder, status: 204},
		{name: "no content type", contentType: []string{}, body: goodOrder, status: 415, code: "unsupported_media_type"},
		{name: "text plain", contentType: []string{"text/plain"}, body: goodOrder, status: 415, code: "unsupported_media_type"},
		{name: "form", contentType: []string{"application/x-www-form-urlencoded"}, body: goodOrder, status: 415, code: "unsupported_media_type"},
		{name: "json prefix trick", contentType: []string{"application/jsonx"}, body: goodOrder, status: 415, code: "unsupported_media_type"},
		{name: "bare +json", contentType: []string{"application/+json"}, body: goodOrder, status: 415, code: "unsupported_media_type"},
		{name: "latin1 charset", contentType: []string{"application/json; charset=latin1"}, body: goodOrder, status: 415, code: "unsupported_media_type"},
		{name: "two content types", contentType: []string{"application/json", "text/plain"}, body: goodOrder, status: 415, code: "unsupported_media_type"},
		{name: "too large declared", body: `{"note":"` + strings.Repeat("a", 5000) + `"}`, status: 413, code: "payload_too_large"},
		{name: "too large streamed", body: `{"note":"` + strings.Repeat("a", 5000) + `"}`, unsized: true, status: 413, code: "payload_too_large"},
		{name: "empty", body: "", status: 400, code: "empty_body"},
		{name: "whitespace only", body: " \n\t ", unsized: true, status: 400, code: "empty_body"},
		{name: "truncated", body: `{"customer":`, status: 400, code: "invalid_json", pointer: "/customer"},
		{name: "bad token", body: `{"customer":nope}`, status: 400, code: "invalid_json", offset: 13},
		{name: "single quotes", body: `{'customer':1}`, status: 400, code: "invalid_json", offset: 1},
		{name: "unknown field", body: `{"customer":"a","admin":true}`, status: 400, code: "unknown_field", pointer: "/admin"},
		{name: "unknown nested field", body: `{"address":{"street":"x","city":"y"}}`, status: 400, code: "unknown_field", pointer: "/address/city"},
		{name: "unknown field in slice", body: `{"items":[{"name":"ab"},{"nme":"x"}]}`, status: 400, code: "unknown_field", pointer: "/items/1/nme"},
		{name: "case mismatch is unknown", body: `{"Customer":"a"}`, status: 400, code: "unknown_field", pointer: "/Customer"},
		{name: "duplicate field", body: `{"customer":"a","customer":"b"}`, status: 400, code: "duplicate_field", pointer: "/customer"},
		{name: "duplicate nested field", body: `{"address":{"zip":"1","zip":"2"}}`, status: 400, code: "duplicate_field", pointer: "/address/zip"},
		{name: "duplicate by escape", body: `{"customer":"a","\u0063ustomer":"b"}`, status: 400, code: "duplicate_field", pointer: "/customer"},
		{name: "trailing object", body: goodOrder + `{}`, status: 400, code: "trailing_data"},
		{name: "trailing garbage", body: goodOrder + ` x`, status: 400, code: "trailing_data"},
		{name: "invalid utf-8", body: "{\"customer\":\"a\xffb\"}", status: 400, code: "invalid_utf8", pointer: "/customer"},
		{name: "invalid utf-8 in name", body: "{\"cust\xc3\":1}", status: 400, code: "invalid_utf8"},
		{name: "too deep", body: deep, status: 400, code: "too_deep", offset: 9 + 31},
		{name: "too deep in string is fine", body: `{"note":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}`, status: 422, code: "validation_failed"},
		{name: "wrong type", body: `{"age":"thirty"}`, status: 400, code: "invalid_type", pointer: "/age"},
		{name: "wrong nested type", body: `{"items":[{"name":"ab","qty":"2"}]}`, status: 400, code: "invalid_type", pointer: "/items/0/qty"},
		{name: "overflow", body: `{"items":[{"name":"ab","qty":1e400}]}`, status: 400, code: "invalid_type", pointer: "/items/0/qty"},
		{name: "fraction for int", body: `{"age":1.5}`, status: 400, code: "invalid_type", pointer: "/age"},
		{name: "null body", body: `null`, status: 400, code: "not_an_object"},
		{name: "array body", body: `[1,2]`, status: 400, code: "not_an_object"},
		{name: "string body", body: `"hi"`, status: 400, code: "not_an_object"},
		{name: "validation", body: `{}`, status: 422, code: "validation_failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := jsonRequest(tc.body)
			if tc.contentType != nil {
				r.Header["Content-Type"] = tc.contentType
			}
			if tc.unsized {
				r.Body = unsized{strings.NewReader(tc.body)}
				r.ContentLength = -1
			}
			w, p := serve(t, h, r)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d; body %s", w.Code, tc.status, w.Body)
			}
			if p.Code != tc.code {
				t.Fatalf("code %q, want %q; body %s", p.Code, tc.code, w.Body)
			}
			if tc.pointer != "" {
				if got := p.Context["pointer"]; got != tc.pointer {
					t.Fatalf("pointer %v, want %q; body %s", got, tc.pointer, w.Body)
				}
				if !strings.Contains(p.Detail, pointerToField(tc.pointer)) {
					t.Fatalf("detail %q does not name %s", p.Detail, pointerToField(tc.pointer))
				}
			}
			if tc.offset != 0 {
				if got := p.Context["offset"]; got != tc.offset {
					t.Fatalf("offset %v, want %v; body %s", got, tc.offset, w.Body)
				}
			}
		})
	}
}

func TestBodyValidationFieldErrors(t *testing.T) {
	t.Parallel()
	b, err := NewBody[createOrder](newTestValidator(t), BodyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	body := `{"customer":"Not A Slug","email":"nope","address":{"street":"x","zip":"12a"},` +
		`"items":[{"name":"pen","qty":1},{"name":"p","qty":0}],"source":"fax","note":"` + strings.Repeat("n", 21) + `",` +
		`"tags":{"a":"1","a/~b":"toolong"}}`
	w, p := serve(t, orderHandler(b), jsonRequest(body))
	if w.Code != http.StatusUnprocessableEntity || p.Code != "validation_failed" {
		t.Fatalf("status %d code %q: %s", w.Code, p.Code, w.Body)
	}
	want := []errs.FieldError{
		{Field: "customer", Pointer: "/customer", Rule: "slug", Message: "customer must be a slug (lowercase letters, digits and dashes)"},
		{Field: "email", Pointer: "/email", Rule: "email", Message: "email must be a valid email address"},
		{Field: "age", Pointer: "/age", Rule: "required", Message: "age is required"},
		{Field: "note", Pointer: "/note", Rule: "max", Param: "20", Message: "note must be at most 20 characters long"},
		{Field: "address.zip", Pointer: "/address/zip", Rule: "len", Param: "5", Message: "address.zip must be exactly 5 characters long"},
		{Field: "items[1].name", Pointer: "/items/1/name", Rule: "min", Param: "2", Message: "items[1].name must be at least 2 characters long"},
		{Field: "items[1].qty", Pointer: "/items/1/qty", Rule: "gte", Param: "1", Message: "items[1].qty must be at least 1"},
		{Field: "source", Pointer: "/source", Rule: "oneof", Param: "web app", Message: "source must be one of: web, app"},
		{Field: "tags[a]", Pointer: "/tags/a", Rule: "min", Param: "2", Message: "tags[a] must be at least 2 characters long"},
		{Field: "tags[a/~b]", Pointer: "/tags/a~1~0b", Rule: "max", Param: "5", Message: "tags[a/~b] must be at most 5 characters long"},
	}
	sortFields := cmp.Transformer("sort", func(in []errs.FieldError) map[string]errs.FieldError {
		m := make(map[string]errs.FieldError, len(in))
		for _, f := range in {
			m[f.Field+"|"+f.Rule] = f
		}
		return m
	})
	if diff := cmp.Diff(want, p.Errors, sortFields); diff != "" {
		t.Fatalf("field errors (-want +got):\n%s\nbody %s", diff, w.Body)
	}
}

func TestBodyMissingVersusZero(t *testing.T) {
	t.Parallel()
	type patch struct {
		Count *int    `json:"count" validate:"required"`
		Name  *string `json:"name" validate:"omitnil,min=1"`
	}
	b, err := NewBody[patch](nil, BodyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		body      string
		wantErr   string // field with an error, "" for none
		countNil  bool
		nameIsNil bool
	}{
		{name: "zero given", body: `{"count":0}`, nameIsNil: true},
		{name: "missing", body: `{}`, wantErr: "count", countNil: true, nameIsNil: true},
		{name: "null is missing", body: `{"count":null}`, wantErr: "count", countNil: true, nameIsNil: true},
		{name: "empty name given", body: `{"count":1,"name":""}`, wantErr: "name"},
		{name: "name given", body: `{"count":1,"name":"x"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := b.Bind(nil, jsonRequest(tc.body))
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
			} else {
				var e *errs.Error
				if !errors.As(err, &e) || !errors.Is(err, ErrInvalid) || len(e.Fields()) != 1 || e.Fields()[0].Field != tc.wantErr {
					t.Fatalf("error %v, want one field error for %s", err, tc.wantErr)
				}
			}
			if (got.Count == nil) != tc.countNil {
				t.Fatalf("count nil = %v, want %v", got.Count == nil, tc.countNil)
			}
			if (got.Name == nil) != tc.nameIsNil {
				t.Fatalf("name nil = %v, want %v", got.Name == nil, tc.nameIsNil)
			}
		})
	}
}

func TestBodySliceType(t *testing.T) {
	t.Parallel()
	b, err := NewBody[[]item](nil, BodyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Bind(nil, jsonRequest(`[{"name":"ok","qty":1}]`)); err != nil {
		t.Fatal(err)
	}
	_, err = b.Bind(nil, jsonRequest(`[{"name":"ok","qty":1},{"name":"x","qty":1}]`))
	var e *errs.Error
	if !errors.As(err, &e) || e.Status() != 422 {
		t.Fatalf("error %v, want 422", err)
	}
	if diff := cmp.Diff([]errs.FieldError{{Field: "[1].name", Pointer: "/1/name", Rule: "min", Param: "2", Message: "[1].name must be at least 2 characters long"}}, e.Fields()); diff != "" {
		t.Fatalf("fields (-want +got):\n%s", diff)
	}
	if _, err := b.Bind(nil, jsonRequest(`null`)); !errors.Is(err, ErrType) {
		t.Fatalf("null: %v, want ErrType", err)
	}
}

func TestBodyHandlerStoresValue(t *testing.T) {
	t.Parallel()
	b, err := NewBody[createOrder](newTestValidator(t), BodyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got createOrder
	var ok, okMethod bool
	h := b.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok = BodyFrom[createOrder](r.Context())
		_, okMethod = b.From(r.Context())
		w.WriteHeader(http.StatusCreated)
	}))
	w, _ := serve(t, h, jsonRequest(goodOrder))
	if w.Code != http.StatusCreated || !ok || !okMethod || got.Customer != "acme-corp" {
		t.Fatalf("status %d ok %v got %+v", w.Code, ok, got)
	}
	called := false
	h = b.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))
	w, p := serve(t, h, jsonRequest(`{"customer":1}`))
	if called || w.Code != 400 || p.Code != "invalid_type" {
		t.Fatalf("called %v status %d code %q", called, w.Code, p.Code)
	}
	if _, ok := BodyFrom[createOrder](context.Background()); ok {
		t.Fatal("BodyFrom on an empty context reported a value")
	}
}

func TestJSONOneCall(t *testing.T) {
	t.Parallel()
	v := newTestValidator(t)
	got, err := JSON[createOrder](v, httptest.NewRecorder(), jsonRequest(goodOrder))
	if err != nil || got.Customer != "acme-corp" {
		t.Fatalf("got %+v, %v", got, err)
	}
	if _, err := JSON[createOrder](v, nil, jsonRequest(`{"customer":"UPPER"}`)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("err %v, want ErrInvalid", err)
	}
	type badTag struct {
		A string `json:"a" validate:"nosuchrule"`
	}
	_, err = JSON[badTag](v, nil, jsonRequest(`{"a":"x"}`))
	if !errors.Is(err, errs.KindConfiguration) {
		t.Fatalf("bad tag: %v, want a configuration error", err)
	}
}

func TestBodyOptionsRefused(t *testing.T) {
	t.Parallel()
	for name, o := range map[string]BodyOptions{"negative bytes": {MaxBytes: -1}, "negative depth": {MaxDepth: -1}} {
		if _, err := NewBody[createOrder](nil, o); !errors.Is(err, errs.KindConfiguration) {
			t.Errorf("%s: %v, want a configuration error", name, err)
		}
	}
	if _, err := NewBody[int](nil, BodyOptions{}); !errors.Is(err, errs.KindConfiguration) {
		t.Errorf("int body: %v, want a configuration error", err)
	}
}

func TestJSONMediaType(t *testing.T) {
	t.Parallel()
	tests := map[string]bool{
		"application/json":                    true,
		"Application/JSON":                    true,
		" application/json ; charset=utf-8 ":  true,
		`application/json; charset="utf-8"`:   true,
		"application/json;charset=utf8":       true,
		"application/ld+json":                 true,
		"application/problem+JSON; q=1":       true,
		"application/json; charset=iso8859-1": false,
		"application/json5":                   false,
		"json":                                false,
		"/json":                               false,
		"application/":                        false,
		"+json":                               false,
		"a/+json":                             false,
		"text/html":                           false,
		"":                                    false,
	}
	for ct, want := range tests {
		if got := jsonMediaType(ct); got != want {
			t.Errorf("jsonMediaType(%q) = %v, want %v", ct, got, want)
		}
	}
}

func TestPaths(t *testing.T) {
	t.Parallel()
	tests := []struct{ ns, field, pointer string }{
		{"name", "name", "/name"},
		{"address.zip", "address.zip", "/address/zip"},
		{"items[2].name", "items[2].name", "/items/2/name"},
		{"m[a.b].x", "m[a.b].x", "/m/a.b/x"},
		{"m[a]b]", "m[a]b]", "/m/a]b"},
		{"\x00.id", "id", "/id"},
		{"outer.\x00.id", "outer.id", "/outer/id"},
		{"a/b~c", "a/b~c", "/a~1b~0c"},
		{"[0].x", "[0].x", "/0/x"},
		{"grid[1][2]", "grid[1][2]", "/grid/1/2"},
	}
	for _, tc := range tests {
		f, p := paths(tc.ns)
		if f != tc.field || p != tc.pointer {
			t.Errorf("paths(%q) = %q, %q; want %q, %q", tc.ns, f, p, tc.field, tc.pointer)
		}
	}
}

func TestBodyPointerType(t *testing.T) {
	t.Parallel()
	b, err := NewBody[*item](nil, BodyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.Bind(nil, jsonRequest(`{"name":"pen","qty":3}`))
	if err != nil || got == nil || got.Name != "pen" {
		t.Fatalf("%+v, %v", got, err)
	}
	_, err = b.Bind(nil, jsonRequest(`{"name":"p","qty":3}`))
	var e *errs.Error
	if !errors.As(err, &e) || e.Status() != 422 || e.Fields()[0].Pointer != "/name" {
		t.Fatalf("%v, want a 422 for /name", err)
	}
	if _, err := b.Bind(nil, jsonRequest(`null`)); !errors.Is(err, ErrNotObject) {
		t.Fatalf("null: %v", err)
	}
}

func TestBodyConcurrent(t *testing.T) {
	t.Parallel()
	b, err := NewBody[createOrder](newTestValidator(t), BodyOptions{MaxDepth: 8})
	if err != nil {
		t.Fatal(err)
	}
	bodies := []struct {
		body string
		code string
	}{
		{goodOrder, ""},
		{`{"extra":[[[[[[[[[[]]]]]]]]]]}`, "too_deep"},
		{`{"customer":"a","customer":"b"}`, "duplicate_field"},
		{`{}`, "validation_failed"},
	}
	done := make(chan error)
	for g := range 8 {
		go func() {
			for i := range 200 {
				c := bodies[(g+i)%len(bodies)]
				_, err := b.Bind(nil, jsonRequest(c.body))
				if (c.code == "" && err != nil) || (c.code != "" && errs.From(err).Code() != c.code) {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

func TestBodyHostileShapes(t *testing.T) {
	t.Parallel()
	b, err := NewBody[createOrder](newTestValidator(t), BodyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var keys strings.Builder
	keys.WriteString(`{"extra":{`)
	for i := range 20000 {
		if i > 0 {
			keys.WriteByte(',')
		}
		keys.WriteString(`"k` + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + `":1`)
	}
	keys.WriteString(`}}`)
	manyKeys := keys.String()
	tests := []struct {
		name string
		body string
		code string
	}{
		{"object nesting in any", `{"extra":` + strings.Repeat(`{"a":`, 100) + `1` + strings.Repeat(`}`, 100) + `}`, "too_deep"},
		{"duplicate keys in any", manyKeys, "duplicate_field"},
		{"megabyte of brackets", strings.Repeat("[", 1<<20+1), "payload_too_large"},
		{"brackets inside the limit", strings.Repeat("[", 1<<20), "not_an_object"},
		{"deep arrays where objects belong stop at the type", `{"items":` + strings.Repeat("[", 1<<19) + `}`, "invalid_type"},
		{"deep arrays in any", `{"extra":` + strings.Repeat("[", 1<<19) + `}`, "too_deep"},
		{"NUL bytes", "{\"customer\":\"\x00\"}", "invalid_json"},
		{"lone surrogate escape", `{"customer":"\ud800"}`, "invalid_utf8"},
		{"bad escape", `{"customer":"\x"}`, "invalid_json"},
		{"proto key", `{"__proto__":{"admin":true}}`, "unknown_field"},
		{"huge exponent", `{"age":1e99999999999}`, "invalid_type"},
		{"negative zero age is fine", `{"age":-0}`, "validation_failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.Bind(nil, jsonRequest(tc.body))
			e := errs.From(err)
			if e == nil || e.Code() != tc.code || e.Status() >= 500 {
				t.Fatalf("error %v (code %q), want code %q", err, e.Code(), tc.code)
			}
		})
	}
}

func TestTypeBounds(t *testing.T) {
	t.Parallel()
	type leaf struct {
		A int       `json:"a"`
		T time.Time `json:"t"`
	}
	type embedded struct{ leaf }
	type grid struct {
		Cells [][]leaf `json:"cells"`
	}
	type recursive struct {
		Next *recursive `json:"next"`
	}
	type withAny struct {
		X any `json:"x"`
	}
	type withRaw struct {
		X jsontext.Value `json:"x"`
	}
	type withStdRaw struct {
		X stdjson.RawMessage `json:"x"`
	}
	type hidden struct {
		X any `json:"-"`
		y any
	}
	_ = hidden{y: nil}.y
	tests := []struct {
		name    string
		typ     reflect.Type
		depth   int
		bounded bool
	}{
		{"leaf", reflect.TypeFor[leaf](), 1, true},
		{"embedded is inlined", reflect.TypeFor[embedded](), 1, true},
		{"grid of slices", reflect.TypeFor[grid](), 0, false},
		{"slice of leaves", reflect.TypeFor[[]leaf](), 0, false},
		{"map", reflect.TypeFor[map[string]int](), 0, false},
		{"array of leaves", reflect.TypeFor[[3]leaf](), 2, true},
		{"nested struct", reflect.TypeFor[createOrderAddress](), 2, true},
		{"order has any", reflect.TypeFor[createOrder](), 0, false},
		{"recursive", reflect.TypeFor[recursive](), 0, false},
		{"any", reflect.TypeFor[withAny](), 0, false},
		{"jsontext.Value", reflect.TypeFor[withRaw](), 0, false},
		{"json.RawMessage", reflect.TypeFor[withStdRaw](), 0, false},
		{"skipped fields", reflect.TypeFor[hidden](), 1, true},
	}
	for _, tc := range tests {
		d, ok := typeBounds(tc.typ, map[reflect.Type]bool{})
		if ok != tc.bounded || (ok && d != tc.depth) {
			t.Errorf("%s: typeBounds = %d, %v; want %d, %v", tc.name, d, ok, tc.depth, tc.bounded)
		}
	}
}

// TestBodyBoundedType covers a type whose shape bounds nesting, so the
// decoder runs without the depth scan.
func TestBodyBoundedType(t *testing.T) {
	t.Parallel()
	b, err := NewBody[address](nil, BodyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if b.limits.scan {
		t.Fatal("address needs no scan")
	}
	tight, err := NewBody[createOrderAddress](nil, BodyOptions{MaxDepth: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !tight.limits.scan {
		t.Fatal("createOrderAddress is 2 deep: a limit of 1 needs the scan")
	}
	tests := []struct {
		name string
		b    interface {
			bind(*http.Request) error
		}
		body string
		code string
	}{
		{"valid", bodyFunc[address]{b}, `{"street":"s","zip":"12345"}`, ""},
		{"trailing object", bodyFunc[address]{b}, `{"street":"s","zip":"12345"} {}`, "trailing_data"},
		{"trailing garbage", bodyFunc[address]{b}, `{"street":"s","zip":"12345"}x`, "trailing_data"},
		{"null", bodyFunc[address]{b}, ` null `, "not_an_object"},
		{"deep", bodyFunc[address]{b}, `{"street":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, "invalid_type"},
		{"deeper than the decoder goes", bodyFunc[address]{b}, `{"street":` + strings.Repeat("[", 100000) + `}`, "too_deep"},
		{"unknown", bodyFunc[address]{b}, `{"street":"s","x":{}}`, "unknown_field"},
		{"duplicate", bodyFunc[address]{b}, `{"street":"s","street":"t"}`, "duplicate_field"},
		{"empty", bodyFunc[address]{b}, `  `, "empty_body"},
		{"too deep for the limit", bodyFunc[createOrderAddress]{tight}, `{"address":{"street":"s","zip":"12345"}}`, "too_deep"},
		{"inside the limit", bodyFunc[createOrderAddress]{tight}, `{}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.b.bind(jsonRequest(tc.body))
			if tc.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if e := errs.From(err); e == nil || e.Code() != tc.code {
				t.Fatalf("error %v, want code %q", err, tc.code)
			}
		})
	}
}

type bodyFunc[T any] struct{ b *Body[T] }

func (f bodyFunc[T]) bind(r *http.Request) error {
	_, err := f.b.Bind(nil, r)
	return err
}

type createOrderAddress struct {
	Address address `json:"address" validate:"omitempty"`
}

func TestBodyElementLimit(t *testing.T) {
	t.Parallel()
	b, err := NewBody[createOrder](newTestValidator(t), BodyOptions{MaxElements: 5})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		body   string
		code   string
		offset float64
	}{
		{"at the limit", `{"note":"x","items":[{"name":"ab","qty":1}]}`, "validation_failed", 0}, // 3 openings and 2 commas
		{"commas over the limit", `{"items":[{},{},{},{}]}`, "too_many_elements", 15},
		{"commas in strings do not count", `{"note":",,,,,,,,,,,,"}`, "validation_failed", 0},
		{"members count", `{"tags":{"a":"1","b":"2","c":"3","d":"4","e":"5"}}`, "too_many_elements", 40},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, p := serve(t, orderHandler(b), jsonRequest(tc.body))
			if p.Code != tc.code {
				t.Fatalf("status %d code %q, want %q: %s", w.Code, p.Code, tc.code, w.Body)
			}
			if tc.offset != 0 && p.Context["offset"] != tc.offset {
				t.Fatalf("offset %v, want %v", p.Context["offset"], tc.offset)
			}
		})
	}
}

// TestBodyManyFailuresStayBounded sends the largest body of failing
// elements the default limits let through: the response lists at most
// maxFieldErrors fields.
func TestBodyManyFailuresStayBounded(t *testing.T) {
	t.Parallel()
	b, err := NewBody[createOrder](newTestValidator(t), BodyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := DefaultMaxElements/2 - 1
	body := `{"items":[` + strings.Repeat(`{"qty":0},`, n-1) + `{"qty":0}]}`
	w, p := serve(t, orderHandler(b), jsonRequest(body))
	if w.Code != 422 || len(p.Errors) != maxFieldErrors {
		t.Fatalf("status %d with %d field errors, want 422 with %d", w.Code, len(p.Errors), maxFieldErrors)
	}
	if omitted, _ := p.Context["errors_omitted"].(float64); omitted < float64(n) {
		t.Fatalf("errors_omitted %v, want at least %d", p.Context["errors_omitted"], n)
	}
	if w.Body.Len() > 64<<10 {
		t.Fatalf("response of %d bytes", w.Body.Len())
	}
	body = `{"items":[` + strings.Repeat(`{},`, DefaultMaxElements) + `{}]}`
	if _, p := serve(t, orderHandler(b), jsonRequest(body)); p.Code != "too_many_elements" {
		t.Fatalf("code %q, want too_many_elements", p.Code)
	}
}
