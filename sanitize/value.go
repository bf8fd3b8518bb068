package sanitize

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/covetgo/covet/errs"
)

// ErrUnsafeHeaderValue is returned by HeaderValue.
var ErrUnsafeHeaderValue = errs.New(errs.KindBadRequest, "unsafe_header_value", "The value cannot be used in a header.")

// HeaderValue checks a value bound for a response header: it refuses CR, LF,
// NUL and every other control character except horizontal tab, invalid
// UTF-8, and values longer than max bytes (max <= 0: 1024). Use it when a
// bad value should fail the request; CleanHeaderValue repairs instead.
func HeaderValue(s string, max int) (string, error) {
	if max <= 0 {
		max = 1024
	}
	if len(s) > max || !utf8.ValidString(s) {
		return "", ErrUnsafeHeaderValue
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; isControl(c) && c != '\t' {
			return "", ErrUnsafeHeaderValue
		}
	}
	return strings.Trim(s, " \t"), nil
}

// CleanHeaderValue returns s with control characters (CR and LF included)
// and invalid UTF-8 removed, surrounding whitespace trimmed and the result
// cut to at most max bytes on a character boundary (max <= 0: 1024). It
// does not allocate when s is already clean and short enough.
func CleanHeaderValue(s string, max int) string {
	if max <= 0 {
		max = 1024
	}
	if clean(s, false) {
		return truncate(strings.Trim(s, " \t"), max)
	}
	var b strings.Builder
	b.Grow(min(len(s), max))
	for _, r := range s {
		if r == utf8.RuneError || r < 0x20 && r != '\t' || r == 0x7f {
			continue
		}
		b.WriteRune(r)
	}
	return truncate(strings.Trim(b.String(), " \t"), max)
}

// LogValue makes untrusted text safe for a log line: control characters
// (CR and LF included, so no forged lines), C1 controls, Unicode line and
// paragraph separators and bidirectional overrides (which can make a log
// line read differently from what it holds) are written as \n, \r, \t or
// \u{XXXX}; invalid UTF-8 as \x{XX}. The result is cut to max bytes on a
// character boundary with "…" appended (max <= 0: 1024). It does not
// allocate when s is already safe.
func LogValue(s string, max int) string {
	if max <= 0 {
		max = 1024
	}
	if clean(s, true) {
		return ellipsis(s, max)
	}
	var b strings.Builder
	b.Grow(min(len(s)+16, max+8))
	for i := 0; i < len(s) && b.Len() < max+8; {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			b.WriteString(`\x{`)
			b.WriteByte(hexDigits[s[i]>>4])
			b.WriteByte(hexDigits[s[i]&15])
			b.WriteByte('}')
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case unsafeInLog(r):
			b.WriteString(`\u{`)
			for shift := 12; shift >= 0; shift -= 4 {
				b.WriteByte(hexDigits[(r>>shift)&15])
			}
			b.WriteByte('}')
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return ellipsis(b.String(), max)
}

const hexDigits = "0123456789ABCDEF"

// unsafeInLog reports runes LogValue escapes (other than \n, \r, \t).
func unsafeInLog(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x2028, r == 0x2029: // line and paragraph separators
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c: // bidi controls
		return true
	}
	return false
}

// clean reports whether s is valid UTF-8 without anything CleanHeaderValue
// (forLog false) or LogValue (forLog true) would change.
func clean(s string, forLog bool) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if isControl(c) && (forLog || c != '\t') {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			return false
		}
		if forLog && unsafeInLog(r) {
			return false
		}
		i += size
	}
	return true
}

// truncate cuts s to at most max bytes without splitting a character.
func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

func ellipsis(s string, max int) string {
	if len(s) <= max {
		return s
	}
	return truncate(s, max) + "…"
}

// SafeFilename reduces a user-supplied file name to its last path element,
// without control characters, quotes, backslashes, slashes, colons or
// leading dots, cut to 200 bytes, keeping the extension where it can.
// An empty result becomes "download".
func SafeFilename(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	var b strings.Builder
	for _, r := range name {
		switch {
		case r == utf8.RuneError, r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f, unsafeInLog(r):
		case strings.ContainsRune(`"*:<>?|;`, r):
			b.WriteByte('_')
		case unicode.IsSpace(r):
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	s := strings.Trim(b.String(), " .")
	if s == "" {
		return "download"
	}
	if len(s) > 200 {
		ext := ""
		if i := strings.LastIndexByte(s, '.'); i > 0 && len(s)-i <= 16 {
			ext = s[i:]
		}
		s = truncate(s, 200-len(ext)) + ext
	}
	return s
}

// ContentDisposition returns an "attachment" Content-Disposition value for
// a user-supplied file name: the SafeFilename form, as an ASCII quoted
// filename (other characters replaced by '_') for old clients, plus an
// RFC 8187 filename* with the UTF-8 name when it is not plain ASCII.
func ContentDisposition(name string) string {
	name = SafeFilename(name)
	var ascii strings.Builder
	plain := true
	for _, r := range name {
		if r >= 0x80 {
			ascii.WriteByte('_')
			plain = false
			continue
		}
		ascii.WriteRune(r)
	}
	v := `attachment; filename="` + ascii.String() + `"`
	if plain {
		return v
	}
	var ext strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c < 0x80 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0) {
			ext.WriteByte(c)
			continue
		}
		ext.WriteByte('%')
		ext.WriteByte(hexDigits[c>>4])
		ext.WriteByte(hexDigits[c&15])
	}
	return v + "; filename*=UTF-8''" + ext.String()
}
