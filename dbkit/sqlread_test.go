package dbkit

import (
	"strings"
	"testing"
)

func TestReadOnlySQL(t *testing.T) {
	t.Parallel()
	cases := []struct {
		sql  string
		want bool
	}{
		{"SELECT name FROM t WHERE id = $1", true},
		{"  select * from t", true},
		{"/* hint */ SELECT 1", true},
		{"-- c\nSELECT 1", true},
		{"WITH x AS (SELECT 1) SELECT * FROM x", true},
		{"SELECT 'update delete' FROM t", true},
		{`SELECT "update" FROM t`, true},
		{"SELECT `delete` FROM t", true},
		{"SELECT $$ insert $$", true},
		{"SELECT $q$ insert $q$", true},
		{"SELECT 1;", true},
		{"VALUES (1)", true},
		{"SHOW server_version", true},
		{"UPDATE t SET a = 1 RETURNING a", false},
		{"WITH u AS (UPDATE t SET a = 1 RETURNING a) SELECT * FROM u", false},
		{"WITH d AS (DELETE FROM t RETURNING *) SELECT count(*) FROM d", false},
		{"SELECT * FROM t FOR UPDATE", false},
		{"SELECT * FROM t FOR SHARE", false},
		{"SELECT * FROM t LOCK IN SHARE MODE", false},
		{"SELECT * INTO new_t FROM t", false},
		{"SELECT nextval('s')", false},
		{"INSERT INTO t VALUES (1)", false},
		{"SELECT 1; DELETE FROM t", false},
		{"EXPLAIN ANALYZE DELETE FROM t", false},
		{"SELECT 'unterminated", false},
		{"SELECT /* unterminated", false},
		{"", false},
		{"-- only a comment", false},
		{"CALL p()", false},
	}
	for _, tc := range cases {
		if got := readOnlySQL(tc.sql); got != tc.want {
			t.Errorf("readOnlySQL(%q) = %v; want %v", tc.sql, got, tc.want)
		}
	}
}

// FuzzReadOnlySQL checks that the reader never panics, and that a text it
// calls a read stays a write once a write statement follows it.
func FuzzReadOnlySQL(f *testing.F) {
	for _, s := range []string{"SELECT 1", "WITH x AS (SELECT 1) SELECT 2", "SELECT '$$' -- x", "SELECT $a$ b $a$", "select `x`"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !readOnlySQL(s) {
			return
		}
		if !strings.ContainsAny(s, "'\"`$-/#") {
			words := strings.FieldsFunc(s, func(r rune) bool { return r < 0x80 && !isWordByte(byte(r)) })
			for _, w := range words {
				if oneOf(w, "update", "delete", "insert") {
					t.Fatalf("%q contains %s outside quotes and comments but reads as a read", s, w)
				}
			}
		}
		if readOnlySQL(s + ";\nDELETE FROM t") {
			if !strings.ContainsAny(s, "'\"`$-/#") {
				t.Fatalf("%q followed by DELETE reads as a read", s)
			}
		}
	})
}
