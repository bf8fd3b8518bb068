package jwt

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/covetgo/covet/authn"
	gojwt "github.com/golang-jwt/jwt/v5"
)

// ParseClaims reads a verified JWT payload into c as the Verifier does:
// one JSON object, no member name repeated in any letter case, exp, nbf
// and iat JSON numbers, the registered, scope, roles, client_id and sid
// claims filled. It does not check signatures or validate the claims; the OIDC
// client uses it for ID tokens that go-oidc has verified. The claims keep
// payload for Claims.Decode.
func ParseClaims(payload []byte, c *authn.Claims) error {
	if err := parseClaims(payload, c, new([3]gojwt.NumericDate)); err != nil {
		return err
	}
	c.SetPayload(payload)
	return nil
}

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

// parseClaims checks that b is one JSON object with no repeated member
// names and fills c from it: the registered claims, roles, client_id,
// sid and both scope claims. Names match exactly (RFC 7519 claim names are case
// sensitive); exp, nbf and iat must be JSON numbers in any letter case,
// since an application decoding the payload with encoding/json would
// match "Exp" to its exp field. The three dates point into dates. It never
// retains b.
func parseClaims(b []byte, c *authn.Claims, dates *[3]gojwt.NumericDate) error {
	m, err := newMembers(b)
	if err != nil {
		return err
	}
	for {
		name, val, ok, err := m.next()
		if err != nil || !ok {
			return err
		}
		if err := checkTimeClaim(name, val); err != nil {
			return err
		}
		if err := setClaim(c, dates, name, val); err != nil {
			return err
		}
	}
}

// checkTimeClaim refuses a member that encoding/json would take for exp,
// nbf or iat unless it is a JSON number under its exact lower-case name.
func checkTimeClaim(name, val []byte) error {
	if !isTimeClaim(name) {
		return nil
	}
	// RFC 7519 NumericDate is a JSON number; golang-jwt would also take a
	// string.
	if val[0] != '-' && !isDigit(val[0]) {
		return errNumericDate
	}
	// The verifier checks only the exact names, but an application
	// decoding the payload with encoding/json would take "Nbf" for its nbf
	// field: such a spelling is refused rather than left unchecked.
	if n := string(name); n != "exp" && n != "nbf" && n != "iat" {
		return errTimeClaimCase
	}
	return nil
}

// setClaim decodes the member name (matched exactly) into its field of c
// when it is one the verifier reads; other members are ignored.
func setClaim(c *authn.Claims, dates *[3]gojwt.NumericDate, name, val []byte) (err error) {
	switch string(name) {
	case "iss":
		c.Issuer, err = stringValue(val)
	case "sub":
		c.Subject, err = stringValue(val)
	case "jti":
		c.ID, err = stringValue(val)
	case "client_id":
		c.ClientID, err = stringValue(val)
	case "sid":
		c.SessionID, err = stringValue(val)
	case "aud":
		c.Audience, err = stringList(val, true)
	case "roles":
		c.Roles, err = stringList(val, false)
	case "exp":
		c.ExpiresAt, err = numericDate(val, &dates[0])
	case "nbf":
		c.NotBefore, err = numericDate(val, &dates[1])
	case "iat":
		c.IssuedAt, err = numericDate(val, &dates[2])
	case "scope":
		err = c.Scope.UnmarshalJSON(val)
	case "scp":
		err = c.Scp.UnmarshalJSON(val)
	}
	return err
}

// numericDate decodes a NumericDate into dst as golang-jwt does, with a
// fast path for whole seconds.
func numericDate(val []byte, dst *gojwt.NumericDate) (*gojwt.NumericDate, error) {
	if len(val) <= 15 {
		var n int64
		whole := true
		for _, d := range val {
			if !isDigit(d) {
				whole = false
				break
			}
			n = n*10 + int64(d-'0')
		}
		if whole {
			dst.Time = time.Unix(n, 0).Truncate(gojwt.TimePrecision)
			return dst, nil
		}
	}
	// Beyond 2^53 seconds a float is no longer exact, and beyond int64 the
	// conversion to a time is left to the platform: refused.
	f, err := strconv.ParseFloat(string(val), 64)
	if err != nil || math.Abs(f) > 1<<53 {
		return nil, errNumericDate
	}
	if err := dst.UnmarshalJSON(bytes.Clone(val)); err != nil {
		return nil, err
	}
	return dst, nil
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
