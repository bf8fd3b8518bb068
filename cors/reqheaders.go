package cors

import (
	"slices"
	"strings"

	"github.com/covetgo/covet/internal/httpx"
)

// Limits on Access-Control-Request-Headers. A browser sends one line of
// lowercase names; the limits leave room for proxies that split or pad the
// field while keeping hostile input cheap: anything beyond them is refused
// without being scanned.
const (
	maxACRHLines = 16   // field lines
	maxACRHBytes = 2048 // bytes over all lines
	maxACRHNames = 64   // non-empty names
	maxHeaderLen = 128  // bytes of one name
)

// maxFewHeaders is the size up to which a headerSet compares names
// directly: cheaper than hashing for the few headers most policies allow.
const maxFewHeaders = 8

// headerSet is the set of allowed request-header names, lowercase.
type headerSet struct {
	few    []string            // the names, when names is nil
	names  map[string]struct{} // the names, when there are more than maxFewHeaders
	all    bool                // "*": any syntactically valid name
	maxLen int
}

// add puts a lowercase name in the set.
func (s *headerSet) add(name string) {
	s.maxLen = max(s.maxLen, len(name))
	switch {
	case s.names != nil:
		s.names[name] = struct{}{}
	case slices.Contains(s.few, name):
	case len(s.few) < maxFewHeaders:
		s.few = append(s.few, name)
	default:
		s.names = make(map[string]struct{}, 2*maxFewHeaders)
		for _, n := range s.few {
			s.names[n] = struct{}{}
		}
		s.names[name] = struct{}{}
		s.few = nil
	}
}

// acceptsRequestHeaders reports whether every name listed in the
// Access-Control-Request-Headers field lines is allowed. Names may come in
// any order and case, over several lines, with any optional whitespace and
// empty list elements. Work is bounded by maxACRHBytes before anything is
// scanned, and nothing is allocated.
func (s *headerSet) acceptsRequestHeaders(lines []string) bool {
	if !withinBounds(lines) {
		return false
	}
	names := 0
	for _, l := range lines {
		for l != "" {
			var item string
			item, l, _ = strings.Cut(l, ",")
			item = trimOWS(item)
			if item == "" {
				continue
			}
			if names++; names > maxACRHNames {
				return false
			}
			// The set holds only valid lowercase names, so an exact hit
			// needs no further check: the form browsers send.
			if !s.all && s.has(item) {
				continue
			}
			if !s.allows(item) {
				return false
			}
		}
	}
	return true
}

// trimOWS removes optional whitespace (spaces and tabs) around s.
func trimOWS(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// withinBounds checks the number of lines and bytes before anything is
// scanned.
func withinBounds(lines []string) bool {
	if len(lines) > maxACRHLines {
		return false
	}
	total := 0
	for _, l := range lines {
		total += len(l)
	}
	return total <= maxACRHBytes
}

// allows reports whether name is a valid header name that the set holds,
// compared case-insensitively, without allocating.
func (s *headerSet) allows(name string) bool {
	if !httpx.IsToken(name) {
		return false
	}
	if s.all {
		return true
	}
	if len(name) > s.maxLen || len(name) > maxHeaderLen {
		return false
	}
	var buf [maxHeaderLen]byte
	n := copy(buf[:], name)
	for k := 0; k < n; k++ {
		if b := buf[k]; b >= 'A' && b <= 'Z' {
			buf[k] = b + ('a' - 'A')
		}
	}
	return s.has(string(buf[:n]))
}

// has reports whether the set holds name, which is lowercase.
func (s *headerSet) has(name string) bool {
	if s.names == nil {
		return slices.Contains(s.few, name)
	}
	_, ok := s.names[name]
	return ok
}
