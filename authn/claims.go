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
	// array is accepted too).
	Scope Scopes `json:"scope,omitempty"`
	// Scp is the "scp" claim some providers use instead of "scope".
	Scp Scopes `json:"scp,omitempty"`
	// Roles is the "roles" claim.
	Roles []string `json:"roles,omitempty"`
	// ClientID is the "client_id" claim (RFC 9068).
	ClientID string `json:"client_id,omitempty"`

	raw []byte
}

// Scopes is a list of scopes that decodes from a space-separated JSON string
// or from a JSON array of strings.
type Scopes []string

// UnmarshalJSON implements json.Unmarshaler.
func (s *Scopes) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		*s = strings.Fields(str)
		return nil
	}
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		return err
	}
	*s = list
	return nil
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
	if c.raw == nil {
		return errors.New("authn: claims have no payload")
	}
	return json.Unmarshal(c.raw, v)
}

// errDuplicateClaim is returned when a payload names a claim twice, which
// encoding/json would silently resolve to the last value.
var errDuplicateClaim = errors.New("duplicate claim")

var errNumericDate = errors.New("exp, nbf and iat must be JSON numbers")

func isTimeClaim(name []byte) bool {
	return len(name) == 3 && (string(name) == "exp" || string(name) == "nbf" || string(name) == "iat")
}

// checkDuplicateKeys scans the members of the top-level JSON object in b
// (already known to be valid JSON) and fails when a name repeats. Names are
// compared after unescaping, so "\u0065xp" and "exp" are the same claim.
func checkDuplicateKeys(b []byte) error {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errors.New("payload is not a JSON object")
	}
	i++
	var small [24][]byte
	seen := small[:0]
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
			if err := json.Unmarshal(b[i:end], &s); err != nil {
				return err
			}
			name = []byte(s)
		}
		if big == nil && len(seen) < cap(seen) {
			for _, n := range seen {
				if bytes.Equal(n, name) {
					return errDuplicateClaim
				}
			}
			seen = append(seen, name)
		} else {
			if big == nil {
				big = make(map[string]struct{}, 2*len(seen))
				for _, n := range seen {
					big[string(n)] = struct{}{}
				}
			}
			if _, dup := big[string(name)]; dup {
				return errDuplicateClaim
			}
			big[string(name)] = struct{}{}
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
		i = skipValue(b, i)
		if i < 0 {
			return errors.New("malformed value")
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

// payloadOf base64url-decodes the payload segment of a compact JWS.
func payloadOf(token string) ([]byte, error) {
	_, rest, _ := strings.Cut(token, ".")
	seg, _, _ := strings.Cut(rest, ".")
	return base64.RawURLEncoding.DecodeString(seg)
}

// canonicalB64 reports whether every segment of token is canonical
// unpadded base64url: the unused low bits of a final partial group must be
// zero, so one signature has exactly one spelling. (golang-jwt's own strict
// mode would allocate a decoder per segment.)
func canonicalB64(token string) bool {
	start := 0
	for i := 0; i <= len(token); i++ {
		if i < len(token) && token[i] != '.' {
			continue
		}
		seg := token[start:i]
		start = i + 1
		if len(seg) == 0 {
			continue
		}
		v := b64val(seg[len(seg)-1])
		switch len(seg) % 4 {
		case 1:
			return false
		case 2:
			if v&0x0f != 0 {
				return false
			}
		case 3:
			if v&0x03 != 0 {
				return false
			}
		}
	}
	return true
}

func b64val(c byte) byte {
	switch {
	case c >= 'A' && c <= 'Z':
		return c - 'A'
	case c >= 'a' && c <= 'z':
		return c - 'a' + 26
	case c >= '0' && c <= '9':
		return c - '0' + 52
	case c == '-':
		return 62
	case c == '_':
		return 63
	}
	return 0xff
}
