package cors

import (
	"strings"

	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/internal/httpx"
)

// pattern is one parsed entry of Options.AllowedOrigins.
type pattern struct {
	scheme    string // "https"
	host      string // "app.example.com", or "example.com" for "*.example.com"
	port      string // "8443", "" for the scheme's default port
	subdomain bool   // "*." prefix: one or more labels in front of host
	anyPort   bool   // ":*" suffix: any port, or none
}

// parsePattern validates one configured origin and explains a refusal.
// Apart from its two wildcards, an entry follows the rules of a browser's
// Origin header (httpx.ParseOrigin), after lowercasing.
func parsePattern(raw string) (pattern, error) {
	var p pattern
	bad := func(why string) (pattern, error) {
		return pattern{}, errs.Configf("cors: allowed origin %q: %s", raw, why)
	}
	s := strings.ToLower(raw)
	if scheme, rest, ok := strings.Cut(s, "://"); ok {
		rest, p.subdomain = strings.CutPrefix(rest, "*.")
		rest, p.anyPort = strings.CutSuffix(rest, ":*")
		s = scheme + "://" + rest
	}
	if strings.Contains(s, "*") {
		return bad(`the only wildcards are one leading "*." label and a ":*" port; "*" anywhere else would let a suffix such as "evilexample.com" match`)
	}
	o, err := httpx.ParseOrigin(s)
	if err != nil {
		return bad(err.Error())
	}
	switch {
	case p.subdomain && (o.Host[0] == '[' || !strings.Contains(o.Host, ".")):
		return bad(`a wildcard needs a registrable domain after "*." (such as "*.example.com"), not a bare top-level domain or an IP address`)
	case p.anyPort && o.Port != "":
		return bad(`a ":*" port after a port`)
	}
	p.scheme, p.host, p.port = o.Scheme, o.Host, o.Port
	return p, nil
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
	if len(origin) > httpx.MaxOriginLen {
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
	o, err := httpx.ParseOrigin(origin)
	if err != nil {
		return false
	}
	return m.anyPortAllows(origin, o) || m.wildAllows(o)
}

// anyPortAllows matches origin against the ":*" entries.
func (m *matcher) anyPortAllows(origin string, o httpx.Origin) bool {
	if len(m.anyPort) == 0 {
		return false
	}
	base := origin
	if o.Port != "" {
		base = origin[:len(origin)-len(o.Port)-1]
	}
	_, ok := m.anyPort[base]
	return ok
}

// wildAllows matches o against the "*." entries.
func (m *matcher) wildAllows(o httpx.Origin) bool {
	for i := range m.wild {
		g := &m.wild[i]
		if g.scheme == o.Scheme && (g.anyPort || g.port == o.Port) && g.matchSubdomain(o.Host) {
			return true
		}
	}
	return false
}

// matchSubdomain walks the labels of a valid host from the right; it
// matches when a terminal node is reached with at least one label still in
// front.
func (g *wildGroup) matchSubdomain(host string) bool {
	if host[0] == '[' {
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
