package cors

import (
	"strconv"
	"strings"

	"github.com/covetgo/covet/errs"
)

// maxOriginLen bounds the Origin values the matcher looks at. A browser's
// serialized origin is a scheme, a host of at most 253 bytes and a port;
// anything longer is refused before any work is done on it.
const maxOriginLen = 320

// pattern is one parsed entry of Options.AllowedOrigins.
type pattern struct {
	scheme    string // "https"
	host      string // "app.example.com", or "example.com" for "*.example.com"
	port      string // "8443", "" for the scheme's default port
	subdomain bool   // "*." prefix: one or more labels in front of host
	anyPort   bool   // ":*" suffix: any port, or none
}

// parsePattern validates one configured origin and explains a refusal.
func parsePattern(raw string) (pattern, error) {
	var p pattern
	bad := func(why string) (pattern, error) {
		return p, errs.Configf("cors: allowed origin %q: %s", raw, why)
	}
	s := raw
	if s == "" {
		return bad("empty origin")
	}
	if strings.EqualFold(s, "null") {
		return bad(`the "null" origin is shared by sandboxed iframes, file: pages and redirects; it cannot be trusted`)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return bad("contains a space, a control character or a non-ASCII byte (use the punycode form)")
		}
	}
	s = strings.ToLower(s)
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return bad(`want scheme://host[:port], for example "https://app.example.com"`)
	}
	if !validScheme(scheme) {
		return bad("invalid scheme")
	}
	switch scheme {
	case "file":
		return bad("file: origins are opaque (browsers send \"null\") and cannot be allowed")
	case "data", "javascript", "blob", "about":
		return bad("this scheme has no origin of its own")
	}
	if strings.ContainsAny(rest, "/?#") {
		return bad("an origin has no path, query, fragment or trailing slash")
	}
	if strings.ContainsAny(rest, "@") {
		return bad("an origin has no userinfo")
	}
	host, port := rest, ""
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return bad("unterminated IPv6 literal")
		}
		host, port = rest[:end+1], rest[end+1:]
		if port != "" {
			if port[0] != ':' {
				return bad("garbage after the IPv6 literal")
			}
			port = port[1:]
			if port == "" {
				return bad("empty port")
			}
		}
		if !validIPv6Literal(host) {
			return bad("invalid IPv6 literal")
		}
	} else if i := strings.LastIndexByte(rest, ':'); i >= 0 {
		host, port = rest[:i], rest[i+1:]
		if port == "" {
			return bad("empty port")
		}
	}
	if port == "*" {
		p.anyPort = true
		port = ""
	} else if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] == '0' {
			return bad("invalid port")
		}
		if (scheme == "https" && n == 443) || (scheme == "http" && n == 80) {
			return bad("browsers omit the default port from the Origin header, so this entry would never match; drop the port")
		}
	}
	if rest, ok := strings.CutPrefix(host, "*."); ok {
		p.subdomain = true
		host = rest
		if strings.Count(host, ".") < 1 {
			return bad(`a wildcard needs a registrable domain after "*." (such as "*.example.com"), not a bare top-level domain`)
		}
	}
	if strings.Contains(host, "*") {
		return bad(`the only wildcards are one leading "*." label and a ":*" port; "*" anywhere else would let a suffix such as "evilexample.com" match`)
	}
	if !strings.HasPrefix(host, "[") && !validHostname(host) {
		return bad("invalid host name")
	}
	p.scheme, p.host, p.port = scheme, host, port
	return p, nil
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

