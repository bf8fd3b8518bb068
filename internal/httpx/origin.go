package httpx

import "errors"

// MaxOriginLen bounds the origins ParseOrigin accepts. A serialized origin
// is a scheme, a host of at most 253 bytes and a port; anything longer is
// refused before any other work is done on it.
const MaxOriginLen = 320

// Origin is one origin in the form a browser sends it in the Origin header
// (the ASCII serialization of RFC 6454 §6.2 and the WHATWG URL standard):
// lowercase scheme://host[:port], without the scheme's default port.
type Origin struct {
	Scheme string // "https"
	Host   string // "app.example.com", or an IPv6 literal such as "[::1]"
	Port   string // "8443"; "" when the origin uses the scheme's default port
}

// EffectivePort returns the origin's port, or the scheme's default port
// (443 for https and wss, 80 for http and ws) when none is written, or ""
// for another scheme without one.
func (o Origin) EffectivePort() string {
	if o.Port != "" {
		return o.Port
	}
	return defaultPort(o.Scheme)
}

func defaultPort(scheme string) string {
	switch scheme {
	case "https", "wss":
		return "443"
	case "http", "ws":
		return "80"
	}
	return ""
}

// The reasons ParseOrigin gives. Each says what is wrong in words a
// configuration error can pass on.
var (
	ErrOriginEmpty     = errors.New("empty origin")
	ErrOriginTooLong   = errors.New("longer than any origin a browser sends")
	ErrOriginNull      = errors.New(`the "null" origin is shared by sandboxed iframes, file: pages and redirects; it cannot be trusted`)
	ErrOriginBytes     = errors.New("contains a space, a control character or a non-ASCII byte (use the punycode form)")
	ErrOriginForm      = errors.New(`want scheme://host[:port], for example "https://app.example.com"`)
	ErrOriginScheme    = errors.New("invalid scheme (a lowercase letter, then letters, digits, '+', '-' or '.')")
	ErrOriginOpaque    = errors.New(`this scheme has no origin of its own (browsers send "null")`)
	ErrOriginPath      = errors.New("an origin has no path, query, fragment or trailing slash")
	ErrOriginUserinfo  = errors.New("an origin has no userinfo")
	ErrOriginIPv6      = errors.New("invalid IPv6 literal")
	ErrOriginHost      = errors.New("invalid host name (lowercase letters, digits, '-' and '_' in dot-separated labels)")
	ErrOriginPort      = errors.New("invalid port")
	ErrOriginDefaultPt = errors.New("browsers omit the default port from the Origin header, so this would never match; drop the port")
)

// ParseOrigin parses s as a browser serializes an origin and reports the
// first rule it breaks. It accepts exactly what browsers send: a lowercase
// scheme with an origin of its own (not file:, data:, blob:, about: or
// javascript:), "://", a lowercase host name or an IPv6 literal, and a
// port only when it is not the scheme's default; no path, trailing slash,
// query, fragment or userinfo; "null" is refused. Case is not folded:
// callers that read configuration lowercase it first. ParseOrigin does not
// allocate; the parts of the result are substrings of s.
func ParseOrigin(s string) (Origin, error) {
	switch {
	case s == "":
		return Origin{}, ErrOriginEmpty
	case len(s) > MaxOriginLen:
		return Origin{}, ErrOriginTooLong
	case s == "null":
		return Origin{}, ErrOriginNull
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return Origin{}, ErrOriginBytes
		}
	}
	scheme, rest, err := splitScheme(s)
	if err != nil {
		return Origin{}, err
	}
	host, port, err := splitHostPort(rest)
	if err != nil {
		return Origin{}, err
	}
	if err := checkPort(scheme, port); err != nil {
		return Origin{}, err
	}
	return Origin{Scheme: scheme, Host: host, Port: port}, nil
}

// splitScheme checks the scheme and returns it with what follows "://".
func splitScheme(s string) (scheme, rest string, err error) {
	i := indexSep(s)
	if i < 0 {
		return "", "", ErrOriginForm
	}
	scheme, rest = s[:i], s[i+3:]
	if !validScheme(scheme) {
		return "", "", ErrOriginScheme
	}
	switch scheme {
	case "file", "data", "javascript", "blob", "about":
		return "", "", ErrOriginOpaque
	}
	for i := 0; i < len(rest); i++ {
		switch rest[i] {
		case '/', '?', '#':
			return "", "", ErrOriginPath
		case '@':
			return "", "", ErrOriginUserinfo
		}
	}
	return scheme, rest, nil
}

// indexSep returns the index of the first "://" in s, or -1.
func indexSep(s string) int {
	for i := 0; i+3 <= len(s); i++ {
		if s[i] == ':' && s[i+1] == '/' && s[i+2] == '/' {
			return i
		}
	}
	return -1
}

// splitHostPort splits "host[:port]" and checks the host.
func splitHostPort(rest string) (host, port string, err error) {
	host = rest
	hasPort := false
	if rest != "" && rest[0] == '[' {
		end := -1
		for i := 0; i < len(rest); i++ {
			if rest[i] == ']' {
				end = i
				break
			}
		}
		if end < 0 {
			return "", "", ErrOriginIPv6
		}
		host = rest[:end+1]
		if tail := rest[end+1:]; tail != "" {
			if tail[0] != ':' {
				return "", "", ErrOriginIPv6
			}
			port, hasPort = tail[1:], true
		}
		if !validIPv6Literal(host) {
			return "", "", ErrOriginIPv6
		}
	} else {
		for i := len(rest) - 1; i >= 0; i-- {
			if rest[i] == ':' {
				host, port, hasPort = rest[:i], rest[i+1:], true
				break
			}
		}
		if !validHostname(host) {
			return "", "", ErrOriginHost
		}
	}
	if hasPort && port == "" {
		return "", "", ErrOriginPort
	}
	return host, port, nil
}

// checkPort accepts "" or a decimal port 1-65535 without a leading zero
// that is not the scheme's default.
func checkPort(scheme, port string) error {
	if port == "" {
		return nil
	}
	if len(port) > 5 || port[0] == '0' {
		return ErrOriginPort
	}
	n := 0
	for i := 0; i < len(port); i++ {
		c := port[i]
		if c < '0' || c > '9' {
			return ErrOriginPort
		}
		n = n*10 + int(c-'0')
	}
	if n > 65535 {
		return ErrOriginPort
	}
	if port == defaultPort(scheme) {
		return ErrOriginDefaultPt
	}
	return nil
}

func validScheme(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// validHostname accepts dot-separated labels of 1 to 63 lowercase letters,
// digits, '-' and '_', at most 253 bytes in all.
func validHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	label := 0
	for i := 0; i < len(h); i++ {
		switch c := h[i]; {
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
			label++
			if label > 63 {
				return false
			}
		default:
			return false
		}
	}
	return label > 0
}

// validIPv6Literal accepts "[...]" holding lowercase hex digits, colons
// (at least two) and dots, as browsers serialize IPv6 hosts.
func validIPv6Literal(h string) bool {
	if len(h) < 4 || h[0] != '[' || h[len(h)-1] != ']' {
		return false
	}
	colons := 0
	for i := 1; i < len(h)-1; i++ {
		switch c := h[i]; {
		case c == ':':
			colons++
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c == '.':
		default:
			return false
		}
	}
	return colons >= 2
}
