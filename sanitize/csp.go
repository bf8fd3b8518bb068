package sanitize

import (
	"slices"
	"strings"

	"github.com/covetgo/covet/errs"
)

// Nonce is the CSP source that stands for the per-request nonce: the
// Headers stage replaces it with 'nonce-...' and puts the value in the
// request context (NonceFrom).
const Nonce = "'nonce-{covet}'"

// CSP builds a Content-Security-Policy. Directives keep the order they are
// added in; adding a directive twice appends sources to it. Errors (a bad
// directive name or a source holding ';', ',' or a control character) are
// reported by NewHeaders.
//
//	csp := sanitize.NewCSP().
//		Add("default-src", "'self'").
//		Add("script-src", "'self'", sanitize.Nonce).
//		Add("object-src", "'none'").
//		Add("base-uri", "'none'")
type CSP struct {
	dirs []cspDirective
	err  error
}

type cspDirective struct {
	name    string
	sources []string
}

// NewCSP returns an empty policy.
func NewCSP() *CSP { return &CSP{} }

// Add appends a directive, or sources to one already added.
func (c *CSP) Add(directive string, sources ...string) *CSP {
	name := strings.ToLower(directive)
	if !validDirective(name) {
		c.setErr(errs.Configf("sanitize: CSP directive %q is not a directive name", directive))
		return c
	}
	for _, s := range sources {
		if s == "" || strings.ContainsAny(s, ";,") || !clean(s, true) || strings.ContainsAny(s, " \t") {
			c.setErr(errs.Configf("sanitize: CSP source %q of %s is empty or holds ';', ',', whitespace or a control character", s, name))
			return c
		}
	}
	for i := range c.dirs {
		if c.dirs[i].name == name {
			c.dirs[i].sources = append(c.dirs[i].sources, sources...)
			return c
		}
	}
	c.dirs = append(c.dirs, cspDirective{name: name, sources: slices.Clone(sources)})
	return c
}

func (c *CSP) setErr(err error) {
	if c.err == nil {
		c.err = err
	}
}

func validDirective(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func (c *CSP) has(name string) bool {
	for _, d := range c.dirs {
		if d.name == name {
			return true
		}
	}
	return false
}

func (c *CSP) clone() *CSP {
	n := &CSP{err: c.err, dirs: make([]cspDirective, len(c.dirs))}
	for i, d := range c.dirs {
		n.dirs[i] = cspDirective{name: d.name, sources: slices.Clone(d.sources)}
	}
	return n
}

// String returns the policy as a header value (with the Nonce placeholder
// where a nonce goes).
func (c *CSP) String() string {
	var b strings.Builder
	for i, d := range c.dirs {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(d.name)
		for _, s := range d.sources {
			b.WriteByte(' ')
			b.WriteString(s)
		}
	}
	return b.String()
}
