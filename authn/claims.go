package authn

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// Claims are the verified claims of a JWT: the registered claims, the OAuth2
// scope claims, a roles claim, and the raw payload for everything else
// (see Decode).
type Claims struct {
	jwt.RegisteredClaims
	// Scope is the "scope" claim (RFC 8693/9068: space-separated; a JSON
	// array is accepted too). The verifier fills it while it checks the
	// payload for duplicate claims, so encoding/json does not decode it.
	Scope Scopes `json:"-"`
	// Scp is the "scp" claim some providers use instead of "scope".
	Scp Scopes `json:"-"`
	// Roles is the "roles" claim.
	Roles []string `json:"roles,omitempty"`
	// ClientID is the "client_id" claim (RFC 9068).
	ClientID string `json:"client_id,omitempty"`

	raw   []byte // the payload, when kept
	token string // else the token, to decode the payload from on demand
}

// Scopes is a list of scopes that decodes from a space-separated JSON string
// or from a JSON array of strings.
type Scopes []string

// UnmarshalJSON implements json.Unmarshaler.
func (s *Scopes) UnmarshalJSON(b []byte) error {
	list, err := parseScopes(b)
	if err != nil {
		return err
	}
	*s = list
	return nil
}

// parseScopes decodes a JSON string of space-separated scopes or an array
// of strings. It never retains b.
func parseScopes(b []byte) (Scopes, error) {
	// Fast path: a string without escapes (the common "a b c").
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' && bytes.IndexByte(b, '\\') < 0 {
		return strings.Fields(string(b[1 : len(b)-1])), nil
	}
	cb := bytes.Clone(b)
	if len(cb) > 0 && cb[0] == '"' {
		var str string
		if err := json.Unmarshal(cb, &str); err != nil {
			return nil, err
		}
		return strings.Fields(str), nil
	}
	var list []string
	if err := json.Unmarshal(cb, &list); err != nil {
		return nil, err
	}
	return list, nil
}

// AllScopes returns the scopes of both the scope and scp claims.
func (c *Claims) AllScopes() []string {
	if len(c.Scp) == 0 {
		return c.Scope
	}
	if len(c.Scope) == 0 {
		return c.Scp
	}
	out := make([]string, 0, len(c.Scope)+len(c.Scp))
	return append(append(out, c.Scope...), c.Scp...)
}

// Decode unmarshals the whole verified payload into v, for claims this type
// does not name.
func (c *Claims) Decode(v any) error {
	raw := c.raw
	if raw == nil && c.token != "" {
		var err error
		if raw, err = payloadOf(c.token); err != nil {
			return err
		}
	}
	if raw == nil {
		return errors.New("authn: claims have no payload")
	}
	return json.Unmarshal(raw, v)
}

// errDuplicateClaim is returned when a payload names a claim twice, which
// encoding/json would silently resolve to the last value.
var errDuplicateClaim = errors.New("duplicate claim")

var errNumericDate = errors.New("exp, nbf and iat must be JSON numbers")

// isTimeClaim reports whether name is exp, nbf or iat in any letter case:
// encoding/json matches struct fields case-insensitively, so "Exp" lands
// in the same field.
func isTimeClaim(name []byte) bool {
	if len(name) != 3 {
		return false
	}
	switch string([]byte{lowerASCII(name[0]), lowerASCII(name[1]), lowerASCII(name[2])}) {
	case "exp", "nbf", "iat":
		return true
	}
	return false
}

