package ratelimit

import (
	"crypto/sha256"
	"encoding/binary"
	"net/http"
	"net/netip"
	"net/textproto"

	"github.com/covetgo/covet/clientip"
	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/internal/httpx"
)

// Key says what a limit is counted per: the client's network, the
// authenticated principal, the API key, the route, any function of the
// request, or a combination (Key.And). The zero Key is ByIP().
type Key struct {
	parts []keyPart
}

type partKind uint8

const (
	partIP partKind = iota + 1
	partPrincipal
	partAPIKey
	partRoute
	partFunc
)

type keyPart struct {
	kind   partKind
	header string
	fn     func(*http.Request) (string, bool)
	route  func(*http.Request) string
}

// maxPart is the longest part kept as is; longer parts are replaced by
// their SHA-256 so keys stay small.
const maxPart = 256

// MaxAPIKeyLength is the longest API key header value ByAPIKey accepts; a
// longer one counts as no key.
const MaxAPIKeyLength = 1024

// ByIP counts per client network: the address Options.ClientIP resolves
// (or, without it, the one clientip.Resolver.Handler stored in the context,
// else the connection's address), IPv4 per address and IPv6 per /64
// (clientip.Prefix). A request whose address cannot be parsed has no key.
func ByIP() Key { return Key{parts: []keyPart{{kind: partIP}}} }

// ByPrincipal counts per authenticated principal, read by a function the
// application supplies (for example one wrapping authn.PrincipalFrom). A
// request for which it reports false or "" has no key.
func ByPrincipal(principal func(r *http.Request) (string, bool)) Key {
	return Key{parts: []keyPart{{kind: partPrincipal, fn: principal}}}
}

// ByAPIKey counts per API key, read from the named request header ("" is
// X-API-Key). The key is hashed (SHA-256) before it reaches any store. A
// request without the header, or with a value longer than
// MaxAPIKeyLength, has no key. ByAPIKey does not check that the key is
// valid; mount the limiter after authentication for that.
func ByAPIKey(header string) Key {
	if header == "" {
		header = "X-API-Key"
	}
	return Key{parts: []keyPart{{kind: partAPIKey, header: header}}}
}

// ByRoute counts per route pattern. pattern returns the matched pattern;
// nil reads http.Request.Pattern (set by http.ServeMux). With chi, pass
// func(r *http.Request) string { return chi.RouteContext(r.Context()).RoutePattern() }
// and mount the limiter inside the route group. An empty pattern means no
// key; the raw path is never used, since clients choose it freely.
func ByRoute(pattern func(r *http.Request) string) Key {
	return Key{parts: []keyPart{{kind: partRoute, route: pattern}}}
}

// ByFunc counts per the value fn returns. A request for which it reports
// false has no key.
func ByFunc(fn func(r *http.Request) (string, bool)) Key {
	return Key{parts: []keyPart{{kind: partFunc, fn: fn}}}
}

// And returns a key combining k and other: for example
// ByRoute(nil).And(ByIP()) counts each client per route. A request has the
// combined key only when it has every part.
func (k Key) And(other Key) Key {
	parts := make([]keyPart, 0, len(k.parts)+len(other.parts))
	parts = append(parts, k.parts...)
	parts = append(parts, other.parts...)
	return Key{parts: parts}
}

func (k Key) validate() (Key, error) {
	if len(k.parts) == 0 {
		return ByIP(), nil
	}
	for _, p := range k.parts {
		switch p.kind {
		case partPrincipal, partFunc:
			if p.fn == nil {
				return k, errs.Configf("ratelimit: ByPrincipal and ByFunc need a function")
			}
		case partAPIKey:
			for i := 0; i < len(p.header); i++ {
				if !httpx.IsTokenChar(p.header[i]) {
					return k, errs.Configf("ratelimit: ByAPIKey header %q is not a valid header name", p.header)
				}
			}
		}
	}
	out := make([]keyPart, len(k.parts))
	copy(out, k.parts)
	for i := range out {
		if out[i].kind == partAPIKey {
			out[i].header = textproto.CanonicalMIMEHeaderKey(out[i].header)
		}
	}
	return Key{parts: out}, nil
}

// keyOutcome is what building a request's key found.
type keyOutcome uint8

const (
	keyOK keyOutcome = iota
	keyMissing
	keyExempt
)

// appendKey appends the request's key to b: for each part a tag, a length
// and the value (the masked network, the SHA-256 of an API key, or the
// string, itself hashed when longer than maxPart).
func (l *Limiter) appendKey(b []byte, r *http.Request) ([]byte, keyOutcome) {
	outcome := keyOK
	for i := range l.key.parts {
		p := &l.key.parts[i]
		switch p.kind {
		case partIP:
			b, outcome = l.appendIP(b, r)
		case partAPIKey:
			b, outcome = l.appendAPIKey(b, r, p.header)
		default:
			b, outcome = l.appendValue(b, r, p)
		}
		if outcome != keyOK {
			return b, outcome
		}
	}
	return b, keyOK
}

// appendIP appends the client's network.
func (l *Limiter) appendIP(b []byte, r *http.Request) ([]byte, keyOutcome) {
	a := l.clientAddr(r)
	if !a.IsValid() {
		return b, keyMissing
	}
	pfx := clientip.Prefix(a)
	ip16 := pfx.Addr().As16()
	b = append(b, 'i', 17)
	b = append(b, ip16[:]...)
	return append(b, byte(pfx.Bits())), keyOK
}

// appendAPIKey appends the SHA-256 of the API key in header.
func (l *Limiter) appendAPIKey(b []byte, r *http.Request, header string) ([]byte, keyOutcome) {
	v := headerValue(r.Header, header)
	if v == "" || len(v) > MaxAPIKeyLength {
		return b, keyMissing
	}
	if l.isExemptKey(v) {
		return b, keyExempt
	}
	sum := sha256.Sum256([]byte(v))
	b = append(b, 'a', 32)
	return append(b, sum[:]...), keyOK
}

// appendValue appends a route, principal or function part.
func (l *Limiter) appendValue(b []byte, r *http.Request, p *keyPart) ([]byte, keyOutcome) {
	var v string
	var tag byte
	switch p.kind {
	case partRoute:
		tag, v = 'r', r.Pattern
		if p.route != nil {
			v = p.route(r)
		}
	default:
		var ok bool
		if v, ok = p.fn(r); !ok {
			return b, keyMissing
		}
		tag = 'f'
		if p.kind == partPrincipal {
			tag = 'p'
		}
	}
	if v == "" && p.kind != partFunc {
		return b, keyMissing
	}
	if l.isExemptKey(v) {
		return b, keyExempt
	}
	return appendPart(b, tag, v), keyOK
}

func (l *Limiter) isExemptKey(v string) bool {
	if l.exemptKeys == nil {
		return false
	}
	_, ok := l.exemptKeys[v]
	return ok
}

func appendPart(b []byte, tag byte, v string) []byte {
	if len(v) > maxPart {
		sum := sha256.Sum256([]byte(v))
		b = append(b, tag|0x80, 32)
		return append(b, sum[:]...)
	}
	b = append(b, tag)
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// headerValue returns the first value of a canonical header, trimmed of
// spaces and tabs.
func headerValue(h http.Header, key string) string {
	vs := h[key]
	if len(vs) == 0 {
		return ""
	}
	v := vs[0]
	for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
		v = v[1:]
	}
	for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
		v = v[:len(v)-1]
	}
	return v
}

func (l *Limiter) exemptIP(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range l.exemptIPs {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
