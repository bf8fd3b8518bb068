package cors

import (
	"slices"

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
		for i := 0; i < len(l); {
			if c := l[i]; c == ',' || c == ' ' || c == '\t' {
				i++ // separators and optional whitespace
				continue
			}
			name, next, upper, ok := nextName(l, i)
			if !ok {
				return false
			}
			i = next
			if names++; names > maxACRHNames || !s.allows(name, upper) {
				return false
			}
		}
	}
	return true
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

// nextName reads the name that starts at l[i] and the optional whitespace
// after it, which must end the line or come before a comma. It returns the
// name, where scanning goes on, and whether the name has uppercase letters.
func nextName(l string, i int) (name string, next int, upper, ok bool) {
	start := i
	for ; i < len(l) && httpx.IsTokenChar(l[i]); i++ {
		if l[i] <= 'Z' && l[i] >= 'A' {
			upper = true
		}
	}
	if i == start {
		return "", i, false, false // a byte that is neither a token byte, OWS nor a comma
	}
	name = l[start:i]
	for i < len(l) && (l[i] == ' ' || l[i] == '\t') {
		i++
	}
	if i < len(l) && l[i] != ',' {
		return "", i, false, false
	}
	return name, i, upper, true
}

// allows reports whether the set holds name, compared case-insensitively,
// without allocating; upper says whether name has uppercase letters.
func (s *headerSet) allows(name string, upper bool) bool {
	if s.all {
		return true
	}
	if len(name) > s.maxLen || len(name) > maxHeaderLen {
		return false
	}
	if !upper {
		return s.has(name)
	}
	var buf [maxHeaderLen]byte
	n := copy(buf[:], name)
	for k := 0; k < n; k++ {
		if b := buf[k]; b >= 'A' && b <= 'Z' {
			buf[k] = b + ('a' - 'A')
		}
	}
	if s.names != nil {
		_, ok := s.names[string(buf[:n])]
		return ok
	}
	for _, f := range s.few {
		if string(buf[:n]) == f {
			return true
		}
	}
	return false
}

// has reports whether the set holds name, which is lowercase.
func (s *headerSet) has(name string) bool {
	if s.names == nil {
		return slices.Contains(s.few, name)
	}
	_, ok := s.names[name]
	return ok
}