// asciiName reports whether name is plain ASCII.
func asciiName(name []byte) bool {
	for _, c := range name {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// checkDuplicateKeys scans the members of the top-level JSON object in b
// (already known to be valid JSON) and fails when a name repeats. Names are
// compared after unescaping and ignoring case, as encoding/json matches
// them to fields: "\u0065xp", "EXP" and "exp" are the same claim.
func checkDuplicateKeys(b []byte) error { return scanPayload(b, nil) }

// scanPayload is checkDuplicateKeys that also fills c's scope claims (when
// c is not nil). It never retains b, so b may live on the caller's stack.
func scanPayload(b []byte, c *Claims) error {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errors.New("payload is not a JSON object")
	}
	i++
	var small [24][]byte // names seen, while few (no allocation)
	var tags [24]uint32  // length and end bytes of each, to skip most compares
	nSeen := 0
	var big map[string]struct{}
	for {
		i = skipWS(b, i)
		if i >= len(b) {
			return errors.New("truncated object")
		}
		if b[i] == '}' {
			return nil
		}
		if b[i] == ',' {
			i = skipWS(b, i+1)
		}
		if i >= len(b) || b[i] != '"' {
			return errors.New("expected a member name")
		}
		end, escaped := scanString(b, i)
		if end < 0 {
			return errors.New("unterminated string")
		}
		name := b[i+1 : end-1]
		if escaped {
			var s string
			if err := json.Unmarshal(bytes.Clone(b[i:end]), &s); err != nil {
				return err
			}
			name = []byte(s)
		}
		if big == nil && nSeen < len(small) {
			// The tag (length and lower-cased end bytes) rules most pairs
			// out; a non-ASCII name, which Unicode folding may equate with
			// an ASCII one of another length, gets tag 0 and is compared
			// with every name in full.
			var tag uint32
			if asciiName(name) {
				tag = uint32(len(name))<<16 | 1
				if len(name) > 0 {
					tag |= uint32(lowerASCII(name[0]))<<8 | uint32(lowerASCII(name[len(name)-1]))
				}
			}
			for k := 0; k < nSeen; k++ {
				if (tags[k] == tag || tags[k] == 0 || tag == 0) && bytes.EqualFold(small[k], name) {
					return errDuplicateClaim
				}
			}
			small[nSeen], tags[nSeen] = name, tag
			nSeen++
		} else {
			if big == nil {
				big = make(map[string]struct{}, 2*nSeen)
				for _, n := range small[:nSeen] {
					big[strings.ToLower(string(n))] = struct{}{}
				}
			}
			folded := strings.ToLower(string(name))
			if _, dup := big[folded]; dup {
				return errDuplicateClaim
			}
			big[folded] = struct{}{}
		}
		i = skipWS(b, end)
		if i >= len(b) || b[i] != ':' {
			return errors.New("expected a colon")
		}
		i = skipWS(b, i+1)
		if isTimeClaim(name) && (i >= len(b) || !(b[i] == '-' || b[i] >= '0' && b[i] <= '9')) {
			// RFC 7519 NumericDate is a JSON number; golang-jwt would also
			// take a string.
			return errNumericDate
		}
		start := i
		i = skipValue(b, i)
		if i < 0 {
			return errors.New("malformed value")
		}
		if c != nil && (string(name) == "scope" || string(name) == "scp") {
			list, err := parseScopes(b[start:i])
			if err != nil {
				return err
			}
			if name[1] == 'c' && len(name) == 5 {
				c.Scope = list
			} else {
				c.Scp = list
			}
		}
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanString returns the index after the closing quote of the string that
// starts at b[i], and whether it contains escapes; -1 when unterminated.
func scanString(b []byte, i int) (int, bool) {
	escaped := false
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			return j + 1, escaped
		}
	}
	return -1, escaped
}

// skipValue returns the index after the JSON value starting at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		end, _ := scanString(b, i)
		return end
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, _ := scanString(b, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	default:
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
			j++
		}
		return j
	}
}

// payloadSegment returns the payload segment of a compact JWS.
func payloadSegment(token string) string {
	_, rest, _ := strings.Cut(token, ".")
	seg, _, _ := strings.Cut(rest, ".")
	return seg
}

// payloadOf base64url-decodes the payload segment of a compact JWS.
func payloadOf(token string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(payloadSegment(token))
}

// b64dec maps base64url characters to their values; 0xff marks others.
var b64dec = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" {
		t[c] = byte(i)
	}
	return t
}()

// decodeB64URL decodes unpadded base64url s into dst (which must hold
// len(s)*3/4+3 bytes) and returns the decoded bytes. Unlike the standard
// decoder it takes a string without converting it, so a caller's stack
// buffer can hold the result.
func decodeB64URL(dst []byte, s string) ([]byte, bool) {
	if len(s)%4 == 1 {
		return nil, false
	}
	n := 0
	i := 0
	for ; i+4 <= len(s); i += 4 {
		a, b, c, d := b64dec[s[i]], b64dec[s[i+1]], b64dec[s[i+2]], b64dec[s[i+3]]
		if a|b|c|d == 0xff || (a|b|c|d)&0xc0 != 0 {
			return nil, false
		}
		v := uint32(a)<<18 | uint32(b)<<12 | uint32(c)<<6 | uint32(d)
		dst[n], dst[n+1], dst[n+2] = byte(v>>16), byte(v>>8), byte(v)
		n += 3
	}
	var acc uint32
	bits := 0
	for ; i < len(s); i++ {
		v := b64dec[s[i]]
		if v == 0xff {
			return nil, false
		}
		acc = acc<<6 | uint32(v)
		bits += 6
		if bits >= 8 {
			bits -= 8
			dst[n] = byte(acc >> bits)
			n++
		}
	}
	return dst[:n], true
}

// splitCanonical reports whether token has exactly three dot-separated
// segments, each canonical unpadded base64url: the unused low bits of a
// final partial group must be zero, so one signature has exactly one
// spelling. (golang-jwt's own strict mode would allocate a decoder per
// segment.) It looks at the dots and the last character of each segment
// only; the decoder checks the rest.
func splitCanonical(token string) bool {
	i := strings.IndexByte(token, '.')
	if i < 0 {
		return false
	}
	j := strings.IndexByte(token[i+1:], '.')
	if j < 0 {
		return false
	}
	j += i + 1
	if strings.IndexByte(token[j+1:], '.') >= 0 {
		return false
	}
	return canonicalTail(token[:i]) && canonicalTail(token[i+1:j]) && canonicalTail(token[j+1:])
}

func canonicalTail(seg string) bool {
	if len(seg) == 0 {
		return true
	}
	v := b64val(seg[len(seg)-1])
	switch len(seg) % 4 {
	case 1:
		return false
	case 2:
		return v&0x0f == 0
	case 3:
		return v&0x03 == 0
	}
	return true
}

func b64val(c byte) byte { return b64dec[c] }
