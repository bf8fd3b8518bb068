package authn

import (
	"context"
	"net/http"
)

// TokenVerifier checks a bearer token and returns its principal. A
// jwt.Verifier checks JWTs locally; an oidc.Introspector asks the authorization
// server (RFC 7662). Errors are ErrInvalidToken (with a [Reason]) or
// ErrUnavailable.
type TokenVerifier interface {
	Verify(ctx context.Context, token string) (*Principal, error)
}

// ParseBearer extracts the token of an "Authorization: Bearer <token>"
// header (RFC 6750 section 2.1; the scheme is case-insensitive). ok is false
// when there is no Authorization header or it uses another scheme. A
// repeated header, an empty token or a token with characters outside the
// b64token alphabet is an ErrInvalidRequest. The token is not otherwise
// checked.
func ParseBearer(h http.Header) (token string, ok bool, err error) {
	return parseBearer(h, true)
}

// parseBearer is ParseBearer; checkChars false leaves the b64token
// character check to the caller.
func parseBearer(h http.Header, checkChars bool) (token string, ok bool, err error) {
	vals := h["Authorization"]
	switch len(vals) {
	case 0:
		return "", false, nil
	case 1:
	default:
		return "", false, fail(ErrInvalidRequest, "repeated_authorization", nil)
	}
	v := vals[0]
	if len(v) < 6 || !equalFoldASCII(v[:6], "bearer") {
		return "", false, nil
	}
	if len(v) == 6 {
		return "", false, fail(ErrInvalidRequest, "empty_token", nil)
	}
	if v[6] != ' ' {
		return "", false, nil // another scheme, such as "Bearerx"
	}
	i := 7
	for i < len(v) && v[i] == ' ' {
		i++
	}
	tok := v[i:]
	if tok == "" {
		return "", false, fail(ErrInvalidRequest, "empty_token", nil)
	}
	if checkChars && !validB64Token(tok) {
		return "", false, fail(ErrInvalidRequest, "malformed_token", nil)
	}
	return tok, true, nil
}

// validB64Token reports whether s matches RFC 6750's b64token:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func validB64Token(s string) bool {
	n := len(s)
	for n > 0 && s[n-1] == '=' {
		n--
	}
	if n == 0 {
		return false
	}
	for i := 0; i < n; i++ {
		if !b64tokenChar[s[i]] {
			return false
		}
	}
	return true
}

// b64tokenChar marks the characters of a b64token other than "=".
var b64tokenChar = func() (t [256]bool) {
	for _, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/" {
		t[c] = true
	}
	return t
}()

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x >= 'A' && x <= 'Z' {
			x += 'a' - 'A'
		}
		if y >= 'A' && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// Bearer returns an authenticator for "Authorization: Bearer" tokens checked
// by v. Its challenges follow RFC 6750.
func Bearer(v TokenVerifier) Authenticator {
	m := MethodJWT
	if mv, ok := v.(interface{ Method() Method }); ok {
		m = mv.Method()
	}
	b := &bearerAuth{v: v, method: m}
	b.cache, _ = v.(CachedVerifier)
	return b
}

// CachedVerifier is a TokenVerifier with a verified-token cache (a
// jwt.Verifier with a CacheSize). Cached answers from the cache alone: hit
// reports whether token was there, and then p or err is the answer. A
// cached token passed every check before, so Bearer asks the cache first
// and checks the characters of a token only when the cache misses.
type CachedVerifier interface {
	TokenVerifier
	Cached(ctx context.Context, token string) (p *Principal, hit bool, err error)
}

type bearerAuth struct {
	v      TokenVerifier
	cache  CachedVerifier // v, when it has a cache
	method Method
}

func (b *bearerAuth) Method() Method { return b.method }

func (b *bearerAuth) Challenge(realm, code string) string {
	switch code {
	case "invalid_token":
		return BearerChallenge(realm, code, "The access token is invalid or expired.")
	case "invalid_request":
		return BearerChallenge(realm, code, "The Authorization header is malformed.")
	}
	return BearerChallenge(realm, "", "")
}

func (b *bearerAuth) Authenticate(r *http.Request) (*Principal, error) {
	tok, ok, err := parseBearer(r.Header, false)
	if err != nil || !ok {
		return nil, err
	}
	if b.cache != nil {
		if p, hit, err := b.cache.Cached(r.Context(), tok); hit {
			return p, err
		}
	}
	if !validB64Token(tok) {
		return nil, fail(ErrInvalidRequest, "malformed_token", nil)
	}
	return b.v.Verify(r.Context(), tok)
}
