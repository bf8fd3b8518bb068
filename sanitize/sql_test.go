package sanitize

import (
	"errors"
	"strings"
	"testing"

	"github.com/covetgo/covet/errs"
)

var sortWords = map[string]string{"created": "created_at", "title": "title", "id": "notes.id"}

func TestOrderByParse(t *testing.T) {
	t.Parallel()
	ids, err := NewIdentifiers(sortWords)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		spec string
		want []OrderByColumn
		err  bool
	}{
		{"", nil, false},
		{"title", []OrderByColumn{{Column: Column{Name: "title"}}}, false},
		{"-created,+title", []OrderByColumn{{Column: Column{Name: "created_at"}, Desc: true}, {Column: Column{Name: "title"}}}, false},
		{"id", []OrderByColumn{{Column: Column{Table: "notes", Name: "id"}}}, false},
		{"created_at", nil, true},
		{"Title", nil, true},
		{"title desc", nil, true},
		{"title;DROP TABLE notes", nil, true},
		{"(SELECT 1)", nil, true},
		{"title,", nil, true},
		{",title", nil, true},
		{"--title", nil, true},
		{"title,title", nil, true},
		{"title,-title", nil, true},
		{strings.Repeat("title,", 8) + "title", nil, true},
	} {
		got, err := ids.OrderBy(tc.spec)
		if tc.err {
			if err == nil || !errors.Is(err, ErrBadSort) || errs.KindOf(err) != errs.KindBadRequest {
				t.Errorf("OrderBy(%q) = %+v, %v; want bad_sort", tc.spec, got, err)
			}
			continue
		}
		if err != nil || len(got.Columns) != len(tc.want) {
			t.Errorf("OrderBy(%q) = %+v, %v", tc.spec, got, err)
			continue
		}
		for i := range tc.want {
			if got.Columns[i] != tc.want[i] {
				t.Errorf("OrderBy(%q)[%d] = %+v, want %+v", tc.spec, i, got.Columns[i], tc.want[i])
			}
		}
	}
	if _, err := ids.Table("title"); err != nil {
		t.Errorf("Table: %v", err)
	}
	if _, err := ids.Table("id"); err == nil {
		t.Error("Table accepted a qualified name")
	}
	for _, bad := range []map[string]string{
		nil,
		{"x": "title; DROP TABLE notes"},
		{"x": `"title"`},
		{"x": "a.b.c"},
		{"x": "1col"},
		{"-x": "title"},
		{"a,b": "title"},
		{"": "title"},
	} {
		if _, err := NewIdentifiers(bad); !errors.Is(err, errs.KindConfiguration) {
			t.Errorf("NewIdentifiers(%v) = %v", bad, err)
		}
	}
}

func TestEscapeLike(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"plain":      "plain",
		"100%":       `100\%`,
		"a_b":        `a\_b`,
		`back\slash`: `back\\slash`,
		`%_\`:        `\%\_\\`,
	} {
		if got := EscapeLike(in); got != want {
			t.Errorf("EscapeLike(%q) = %q, want %q", in, got, want)
		}
	}
}
