package dbkit

import "strings"

// readOnlySQL reports whether a raw statement is certainly a plain read,
// the only kind of raw SQL dbkit sends to a replica or leaves unmarked by
// read-your-writes. It reads the text conservatively: the first word must
// be SELECT, WITH, VALUES or SHOW, there must be a single statement, and
// no word may be one that writes or locks (INSERT, UPDATE, DELETE, MERGE,
// INTO, FOR SHARE, LOCK, nextval, ...), outside comments, string literals
// and quoted identifiers. Anything else, including a word it misreads, is
// treated as a write. A SELECT calling a function that writes cannot be
// told apart; run it with IntentPrimary.
func readOnlySQL(s string) bool {
	first := true
	ended := false
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			i++
		case c == '-' && i+1 < len(s) && s[i+1] == '-', c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			end := indexFrom(s, "*/", i+2)
			if end < 0 {
				return false
			}
			i = end + 2
		case c == '\'' || c == '"' || c == '`':
			j := i + 1
			for j < len(s) && s[j] != c {
				if s[j] == '\\' && c == '\'' {
					j++
				}
				j++
			}
			if j >= len(s) {
				return false
			}
			i = j + 1
		case c == '$' && dollarTag(s, i) > 0:
			n := dollarTag(s, i)
			end := indexFrom(s, s[i:i+n], i+n)
			if end < 0 {
				return false
			}
			i = end + n
		case c == ';':
			ended = true
			i++
		case isWordByte(c):
			j := i
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			if ended {
				return false
			}
			w := s[i:j]
			if first {
				if !oneOf(w, "select", "with", "values", "show") {
					return false
				}
				first = false
			} else if oneOf(w, "insert", "update", "delete", "merge", "into", "share",
				"lock", "nextval", "setval", "truncate", "drop", "create", "alter",
				"grant", "revoke", "copy", "call", "do", "upsert") {
				return false
			}
			i = j
		default:
			i++
		}
	}
	return !first
}

func isWordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

// dollarTag returns the length of the PostgreSQL dollar-quote tag ($$ or
// $name$) at s[i], or 0.
func dollarTag(s string, i int) int {
	j := i + 1
	for j < len(s) && (s[j] == '_' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || j > i+1 && s[j] >= '0' && s[j] <= '9') {
		j++
	}
	if j < len(s) && s[j] == '$' {
		return j + 1 - i
	}
	return 0
}

func indexFrom(s, sub string, from int) int {
	if i := strings.Index(s[from:], sub); i >= 0 {
		return from + i
	}
	return -1
}

// oneOf reports whether w equals one of the lower-case words, ignoring
// ASCII case.
func oneOf(w string, words ...string) bool {
	for _, x := range words {
		if len(w) == len(x) && equalFoldASCII(w, x) {
			return true
		}
	}
	return false
}

func equalFoldASCII(a, lower string) bool {
	for i := 0; i < len(a); i++ {
		c := a[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
