// Package sqlname checks names that dbkit's packages splice into SQL text
// (version and lease tables), which placeholders cannot carry.
package sqlname

// Valid reports whether s is a plain SQL identifier: ASCII letters, digits
// and underscores, not starting with a digit, at most 63 bytes (the
// PostgreSQL limit), so it needs no quoting on any supported database.
func Valid(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
