package jwt

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"unicode"
)

// The verifier reads a token's header and payload with the scanner in this
// file rather than encoding/json's reflection: it accepts exactly the JSON
// that encoding/json accepts (the fuzz tests hold it to json.Valid), decodes
// only the members the verifier needs, refuses a member name that appears
// twice, and never retains or lets escape the bytes it reads, so they can
// live in a caller's stack buffer. It earns its place: BenchmarkPayloadScanShare
// prices an equivalent reader on go-json-experiment's jsontext at about four
// times the scanner, which would double a cold HS256 verification.

var (
	errJSON = errors.New("malformed JSON")
	// errDuplicateClaim is returned when an object names a member twice,
	// which encoding/json would silently resolve to the last value.
	errDuplicateClaim = errors.New("duplicate claim")
	errNumericDate    = errors.New("exp, nbf and iat must be JSON numbers within 2^53 seconds")
	errTimeClaimCase  = errors.New("exp, nbf and iat must be spelled in lower case")
	errClaimType      = errors.New("claim has the wrong JSON type")
)

// maxJSONDepth bounds the nesting of arrays and objects in a token.
const maxJSONDepth = 64

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanString checks the JSON string starting at b[i] (a quote) and returns
// the index after its closing quote, and whether it needs decoding (it has
// escapes or non-ASCII bytes); -1 when it is not a valid string.
func scanString(b []byte, i int) (end int, complex bool) {
	for j := i + 1; j < len(b); j++ {
		c := b[j]
		switch {
		case c == '"':
			return j + 1, complex
		case c < 0x20:
			return -1, complex
		case c >= 0x80:
			complex = true
		case c == '\\':
			complex = true
			j++
			if j >= len(b) {
				return -1, complex
			}
			switch b[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(b) {
					return -1, complex
				}
				for _, h := range b[j+1 : j+5] {
					if !isHex(h) {
						return -1, complex
					}
				}
				j += 4
			default:
				return -1, complex
			}
		}
	}
	return -1, complex
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// scanNumber returns the index after the JSON number at b[i], or -1.
func scanNumber(b []byte, i int) int {
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i = scanIntegerPart(b, i); i < 0 {
		return -1
	}
	if i < len(b) && b[i] == '.' {
		if i = scanDigits(b, i+1); i < 0 {
			return -1
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		if i = scanExponent(b, i+1); i < 0 {
			return -1
		}
	}
	return i
}

// scanIntegerPart returns the index after a number's integer part at b[i]:
// a single 0, or digits that do not start with 0; -1 when there is none.
func scanIntegerPart(b []byte, i int) int {
	if i < len(b) && b[i] == '0' {
		return i + 1
	}
	if i < len(b) && '1' <= b[i] && b[i] <= '9' {
		return skipDigits(b, i)
	}
	return -1
}

// scanExponent returns the index after an exponent's optional sign and
// digits at b[i] (just past the 'e'), or -1.
func scanExponent(b []byte, i int) int {
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		i++
	}
	return scanDigits(b, i)
}

// scanDigits returns the index after the one or more digits at b[i], or -1
// when there is no digit there.
func scanDigits(b []byte, i int) int {
	if i >= len(b) || !isDigit(b[i]) {
		return -1
	}
	return skipDigits(b, i)
}

func skipDigits(b []byte, i int) int {
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	return i
}

// scanValue returns the index after the JSON value at b[i], or -1 when
// there is no valid value there.
func scanValue(b []byte, i, depth int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		end, _ := scanString(b, i)
		return end
	case '{', '[':
		return scanContainer(b, i, depth)
	case 't':
		return literal(b, i, "true")
	case 'f':
		return literal(b, i, "false")
	case 'n':
		return literal(b, i, "null")
	default:
		return scanNumber(b, i)
	}
}

