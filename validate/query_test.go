package validate

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/covetgo/covet/errs"
)

type listQuery struct {
	Limit  int           `query:"limit" validate:"omitempty,min=1,max=100"`
	Sort   string        `query:"sort" validate:"omitempty,oneof=created_at -created_at title -title"`
	Tags   []string      `query:"tag" validate:"max=3,dive,min=2"`
	Since  *time.Time    `query:"since"`
	Draft  *bool         `query:"draft"`
	Score  float64       `query:"score"`
	Within time.Duration `query:"within"`
	Page   *uint8        `query:"page" validate:"omitnil,gte=1"`
	Secret string        `query:"-"`
}

func queryHandler(q *Query[listQuery]) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := q.Bind(r); err != nil {
			errs.Write(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func TestQueryBinds(t *testing.T) {
	t.Parallel()
	q, err := NewQuery[listQuery](nil, QueryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/notes?limit=10&sort=-created_at&tag=go&tag=web+dev&since=2026-01-02T03:04:05Z&draft=false&score=2.5&within=90m&page=3", nil)
	got, err := q.Bind(r)
	if err != nil {
		t.Fatal(err)
	}
	since := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	draft := false
	page := uint8(3)
	want := listQuery{Limit: 10, Sort: "-created_at", Tags: []string{"go", "web dev"}, Since: &since, Draft: &draft, Score: 2.5, Within: 90 * time.Minute, Page: &page}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("bound value (-want +got):\n%s", diff)
	}
	got, err = q.Bind(httptest.NewRequest("GET", "/notes", nil))
	if err != nil || got.Draft != nil || got.Page != nil || got.Limit != 0 {
		t.Fatalf("empty query: %+v, %v", got, err)
	}
}

func TestQueryFailures(t *testing.T) {
	t.Parallel()
	q, err := NewQuery[listQuery](nil, QueryOptions{MaxParams: 8, MaxBytes: 200})
	if err != nil {
		t.Fatal(err)
	}
	h := queryHandler(q)
	tests := []struct {
		name   string
		query  string
		status int
		code   string
		fields []errs.FieldError
	}{
		{name: "not an integer", query: "limit=ten", status: 400, code: "invalid_parameter",
			fields: []errs.FieldError{{Field: "limit", Rule: "type", Param: "int", Message: "limit must be an integer"}}},
		{name: "empty integer", query: "limit=", status: 400, code: "invalid_parameter"},
		{name: "overflow", query: "page=256", status: 400, code: "invalid_parameter",
			fields: []errs.FieldError{{Field: "page", Rule: "type", Param: "uint8", Message: "page must be an integer from 0 to 255"}}},
		{name: "bad bool", query: "draft=maybe", status: 400, code: "invalid_parameter"},
		{name: "bad time", query: "since=yesterday", status: 400, code: "invalid_parameter"},
		{name: "bad duration", query: "within=soon", status: 400, code: "invalid_parameter"},
		{name: "NaN", query: "score=NaN", status: 400, code: "invalid_parameter"},
		{name: "infinity", query: "score=Inf", status: 400, code: "invalid_parameter"},
		{name: "several bad values", query: "limit=x&draft=y", status: 400, code: "invalid_parameter",
			fields: []errs.FieldError{
				{Field: "limit", Rule: "type", Param: "int", Message: "limit must be an integer"},
				{Field: "draft", Rule: "type", Param: "bool", Message: "draft must be true or false"},
			}},
		{name: "bad escape in value", query: "sort=%zz", status: 400, code: "invalid_parameter"},
		{name: "invalid utf-8 value", query: "sort=%ff", status: 400, code: "invalid_parameter"},
		{name: "bad escape in name", query: "li%zzmit=1", status: 400, code: "invalid_parameter"},
		{name: "semicolon", query: "limit=1;sort=title", status: 400, code: "invalid_parameter"},
		{name: "unknown", query: "limit=1&admin=true", status: 400, code: "unknown_parameter",
			fields: []errs.FieldError{{Field: "admin", Rule: "unknown_parameter", Message: "admin is not a known parameter"}}},
		{name: "skipped field is unknown", query: "Secret=x", status: 400, code: "unknown_parameter"},
		{name: "repeated", query: "limit=1&limit=2", status: 400, code: "repeated_parameter"},
		{name: "too many", query: strings.Repeat("tag=ab&", 9), status: 400, code: "too_many_parameters"},
		{name: "too long", query: "sort=" + strings.Repeat("a", 200), status: 400, code: "too_many_parameters"},
		{name: "rule: max", query: "limit=500", status: 422, code: "validation_failed",
			fields: []errs.FieldError{{Field: "limit", Rule: "max", Param: "100", Message: "limit must be at most 100"}}},
		{name: "rule: oneof", query: "sort=password", status: 422, code: "validation_failed",
			fields: []errs.FieldError{{Field: "sort", Rule: "oneof", Param: "created_at -created_at title -title", Message: "sort must be one of: created_at, -created_at, title, -title"}}},
		{name: "rule on slice element", query: "tag=ok&tag=x", status: 422, code: "validation_failed",
			fields: []errs.FieldError{{Field: "tag[1]", Rule: "min", Param: "2", Message: "tag[1] must be at least 2 characters long"}}},
		{name: "rule on slice", query: "tag=aa&tag=bb&tag=cc&tag=dd", status: 422, code: "validation_failed",
			fields: []errs.FieldError{{Field: "tag", Rule: "max", Param: "3", Message: "tag must be at most 3 items"}}},
		{name: "rule on pointer", query: "page=0", status: 422, code: "validation_failed"},
		{name: "empty pairs are ignored", query: "&&limit=5&", status: 204},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, p := serve(t, h, httptest.NewRequest("GET", "/notes?"+tc.query, nil))
			if w.Code != tc.status || p.Code != tc.code {
				t.Fatalf("status %d code %q, want %d %q; body %s", w.Code, p.Code, tc.status, tc.code, w.Body)
			}
			if tc.fields != nil {
				if diff := cmp.Diff(tc.fields, p.Errors); diff != "" {
					t.Fatalf("fields (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestQueryAllowUnknown(t *testing.T) {
	t.Parallel()
	q, err := NewQuery[listQuery](nil, QueryOptions{AllowUnknown: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := q.Bind(httptest.NewRequest("GET", "/?utm_source=x&limit=3", nil))
	if err != nil || got.Limit != 3 {
		t.Fatalf("%+v, %v", got, err)
	}
}

func TestQueryHandler(t *testing.T) {
	t.Parallel()
	q, err := NewQuery[listQuery](nil, QueryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got listQuery
	h := q.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = QueryFrom[listQuery](r.Context())
		if _, ok := q.From(r.Context()); !ok {
			t.Error("From found nothing")
		}
	}))
	w, _ := serve(t, h, httptest.NewRequest("GET", "/?limit=7", nil))
	if w.Code != 200 || got.Limit != 7 {
		t.Fatalf("status %d, got %+v", w.Code, got)
	}
	w, p := serve(t, h, httptest.NewRequest("GET", "/?limit=0x10", nil))
	if w.Code != 400 || p.Code != "invalid_parameter" {
		t.Fatalf("status %d code %q", w.Code, p.Code)
	}
}

func TestQueryTypesRefused(t *testing.T) {
	t.Parallel()
	type nested struct {
		Inner struct{ A int } `query:"inner"`
	}
	type dup struct {
		A int `query:"x"`
		B int `query:"x"`
	}
	type mapField struct {
		M map[string]string
	}
	for name, err := range map[string]error{
		"nested struct": func() error { _, err := NewQuery[nested](nil, QueryOptions{}); return err }(),
		"duplicate":     func() error { _, err := NewQuery[dup](nil, QueryOptions{}); return err }(),
		"map":           func() error { _, err := NewQuery[mapField](nil, QueryOptions{}); return err }(),
		"not a struct":  func() error { _, err := NewQuery[[]int](nil, QueryOptions{}); return err }(),
		"negative":      func() error { _, err := NewQuery[listQuery](nil, QueryOptions{MaxParams: -1}); return err }(),
	} {
		if !errors.Is(err, errs.KindConfiguration) {
			t.Errorf("%s: %v, want a configuration error", name, err)
		}
	}
}
