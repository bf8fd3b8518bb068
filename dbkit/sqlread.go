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
	first, ended := true, false
	for i := 0; i < len(s); {
		if isWordByte(s[i]) {
			j := i + 1
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			if ended || !readWord(s[i:j], first) {
				return false
			}
			first, i = false, j
			continue
		}
		ended = ended || s[i] == ';'
		n := skipLen(s, i)
		if n <= 0 {
			return false
		}
		i += n
	}
	return !first
}

// readWord reports whether w may appear in a plain read: as its first
// word, one that starts a query; after it, none that writes or locks.
func readWord(w string, first bool) bool {
	if first {
		return oneOf(w, "select", "with", "values", "show")
	}
	return !oneOf(w, "insert", "update", "delete", "merge", "into", "share",
		"lock", "nextval", "setval", "truncate", "drop", "create", "alter",
		"grant", "revoke", "copy", "call", "do", "upsert")
}

// skipLen returns the length of what starts at s[i] and is not a word: a
// comment, a string literal or quoted identifier, a dollar-quoted string,
// or one byte of blank or punctuation. It returns 0 when a comment or
// literal is not closed.
func skipLen(s string, i int) int {
	c := s[i]
	switch {
	case c == '-' && i+1 < len(s) && s[i+1] == '-', c == '#':
		if end := strings.IndexByte(s[i:], '\n'); end >= 0 {
			return end + 1
		}
		return len(s) - i
	case c == '/' && i+1 < len(s) && s[i+1] == '*':
		return closedBy(s, i, 2, "*/")
	case c == '\'':
		return quotedLen(s, i, true)
	case c == '"' || c == '`':
		return quotedLen(s, i, false)
	case c == '$':
		if n := dollarTag(s, i); n > 0 {
			return closedBy(s, i, n, s[i:i+n])
		}
	}
	return 1
}

// closedBy returns the length of the element at s[i] that opens with n
// bytes and ends with end, or 0 when end does not follow.
func closedBy(s string, i, n int, end string) int {
	if k := strings.Index(s[i+n:], end); k >= 0 {
		return n + k + len(end)
	}
	return 0
}

// quotedLen returns the length of the quoted element at s[i], or 0 when
// it is not closed; backslash escapes the next byte when escapes is set.
func quotedLen(s string, i int, escapes bool) int {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch {
		case s[j] == q:
			return j + 1 - i
		case escapes && s[j] == '\\':
			j++
		}
	}
	return 0
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
