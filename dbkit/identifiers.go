package dbkit

import (
	"gorm.io/gorm/clause"

	"github.com/covetgo/covet/sanitize"
)

// OrderBy turns a sort specification that a sanitize.Identifiers allowlist
// parsed into a GORM ORDER BY clause, for db.Clauses or db.Order. GORM
// quotes each identifier for the dialect. The zero OrderBy gives a clause
// with no columns; callers add their default order before using it.
//
//	ob, err := sorts.OrderBy(r.URL.Query().Get("sort")) // sorts is a *sanitize.Identifiers
//	if err != nil {
//		return err // 400 bad_sort
//	}
//	db.Clauses(dbkit.OrderBy(ob)).Find(&notes)
func OrderBy(ob sanitize.OrderBy) clause.OrderBy {
	out := clause.OrderBy{Columns: make([]clause.OrderByColumn, len(ob.Columns))}
	for i, c := range ob.Columns {
		out.Columns[i] = clause.OrderByColumn{Column: Column(c.Column), Desc: c.Desc}
	}
	return out
}

// Column turns a column that a sanitize.Identifiers allowlist resolved into
// a GORM column, which GORM quotes for the dialect.
func Column(c sanitize.Column) clause.Column {
	return clause.Column{Table: c.Table, Name: c.Name}
}

// Table turns a table that a sanitize.Identifiers allowlist resolved into a
// GORM table, which GORM quotes for the dialect.
func Table(t sanitize.Table) clause.Table {
	return clause.Table{Name: t.Name}
}
