package principal

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// Claims are the verified claims of a JWT: the registered claims, the OAuth2
// scope claims, a roles claim, the session ("sid"), and the raw payload for
// everything else (see Decode). authn's verifier fills them in one strict pass over the
// payload: claim names match exactly (RFC 7519), a name that appears twice
// in any letter case is refused, and exp, nbf and iat must be numbers.
type Claims struct {
	jwt.RegisteredClaims
	// Scope is the "scope" claim (RFC 8693/9068: space-separated; a JSON
	// array is accepted too).
	Scope Scopes `json:"-"`
	// Scp is the "scp" claim some providers use instead of "scope".
	Scp Scopes `json:"-"`
	// Roles is the "roles" claim.
	Roles []string `json:"roles,omitempty"`
	// ClientID is the "client_id" claim (RFC 9068).
	ClientID string `json:"client_id,omitempty"`
	// SessionID is the "sid" claim (OpenID Connect): the login a token
	// belongs to, which a revocation list can revoke as a whole.
	SessionID string `json:"sid,omitempty"`

	raw   []byte // the payload, when kept
	token string // else the token, to decode the payload from on demand
}

// SetPayload records the verified JSON payload the claims were read from,
// for Decode. The claims keep payload: the caller must not change it later.
func (c *Claims) SetPayload(payload []byte) { c.raw, c.token = payload, "" }

// SetToken records the verified compact JWS the claims were read from;
// Decode decodes its payload on demand, so a verifier need not keep a copy
// of the payload for the rare caller that wants more claims.
func (c *Claims) SetToken(token string) { c.raw, c.token = nil, token }

// Scopes is a list of scopes that decodes from a space-separated JSON string
// or from a JSON array of strings.
type Scopes []string

// UnmarshalJSON implements json.Unmarshaler. It never retains b.
func (s *Scopes) UnmarshalJSON(b []byte) error {
	// Fast path: a string without escapes (the common "a b c").
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' && bytes.IndexByte(b, '\\') < 0 {
		*s = strings.Fields(string(b[1 : len(b)-1]))
		return nil
	}
	cb := bytes.Clone(b)
	if len(cb) > 0 && cb[0] == '"' {
		var str string
		if err := json.Unmarshal(cb, &str); err != nil {
			return err
		}
		*s = strings.Fields(str)
		return nil
	}
	var list []string
	if err := json.Unmarshal(cb, &list); err != nil {
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
// does not name. It fails when no payload was recorded (see SetPayload and
// SetToken).
func (c *Claims) Decode(v any) error {
	raw := c.raw
	if raw == nil && c.token != "" {
		_, rest, _ := strings.Cut(c.token, ".")
		seg, _, _ := strings.Cut(rest, ".")
		var err error
		if raw, err = base64.RawURLEncoding.DecodeString(seg); err != nil {
			return err
		}
	}
	if raw == nil {
		return errors.New("principal: claims have no payload")
	}
	return json.Unmarshal(raw, v)
}