// scanContainer returns the index after the object or array that opens at
// b[i], or -1 when it is not valid or nests deeper than maxJSONDepth.
func scanContainer(b []byte, i, depth int) int {
	if depth >= maxJSONDepth {
		return -1
	}
	object := b[i] == '{'
	closer := byte(']')
	if object {
		closer = '}'
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == closer {
		return i + 1
	}
	for {
		if object {
			if i = scanNameColon(b, i); i < 0 {
				return -1
			}
		}
		if i = scanValue(b, i, depth+1); i < 0 {
			return -1
		}
		if i = skipWS(b, i); i >= len(b) {
			return -1
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case closer:
			return i + 1
		default:
			return -1
		}
	}
}

// scanNameColon returns the index of the value after the member name and
// colon at b[i], or -1.
func scanNameColon(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	if i, _ = scanString(b, i); i < 0 {
		return -1
	}
	if i = skipWS(b, i); i >= len(b) || b[i] != ':' {
		return -1
	}
	return skipWS(b, i+1)
}

func literal(b []byte, i int, lit string) int {
	if len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit {
		return i + len(lit)
	}
	return -1
}

// members walks the members of the JSON object that must make up all of b.
// next returns each member's name (unescaped) and raw value; it fails when
// b is not valid JSON or not one object, and when a name repeats. Names
// are compared after unescaping and ignoring case, as encoding/json
// matches them to struct fields, so "\u0065xp", "EXP" and "exp" are the
// same member for an application that decodes the payload itself.
type span struct {
	start, end int32
	tag        uint32 // length and lower-cased end bytes, to skip most compares
}

type members struct {
	b    []byte
	i    int
	done bool
	// The names seen, while they are few and need no unescaping, as
	// spans of b (no allocation, and b does not escape through them);
	// else folded, in big.
	seen [24]span
	n    int
	big  map[string]struct{}
	val  [2]int // the last value's position
}

func newMembers(b []byte) (members, error) {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return members{}, errors.New("not a JSON object")
	}
	return members{b: b, i: skipWS(b, i+1)}, nil
}

// next returns the next member; ok is false at the end of the object.
func (m *members) next() (name, val []byte, ok bool, err error) {
	if m.done {
		return nil, nil, false, nil
	}
	b, i := m.b, m.i
	if i < len(b) && b[i] == '}' {
		return m.finish(i) // "{}"; a "}" after a comma is refused by separator
	}
	if name, i, err = m.name(i); err != nil {
		return nil, nil, false, err
	}
	if i = skipWS(b, i); i >= len(b) || b[i] != ':' {
		return nil, nil, false, errJSON
	}
	start := skipWS(b, i+1)
	if i = scanValue(b, start, 1); i < 0 {
		return nil, nil, false, errJSON
	}
	val, m.val = b[start:i], [2]int{start, i}
	if err = m.separator(i); err != nil {
		return nil, nil, false, err
	}
	return name, val, true, nil
}

// name reads the member name at b[i], fails if an equal name was seen,
// and returns it unescaped with the index after its closing quote.
func (m *members) name(i int) ([]byte, int, error) {
	b := m.b
	if i >= len(b) || b[i] != '"' {
		return nil, 0, errJSON
	}
	end, complex := scanString(b, i)
	if end < 0 {
		return nil, 0, errJSON
	}
	if !complex {
		return b[i+1 : end-1], end, m.remember(i+1, end-1)
	}
	s, err := decodeString(b[i:end])
	if err != nil {
		return nil, 0, err
	}
	name := []byte(s)
	return name, end, m.rememberFolded(name)
}

// separator reads what follows a member's value, which ends at b[i]: a
// comma and another member, or the closing brace and nothing after it.
func (m *members) separator(i int) error {
	b := m.b
	if i = skipWS(b, i); i >= len(b) {
		return errJSON
	}
	switch b[i] {
	case ',':
		m.i = skipWS(b, i+1)
		if m.i < len(b) && b[m.i] == '}' {
			return errJSON
		}
		return nil
	case '}':
		_, _, _, err := m.finish(i)
		return err
	default:
		return errJSON
	}
}

// valSpan returns where in the object the value next last returned is.
func (m *members) valSpan() [2]int { return m.val }

// finish checks that nothing but white space follows the closing brace
// at b[i].
func (m *members) finish(i int) ([]byte, []byte, bool, error) {
	m.done = true
	if skipWS(m.b, i+1) != len(m.b) {
		return nil, nil, false, errJSON
	}
	return nil, nil, false, nil
}

