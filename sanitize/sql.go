package sanitize

import (
	"strings"

	"github.com/covetgo/covet/errs"
)

// Errors of the identifier allowlists.
var (
	ErrUnknownIdentifier = errs.New(errs.KindBadRequest, "unknown_identifier", "The name is not one of the allowed values.")
	ErrBadSort           = errs.New(errs.KindBadRequest, "bad_sort", "The sort order is not valid.")
)

// maxSortTerms caps the terms of one sort specification.
const maxSortTerms = 8

// Identifiers maps the words a client may use to the SQL identifiers they
// stand for: the column of an ORDER BY, a table chosen by the user, anything
// SQL cannot take as a bound parameter. The client never supplies SQL; the
// values come from the map, fixed at start-up. The results are plain values
// (Column, Table, OrderBy) so this package needs no database library:
// github.com/covetgo/covet/dbkit turns them into GORM clauses, whose
// identifiers GORM quotes for the dialect.
//
// An Identifiers is safe for concurrent use.
type Identifiers struct {
	m map[string]string
}

// NewIdentifiers validates the map from client words to identifiers. Words
// are matched case-sensitively. Identifiers must be plain names, optionally
// qualified ("notes.created_at"): letters, digits and '_', not starting with
// a digit, at most 63 bytes per part (PostgreSQL's limit).
func NewIdentifiers(words map[string]string) (*Identifiers, error) {
	if len(words) == 0 {
		return nil, errs.Configf("sanitize: an identifier allowlist needs at least one entry")
	}
	m := make(map[string]string, len(words))
	for w, id := range words {
		if w == "" || strings.ContainsAny(w, ",") || strings.HasPrefix(w, "-") || strings.HasPrefix(w, "+") {
			return nil, errs.Configf("sanitize: identifier word %q is empty or holds a sort character (',', leading '-' or '+')", w)
		}
		if !validIdentifier(id) {
			return nil, errs.Configf("sanitize: identifier %q for word %q is not a plain SQL name", id, w)
		}
		m[w] = id
	}
	return &Identifiers{m: m}, nil
}

func validIdentifier(id string) bool {
	parts := strings.Split(id, ".")
	if len(parts) > 2 {
		return false
	}
	for _, p := range parts {
		if p == "" || len(p) > 63 || p[0] >= '0' && p[0] <= '9' {
			return false
		}
		for i := 0; i < len(p); i++ {
			c := p[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
				return false
			}
		}
	}
	return true
}

// Column is a column an allowlist resolved to. Table is empty for an
// unqualified name.
type Column struct {
	Table string
	Name  string
}

// Table is a table an allowlist resolved to.
type Table struct {
	Name string
}

// OrderByColumn is one term of a sort specification.
type OrderByColumn struct {
	Column Column
	Desc   bool
}

// OrderBy is a parsed sort specification: the terms of an ORDER BY clause,
// in order. The zero value means no order was asked for.
type OrderBy struct {
	Columns []OrderByColumn
}

// Column returns the column word stands for, or ErrUnknownIdentifier (400).
func (ids *Identifiers) Column(word string) (Column, error) {
	id, ok := ids.m[word]
	if !ok {
		return Column{}, ErrUnknownIdentifier
	}
	table, name, found := strings.Cut(id, ".")
	if !found {
		return Column{Name: id}, nil
	}
	return Column{Table: table, Name: name}, nil
}

// Table returns the table word stands for, or ErrUnknownIdentifier (400).
func (ids *Identifiers) Table(word string) (Table, error) {
	id, ok := ids.m[word]
	if !ok || strings.Contains(id, ".") {
		return Table{}, ErrUnknownIdentifier
	}
	return Table{Name: id}, nil
}

// OrderBy parses a sort specification such as "-created,title" (a leading
// '-' means descending, '+' or nothing ascending; at most 8 terms, none
// repeated) into the terms of an ORDER BY clause (dbkit.OrderBy makes a GORM
// clause of them for db.Order or db.Clauses). An empty
// spec gives the zero OrderBy and no error; callers add their default order.
func (ids *Identifiers) OrderBy(spec string) (OrderBy, error) {
	var ob OrderBy
	if spec == "" {
		return ob, nil
	}
	if strings.Count(spec, ",") >= maxSortTerms {
		return ob, ErrBadSort
	}
	for term := range strings.SplitSeq(spec, ",") {
		desc := false
		switch {
		case strings.HasPrefix(term, "-"):
			desc, term = true, term[1:]
		case strings.HasPrefix(term, "+"):
			term = term[1:]
		}
		col, err := ids.Column(term)
		if err != nil {
			return OrderBy{}, ErrBadSort.WithCause(err)
		}
		for _, prev := range ob.Columns {
			if prev.Column == col {
				return OrderBy{}, ErrBadSort
			}
		}
		ob.Columns = append(ob.Columns, OrderByColumn{Column: col, Desc: desc})
	}
	return ob, nil
}

// EscapeLike escapes the LIKE wildcards '%' and '_', and the escape
// character '\' itself, so s matches literally inside a LIKE pattern bound
// as a parameter:
//
//	db.Where("title LIKE ?", "%"+sanitize.EscapeLike(q)+"%")
//
// Backslash is the default LIKE escape in PostgreSQL and MySQL/MariaDB
// (unless NO_BACKSLASH_ESCAPES is set); SQLite and SQL Server need an
// explicit ESCAPE '\' clause.
func EscapeLike(s string) string {
	if !strings.ContainsAny(s, `\%_`) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', '%', '_':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
