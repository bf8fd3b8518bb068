package dbkit_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/mysql"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/logger"

	"github.com/covetgo/covet/dbkit"
	"github.com/covetgo/covet/internal/testsvc"
	"github.com/covetgo/covet/sanitize"
)

type likeNote struct {
	ID        uint `gorm:"primaryKey"`
	Title     string
	CreatedAt int64
}

func (likeNote) TableName() string { return "covet_dbkit_ident_notes" }

// TestIdentifiersAgainstServers runs sanitize's LIKE escaper and the ORDER
// BY clause built from its allowlist on the real PostgreSQL and MariaDB
// servers.
func TestIdentifiersAgainstServers(t *testing.T) {
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
				if err := db.Where("title LIKE ?", "%"+sanitize.EscapeLike(q)+"%").Order("id").Find(&got).Error; err != nil {
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

			ids, _ := sanitize.NewIdentifiers(map[string]string{"created": "created_at", "title": "title"})
			ob, err := ids.OrderBy("-created")
			if err != nil {
				t.Fatal(err)
			}
			var got []likeNote
			if err := db.Clauses(dbkit.OrderBy(ob)).Find(&got).Error; err != nil {
				t.Fatal(err)
			}
			for i := 1; i < len(got); i++ {
				if got[i-1].CreatedAt < got[i].CreatedAt {
					t.Fatalf("not sorted by created_at desc: %+v", got)
				}
			}
			col, _ := ids.Column("title")
			var first likeNote
			if err := db.Order(clause.OrderByColumn{Column: dbkit.Column(col)}).First(&first).Error; err != nil || first.Title != "100% done" {
				t.Fatalf("Order by column: %+v, %v", first, err)
			}
			if _, err := ids.OrderBy("created_at;DROP TABLE covet_dbkit_ident_notes"); err == nil {
				t.Fatal("injection accepted")
			}
		})
	}
}

// A sort order from the query string, checked against an allowlist by
// sanitize and turned into a GORM clause that quotes each column.
func ExampleOrderBy() {
	sorts, err := sanitize.NewIdentifiers(map[string]string{"created": "created_at", "title": "title"})
	if err != nil {
		panic(err)
	}
	ob, err := sorts.OrderBy("-created,title") // from ?sort=-created,title
	if err != nil {
		panic(err) // in a handler: return err, a 400 bad_sort problem
	}
	db, err := gorm.Open(sqlite.Open(":memory:"), &gorm.Config{Logger: logger.Discard, DryRun: true})
	if err != nil {
		panic(err)
	}
	var notes []likeNote
	stmt := db.Clauses(dbkit.OrderBy(ob)).Find(&notes).Statement
	fmt.Println(stmt.SQL.String())
	// Output:
	// SELECT * FROM `covet_dbkit_ident_notes` ORDER BY `created_at` DESC,`title`
}