// remember records the name at b[start:end], which needed no unescaping,
// and fails if an equal one was seen.
func (m *members) remember(start, end int) error {
	if m.big != nil || m.n == len(m.seen) {
		return m.rememberFolded(m.b[start:end])
	}
	name := m.b[start:end]
	// The tag rules most pairs out; a non-ASCII name, which Unicode
	// folding may equate with an ASCII one of another length, gets tag 0
	// and is compared with every name in full.
	var tag uint32
	if asciiName(name) {
		tag = uint32(len(name))<<16 | 1
		if len(name) > 0 {
			tag |= uint32(lowerASCII(name[0]))<<8 | uint32(lowerASCII(name[len(name)-1]))
		}
	}
	for _, sp := range m.seen[:m.n] {
		if (sp.tag == tag || sp.tag == 0 || tag == 0) && bytes.EqualFold(m.b[sp.start:sp.end], name) {
			return errDuplicateClaim
		}
	}
	m.seen[m.n] = span{start: int32(start), end: int32(end), tag: tag}
	m.n++
	return nil
}

// rememberFolded is remember through the map, for a decoded name or once
// there are many.
func (m *members) rememberFolded(name []byte) error {
	if m.big == nil {
		m.big = make(map[string]struct{}, 2*m.n+1)
		for _, sp := range m.seen[:m.n] {
			m.big[foldName(m.b[sp.start:sp.end])] = struct{}{}
		}
	}
	folded := foldName(name)
	if _, dup := m.big[folded]; dup {
		return errDuplicateClaim
	}
	m.big[folded] = struct{}{}
	return nil
}

// foldName maps a name to a key that is equal for names bytes.EqualFold
// equates: simple folding of each rune to the smallest in its orbit.
func foldName(name []byte) string {
	return strings.Map(func(r rune) rune {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		return least
	}, string(name))
}

// decodeString decodes the JSON string s (with its quotes) exactly as
// encoding/json does; the slow path for escapes and non-ASCII bytes.
func decodeString(s []byte) (string, error) {
	var out string
	if err := json.Unmarshal(bytes.Clone(s), &out); err != nil {
		return "", err
	}
	return out, nil
}

// stringValue decodes a JSON string value; null is "".
func stringValue(val []byte) (string, error) {
	if string(val) == "null" {
		return "", nil
	}
	if len(val) < 2 || val[0] != '"' {
		return "", errClaimType
	}
	if _, complex := scanString(val, 0); complex {
		return decodeString(val)
	}
	return string(val[1 : len(val)-1]), nil
}

// stringList decodes a JSON array of strings; null is nil. A string alone
// is a list of one when single is set (the "aud" claim).
func stringList(val []byte, single bool) ([]string, error) {
	switch {
	case string(val) == "null":
		return nil, nil
	case len(val) > 0 && val[0] == '"':
		return singleString(val, single)
	case len(val) < 2 || val[0] != '[':
		return nil, errClaimType
	}
	out, err := stringArray(val)
	if err != nil {
		return nil, err
	}
	if out == nil && !single {
		out = []string{}
	}
	return out, nil
}

// singleString decodes a string where a list is expected: a list of one
// when single is set, else a type error.
func singleString(val []byte, single bool) ([]string, error) {
	if !single {
		return nil, errClaimType
	}
	s, err := stringValue(val)
	if err != nil {
		return nil, err
	}
	return []string{s}, nil
}

// stringArray decodes the JSON array val, which the scanner has already
// found valid, and fails unless every element is a string; an empty array
// is nil.
func stringArray(val []byte) ([]string, error) {
	var out []string
	i := skipWS(val, 1)
	for i < len(val) && val[i] != ']' {
		if val[i] != '"' {
			return nil, errClaimType
		}
		end, _ := scanString(val, i)
		if end < 0 {
			return nil, errJSON
		}
		s, err := stringValue(val[i:end])
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = make([]string, 0, 4)
		}
		out = append(out, s)
		if i = skipWS(val, end); i < len(val) && val[i] == ',' {
			i = skipWS(val, i+1)
		}
	}
	return out, nil
}