// validHostname accepts dot-separated, non-empty labels of letters, digits,
// '-' and '_' (lowercase, as browsers serialize them), at most 253 bytes.
func validHostname(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	label := 0
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
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

func validIPv6Literal(h string) bool {
	if len(h) < 4 || h[0] != '[' || h[len(h)-1] != ']' {
		return false
	}
	colons := 0
	for i := 1; i < len(h)-1; i++ {
		c := h[i]
		switch {
		case c == ':':
			colons++
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c == '.':
		default:
			return false
		}
	}
	return colons >= 2
}

// matcher answers "is this Origin allowed" in time linear in the origin's
// length: one map lookup for exact entries, one for host-with-any-port
// entries, and for wildcard subdomains a walk of a label trie from the
// right, one map lookup per label.
type matcher struct {
	few     []string            // the exact entries when there are at most 4: compared directly
	exact   map[string]struct{} // "https://app.example.com:8443"
	anyPort map[string]struct{} // "http://localhost" for "http://localhost:*"
	wild    []wildGroup
}

// wildGroup holds the wildcard-subdomain entries sharing a scheme and port.
type wildGroup struct {
	scheme  string
	port    string
	anyPort bool
	root    *labelNode
}

// labelNode is one label of a reversed domain: root → "com" → "example".
// terminal marks a domain whose subdomains (not itself) are allowed.
type labelNode struct {
	children map[string]*labelNode
	terminal bool
}

func newMatcher(ps []pattern) *matcher {
	m := &matcher{exact: map[string]struct{}{}, anyPort: map[string]struct{}{}}
	for _, p := range ps {
		base := p.scheme + "://" + p.host
		switch {
		case p.subdomain:
			m.addWild(p)
		case p.anyPort:
			m.anyPort[base] = struct{}{}
		case p.port != "":
			m.exact[base+":"+p.port] = struct{}{}
		default:
			m.exact[base] = struct{}{}
		}
	}
	if len(m.exact) <= 4 {
		for o := range m.exact {
			m.few = append(m.few, o)
		}
		m.exact = nil
	}
	return m
}

func (m *matcher) addWild(p pattern) {
	var g *wildGroup
	for i := range m.wild {
		w := &m.wild[i]
		if w.scheme == p.scheme && w.port == p.port && w.anyPort == p.anyPort {
			g = w
			break
		}
	}
	if g == nil {
		m.wild = append(m.wild, wildGroup{scheme: p.scheme, port: p.port, anyPort: p.anyPort, root: &labelNode{}})
		g = &m.wild[len(m.wild)-1]
	}
	n := g.root
	rest := p.host
	for rest != "" {
		label := rest
		if i := strings.LastIndexByte(rest, '.'); i >= 0 {
			label, rest = rest[i+1:], rest[:i]
		} else {
			rest = ""
		}
		if n.children == nil {
			n.children = map[string]*labelNode{}
		}
		c := n.children[label]
		if c == nil {
			c = &labelNode{}
			n.children[label] = c
		}
		n = c
	}
	n.terminal = true
}

// allowed reports whether origin, exactly as the browser sent it, matches.
// Matching is case-sensitive: browsers serialize origins in lowercase, so an
// uppercase Origin did not come from one and is refused.
func (m *matcher) allowed(origin string) bool {
	if len(origin) > maxOriginLen {
		return false
	}
	for _, o := range m.few {
		if o == origin {
			return true
		}
	}
	if _, ok := m.exact[origin]; ok {
		return true
	}
	if len(m.anyPort) == 0 && len(m.wild) == 0 {
		return false
	}
	scheme, host, port, ok := splitOrigin(origin)
	if !ok {
		return false
	}
	if len(m.anyPort) > 0 {
		base := origin
		if port != "" {
			base = origin[:len(origin)-len(port)-1]
		}
		if _, ok := m.anyPort[base]; ok {
			return true
		}
	}
	for i := range m.wild {
		g := &m.wild[i]
		if g.scheme != scheme || (!g.anyPort && g.port != port) {
			continue
		}
		if g.matchSubdomain(host) {
			return true
		}
	}
	return false
}

// matchSubdomain walks host's labels from the right; it matches when a
// terminal node is reached with at least one valid label still in front.
func (g *wildGroup) matchSubdomain(host string) bool {
	if host == "" || host[0] == '[' || !validHostname(host) {
		return false
	}
	n := g.root
	rest := host
	for {
		i := strings.LastIndexByte(rest, '.')
		if i < 0 {
			return false // the whole host consumed: "example.com" itself is not a subdomain
		}
		n = n.children[rest[i+1:]]
		if n == nil {
			return false
		}
		rest = rest[:i]
		if n.terminal {
			return true
		}
	}
}

// splitOrigin splits a serialized origin into scheme, host and port without
// allocating. It does not validate the host's characters.
func splitOrigin(o string) (scheme, host, port string, ok bool) {
	i := strings.Index(o, "://")
	if i <= 0 {
		return "", "", "", false
	}
	scheme, rest := o[:i], o[i+3:]
	if rest == "" {
		return "", "", "", false
	}
	host = rest
	if rest[0] == '[' {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return "", "", "", false
		}
		host = rest[:end+1]
		if tail := rest[end+1:]; tail != "" {
			if tail[0] != ':' {
				return "", "", "", false
			}
			port = tail[1:]
		}
	} else if j := strings.LastIndexByte(rest, ':'); j >= 0 {
		host, port = rest[:j], rest[j+1:]
	}
	if port != "" || strings.HasSuffix(o, ":") {
		if port == "" || len(port) > 5 {
			return "", "", "", false
		}
		for k := 0; k < len(port); k++ {
			if port[k] < '0' || port[k] > '9' {
				return "", "", "", false
			}
		}
	}
	return scheme, host, port, true
}

// serializedOrigin reports whether o is one origin as a browser serializes
// it (lowercase scheme://host[:port], a valid host name or IPv6 literal, no
// default port) and returns its scheme.
func serializedOrigin(o string) (string, bool) {
	if len(o) > maxOriginLen {
		return "", false
	}
	scheme, host, port, ok := splitOrigin(o)
	if !ok || !validScheme(scheme) || host == "" {
		return "", false
	}
	if host[0] == '[' {
		if !validIPv6Literal(host) {
			return "", false
		}
	} else if !validHostname(host) {
		return "", false
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] == '0' ||
			(scheme == "https" && n == 443) || (scheme == "http" && n == 80) {
			return "", false
		}
	}
	return scheme, true
}
