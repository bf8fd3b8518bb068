// Package clientip finds the address of the client on the other end of a
// request, safely, behind any number of trusted reverse proxies.
//
// By default the client is the peer of the TCP connection (RemoteAddr) and
// every forwarding header is ignored: a client can never choose its own
// address by sending a header. When the peer is a configured trusted proxy,
// the resolver reads the one header that proxy sets (X-Forwarded-For,
// RFC 7239 Forwarded, or a single-address header such as CF-Connecting-IP),
// walks its addresses from right to left past the trusted proxies, and
// takes the first untrusted one. Empty elements (", 203.0.113.5", as proxies
// write when they append to an empty header) are skipped. It never falls
// back leftward past a malformed entry, and never answers with a trusted
// hop for a malformed header: the client is then unknown (the zero Addr).
//
// Resolve once per request: mount Resolver.Handler early and read the
// address with From or FromRequest in later stages.
//
// # Who is on the other end
//
//	proxies, _ := clientip.ParsePrefixes("10.0.0.0/8")
//	ips, err := clientip.New(clientip.Options{TrustedProxies: proxies}) // X-Forwarded-For from 10/8 only
//	r.Use(ips.Handler)
//	// later: clientip.FromRequest(r) → netip.Addr
//
// With no trusted proxies the client is always RemoteAddr. Forwarding headers are
// believed only from a trusted peer, walked right to left past trusted proxies, and a
// malformed entry yields RemoteAddr rather than anything to its left: a client can
// never choose its own address.
package clientip

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"net/textproto"
	"strings"
)

// Header names with special parsing.
const (
	XForwardedFor = "X-Forwarded-For"
	Forwarded     = "Forwarded"
)

// Options configures a Resolver. The zero value trusts no proxy: the client
// is always RemoteAddr.
type Options struct {
	// TrustedProxies are the networks of reverse proxies whose forwarding
	// header is believed. A request whose RemoteAddr is outside them is
	// resolved to RemoteAddr, whatever headers it carries. A network that
	// holds every address (0.0.0.0/0, ::/0) is refused: every client could
	// then choose its own address.
	TrustedProxies []netip.Prefix
	// Header is the header the trusted proxies set: XForwardedFor (the
	// default when TrustedProxies is set), Forwarded, or the name of a
	// header holding a single address (CF-Connecting-IP, True-Client-IP,
	// X-Real-IP). Name exactly the header your proxy overwrites or appends;
	// any other header is client-controlled.
	Header string
}

// Resolver resolves client addresses. It is safe for concurrent use.
type Resolver struct {
	trusted []netip.Prefix
	header  string // canonical
	kind    headerKind
}

type headerKind uint8

const (
	kindNone headerKind = iota
	kindXFF
	kindForwarded
	kindSingle
)

// New validates opts and returns a Resolver.
func New(opts Options) (*Resolver, error) {
	trusted, err := compileTrusted(opts.TrustedProxies)
	if err != nil {
		return nil, err
	}
	r := &Resolver{trusted: trusted}
	h := strings.TrimSpace(opts.Header)
	if h != "" && len(r.trusted) == 0 {
		return nil, errors.New("clientip: Header " + h + " is set but TrustedProxies is empty; a header is only believed from a trusted proxy")
	}
	if len(r.trusted) == 0 {
		return r, nil
	}
	if h == "" {
		h = XForwardedFor
	}
	if !validHeaderName(h) {
		return nil, errors.New("clientip: Header " + h + " is not a valid header name")
	}
	r.header = textproto.CanonicalMIMEHeaderKey(h)
	switch r.header {
	case XForwardedFor:
		r.kind = kindXFF
	case Forwarded:
		r.kind = kindForwarded
	default:
		r.kind = kindSingle
	}
	return r, nil
}

// compileTrusted masks the trusted prefixes and unmaps IPv4-mapped ones.
func compileTrusted(in []netip.Prefix) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, p := range in {
		if !p.IsValid() {
			return nil, errors.New("clientip: TrustedProxies holds an invalid prefix")
		}
		p = p.Masked()
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		if p.Bits() == 0 {
			// Every peer trusted: a client's own X-Forwarded-For is
			// believed, and its leftmost entry, the client's pick, wins.
			return nil, errors.New("clientip: TrustedProxies holds " + p.String() + ", which trusts every address, so any client could choose its own; list the networks of your proxies")
		}
		out = append(out, p)
	}
	return out, nil
}

// validHeaderName reports whether h is made of letters, digits, '-' and
// '_' only, the header names a proxy sets.
func validHeaderName(h string) bool {
	for i := 0; i < len(h); i++ {
		c := h[i]
		lower := c | 0x20 // folds ASCII letters to lower case, and no other byte into a-z
		if !(c == '-' || c == '_' || '0' <= c && c <= '9' || 'a' <= lower && lower <= 'z') {
			return false
		}
	}
	return true
}

