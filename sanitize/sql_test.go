package sanitize

import (
	"errors"
	"strings"
	"testing"

	"gorm.io/driver/mysql"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/logger"

	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/internal/testsvc"
)

var sortWords = map[string]string{"created": "created_at", "title": "title", "id": "notes.id"}

func TestOrderByParse(t *testing.T) {
	ids, err := NewIdentifiers(sortWords)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		spec string
		want []clause.OrderByColumn
		err  bool
	}{
		{"", nil, false},
		{"title", []clause.OrderByColumn{{Column: clause.Column{Name: "title"}}}, false},
		{"-created,+title", []clause.OrderByColumn{{Column: clause.Column{Name: "created_at"}, Desc: true}, {Column: clause.Column{Name: "title"}}}, false},
		{"id", []clause.OrderByColumn{{Column: clause.Column{Table: "notes", Name: "id"}}}, false},
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

type likeNote struct {
	ID        uint `gorm:"primaryKey"`
	Title     string
	CreatedAt int64
}

func (likeNote) TableName() string { return "covet_sanitize_notes" }

// TestSQLAgainstServers runs the LIKE escaper and the ORDER BY clause on
// the real PostgreSQL and MariaDB servers.
func TestSQLAgainstServers(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(t *testing.T) gorm.Dialector
	}{
		{"postgres", func(t *testing.T) gorm.Dialector { return postgres.Open(testsvc.PostgresDSN(t)) }},
		{"mariadb", func(t *testing.T) gorm.Dialector { return mysql.Open(testsvc.MySQLDSN(t)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := gorm.Open(tc.open(t), &gorm.Config{Logger: logger.Discard})
			if err != nil {
				t.Fatal(err)
			}
			sqlDB, _ := db.DB()
			defer sqlDB.Close()
			m := db.Migrator()
			_ = m.DropTable(&likeNote{})
			if err := m.CreateTable(&likeNote{}); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = m.DropTable(&likeNote{}) }()
			notes := []likeNote{
				{Title: "100% done", CreatedAt: 3},
				{Title: "1000 done", CreatedAt: 1},
				{Title: "a_b", CreatedAt: 2},
				{Title: "axb", CreatedAt: 5},
				{Title: `back\slash`, CreatedAt: 4},
				{Title: "backslash", CreatedAt: 6},
			}
			if err := db.Create(&notes).Error; err != nil {
				t.Fatal(err)
			}
			for q, want := range map[string][]string{
				"100%":        {"100% done"},
				"_":           {"a_b"},
				`\`:           {`back\slash`},
				`k\s`:         {`back\slash`},
				"%":           {"100% done"},
				"' OR '1'='1": nil,
			} {
				var got []likeNote
				if err := db.Where("title LIKE ?", "%"+EscapeLike(q)+"%").Order("id").Find(&got).Error; err != nil {
					t.Fatalf("LIKE %q: %v", q, err)
				}
				var titles []string
				for _, n := range got {
					titles = append(titles, n.Title)
				}
				if strings.Join(titles, "|") != strings.Join(want, "|") {
					t.Errorf("LIKE %q matched %q, want %q", q, titles, want)
				}
			}

			ids, _ := NewIdentifiers(map[string]string{"created": "created_at", "title": "title"})
			ob, err := ids.OrderBy("-created")
			if err != nil {
				t.Fatal(err)
			}
			var got []likeNote
			if err := db.Clauses(ob).Find(&got).Error; err != nil {
				t.Fatal(err)
			}
			for i := 1; i < len(got); i++ {
				if got[i-1].CreatedAt < got[i].CreatedAt {
					t.Fatalf("not sorted by created_at desc: %+v", got)
				}
			}
			col, _ := ids.Column("title")
			var first likeNote
			if err := db.Order(clause.OrderByColumn{Column: col}).First(&first).Error; err != nil || first.Title != "100% done" {
				t.Fatalf("Order by column: %+v, %v", first, err)
			}
			if _, err := ids.OrderBy("created_at;DROP TABLE covet_sanitize_notes"); err == nil {
				t.Fatal("injection accepted")
			}
		})
	}
}
