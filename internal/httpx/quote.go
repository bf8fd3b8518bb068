package httpx

import "strings"

// Quote returns s as an RFC 9110 quoted-string (for auth-param values such
// as a challenge's realm), escaping '"' and '\' and dropping the characters
// a quoted-string cannot hold.
func Quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\t' || (c >= 0x20 && c < 0x7f):
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