// ParsePrefixes parses CIDRs or single addresses ("10.0.0.0/8",
// "2001:db8::1"), for configuration from the environment.
func ParsePrefixes(list ...string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if strings.Contains(s, "/") {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, errors.New("clientip: invalid CIDR " + s)
			}
			out = append(out, p)
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, errors.New("clientip: invalid address " + s)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// Trusted reports whether a is inside a trusted proxy network.
func (r *Resolver) Trusted(a netip.Addr) bool {
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientIP returns the client's address: RemoteAddr, or the address a
// trusted proxy forwarded. The result is unmapped (no ::ffff: prefix) and
// has no zone. It does not allocate.
//
// Empty and whitespace-only elements of a forwarding header are skipped:
// a proxy that appends to an empty or absent-but-sent header produces
// ", 203.0.113.5" (Go's httputil.ReverseProxy and nginx's
// $proxy_add_x_forwarded_for both do), and an empty element is never an
// address. A header from a trusted peer with no element left at all is
// treated as absent (the peer itself is the client).
//
// The result is the zero Addr when the client cannot be known: RemoteAddr
// cannot be parsed, or a trusted peer's header is malformed before an
// untrusted address is reached (an entry that is not an address, a
// Forwarded element without an address for=, a repeated single-address
// header). A malformed header never yields the address of a trusted hop, so
// a broken or hostile chain can never pass as an internal caller; stages
// that key by address treat the zero Addr as "no address".
func (r *Resolver) ClientIP(req *http.Request) netip.Addr {
	remote := ParseRemoteAddr(req.RemoteAddr)
	if r.kind == kindNone || !remote.IsValid() || !r.Trusted(remote) {
		return remote
	}
	values := req.Header[r.header]
	if len(values) == 0 {
		return remote
	}
	switch r.kind {
	case kindXFF, kindForwarded:
		a, st := r.walk(values, r.kind == kindForwarded)
		switch st {
		case walkEmpty:
			return remote
		case walkMalformed:
			return netip.Addr{}
		}
		return a
	default: // kindSingle
		var v string
		n := 0
		for _, line := range values {
			if t := strings.TrimSpace(line); t != "" {
				v = t
				n++
			}
		}
		switch n {
		case 0:
			return remote
		case 1:
			if a, ok := parseHost(v); ok {
				return a
			}
		}
		return netip.Addr{}
	}
}

type walkState uint8

const (
	walkFound     walkState = iota // an address was found
	walkEmpty                      // the header held no element
	walkMalformed                  // an element was not an address
)

// walk goes over the header's elements from the last line's last one to the
// first line's first, skipping empty elements and trusted proxies. It stops
// at the first untrusted address, or fails at the first malformed element.
func (r *Resolver) walk(values []string, forwarded bool) (netip.Addr, walkState) {
	var last netip.Addr
	seen := false
	for i := len(values) - 1; i >= 0; i-- {
		rest := values[i]
		for more := true; more; {
			var elem string
			if forwarded {
				rest, elem, more = nextForwarded(rest)
			} else {
				rest, elem, more = nextXFF(rest)
			}
			elem = strings.TrimSpace(elem)
			if elem == "" {
				continue
			}
			seen = true
			if forwarded {
				elem = forwardedFor(elem)
			}
			a, ok := parseHost(elem)
			if !ok {
				return netip.Addr{}, walkMalformed
			}
			if !r.Trusted(a) {
				return a, walkFound
			}
			last = a
		}
	}
	if !seen {
		return netip.Addr{}, walkEmpty
	}
	// Every hop was a trusted proxy: the leftmost is the client.
	return last, walkFound
}

// nextXFF splits off the rightmost comma-separated element of s (possibly
// empty); more reports whether rest still holds an element.
func nextXFF(s string) (rest, elem string, more bool) {
	i := strings.LastIndexByte(s, ',')
	if i < 0 {
		return "", s, false
	}
	return s[:i], s[i+1:], true
}

// malformed is an element that parseHost refuses.
const malformed = "\x00"

// nextForwarded splits off the rightmost forwarded-element of s (possibly
// empty); more reports whether rest still holds an element.
func nextForwarded(s string) (rest, elem string, more bool) {
	// Find the rightmost comma outside a quoted string, scanning from the
	// right: the trusted proxy's element is last, and nothing a client
	// put to its left (an unterminated quote, say) may change how it
	// parses.
	inQuote := false
	for i := len(s) - 1; i >= 0; i-- {
		switch s[i] {
		case '"':
			if !escapedAt(s, i) {
				inQuote = !inQuote
			}
		case ',':
			if !inQuote {
				return s[:i], s[i+1:], true
			}
		}
	}
	if inQuote {
		return "", malformed, false // unterminated quote in this element
	}
	return "", s, false
}

// forwardedFor returns the for= value of a non-empty forwarded-element
// (quotes removed), or a malformed marker when it has none: a hop without
// an address is an unknown hop.
func forwardedFor(elem string) string {
	for elem != "" {
		var pair string
		pair, elem, _ = strings.Cut(elem, ";")
		k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "for") {
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		if v == "" {
			return malformed
		}
		return v
	}
	return malformed
}

// escapedAt reports whether s[i] is preceded by an odd number of backslashes.
func escapedAt(s string, i int) bool {
	n := 0
	for j := i - 1; j >= 0 && s[j] == '\\'; j-- {
		n++
	}
	return n%2 == 1
}

// parseHost parses an address with an optional port: "1.2.3.4",
// "1.2.3.4:80", "2001:db8::1", "[2001:db8::1]", "[2001:db8::1]:80".
func parseHost(s string) (netip.Addr, bool) {
	if s == "" {
		return netip.Addr{}, false
	}
	if s[0] == '[' {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return netip.Addr{}, false
		}
		if tail := s[end+1:]; tail != "" && !validPort(tail) {
			return netip.Addr{}, false
		}
		s = s[1:end]
	} else if i := strings.IndexByte(s, ':'); i >= 0 && strings.IndexByte(s[i+1:], ':') < 0 {
		// exactly one colon: IPv4 with a port
		if !validPort(s[i:]) {
			return netip.Addr{}, false
		}
		s = s[:i]
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

func validPort(s string) bool {
	if len(s) < 2 || len(s) > 6 || s[0] != ':' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ParseRemoteAddr parses http.Request.RemoteAddr ("ip:port", or a bare ip as
// some test servers set it). The result is unmapped and zone-free, or the zero
// Addr when s is not an address.
func ParseRemoteAddr(s string) netip.Addr {
	if a, ok := parseIPv4Port(s); ok {
		return a
	}
	return parseRemoteAddrSlow(s)
}

func parseRemoteAddrSlow(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone("")
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone("")
	}
	return netip.Addr{}
}

// parseIPv4Port is a fast path for the usual RemoteAddr, "a.b.c.d:port".
// It accepts exactly what netip.ParseAddrPort accepts for that form (no
// leading zeros, octets up to 255, a decimal port up to 65535) and reports
// false for anything else, which then takes the general path.
func parseIPv4Port(s string) (netip.Addr, bool) {
	var ip [4]byte
	for k := range ip {
		if k > 0 {
			if s == "" || s[0] != '.' {
				return netip.Addr{}, false
			}
			s = s[1:]
		}
		var ok bool
		if ip[k], s, ok = parseOctet(s); !ok {
			return netip.Addr{}, false
		}
	}
	if s == "" || s[0] != ':' || !portNumber(s[1:]) {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4(ip), true
}

// parseOctet reads a decimal octet from the start of s and returns the
// rest. After a leading zero no digit is taken, so "01" fails at the
// separator that must follow.
func parseOctet(s string) (byte, string, bool) {
	if s == "" || s[0]-'0' > 9 {
		return 0, s, false
	}
	v, n := uint(s[0]-'0'), 1
	for v != 0 && n < 3 && n < len(s) && s[n]-'0' <= 9 {
		v = v*10 + uint(s[n]-'0')
		n++
	}
	return byte(v), s[n:], v <= 255
}

// portNumber reports whether s is a decimal port, 0 to 65535, as
// netip.ParseAddrPort reads it.
func portNumber(s string) bool {
	port := uint(0)
	for i := 0; i < len(s); i++ {
		d := s[i] - '0'
		if port = port*10 + uint(d); d > 9 || port > 65535 {
			return false
		}
	}
	return s != ""
}

// Prefix returns the network a client is keyed by: the address itself (/32)
// for IPv4 and its /64 for IPv6, since one IPv6 subscriber usually holds a
// whole /64. The zero Addr gives the zero Prefix.
func Prefix(a netip.Addr) netip.Prefix {
	if !a.IsValid() {
		return netip.Prefix{}
	}
	a = a.Unmap()
	if a.Is4() {
		return netip.PrefixFrom(a, 32)
	}
	p, _ := a.WithZone("").Prefix(64)
	return p
}

type ctxKey struct{}

// Handler resolves the client address once and stores it in the request
// context for later stages (From, FromRequest).
func (r *Resolver) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		a := r.ClientIP(req)
		next.ServeHTTP(w, req.WithContext(context.WithValue(req.Context(), ctxKey{}, a)))
	})
}

// From returns the address stored by Resolver.Handler.
func From(ctx context.Context) (netip.Addr, bool) {
	a, ok := ctx.Value(ctxKey{}).(netip.Addr)
	return a, ok
}

// FromRequest returns the address stored by Resolver.Handler, or, when that
// stage did not run, the request's RemoteAddr (no header is believed).
func FromRequest(req *http.Request) netip.Addr {
	if a, ok := From(req.Context()); ok {
		return a
	}
	return ParseRemoteAddr(req.RemoteAddr)
}

// WithAddr returns a context carrying a, for tests and non-HTTP transports.
func WithAddr(ctx context.Context, a netip.Addr) context.Context {
	return context.WithValue(ctx, ctxKey{}, a)
}
