package cors

import "github.com/covetgo/covet/internal/httpx"

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

// headerSet is the set of allowed request-header names, lowercase.
type headerSet struct {
	names  map[string]struct{}
	all    bool // "*": any syntactically valid name
	maxLen int
}

// acceptsRequestHeaders reports whether every name listed in the
// Access-Control-Request-Headers field lines is allowed. Names may come in
// any order and case, over several lines, with any optional whitespace and
// empty list elements. Work is bounded by maxACRHBytes before anything is
// scanned, and nothing is allocated.
func (s *headerSet) acceptsRequestHeaders(lines []string) bool {
	if len(lines) > maxACRHLines {
		return false
	}
	total := 0
	for _, l := range lines {
		total += len(l)
	}
	if total > maxACRHBytes {
		return false
	}
	names := 0
	var buf [maxHeaderLen]byte
	for _, l := range lines {
		for i := 0; i < len(l); {
			// Skip separators and optional whitespace.
			c := l[i]
			if c == ',' || c == ' ' || c == '\t' {
				i++
				continue
			}
			start := i
			upper := false
			for i < len(l) && httpx.IsTokenChar(l[i]) {
				if l[i] >= 'A' && l[i] <= 'Z' {
					upper = true
				}
				i++
			}
			if i == start {
				return false // a byte that is neither a token byte, OWS nor a comma
			}
			// After a name: optional whitespace, then a comma or the end.
			name := l[start:i]
			for i < len(l) && (l[i] == ' ' || l[i] == '\t') {
				i++
			}
			if i < len(l) && l[i] != ',' {
				return false
			}
			names++
			if names > maxACRHNames {
				return false
			}
			if s.all {
				continue
			}
			if len(name) > s.maxLen || len(name) > maxHeaderLen {
				return false
			}
			if upper {
				n := copy(buf[:], name)
				for k := 0; k < n; k++ {
					if b := buf[k]; b >= 'A' && b <= 'Z' {
						buf[k] = b + ('a' - 'A')
					}
				}
				if _, ok := s.names[string(buf[:n])]; !ok {
					return false
				}
				continue
			}
			if _, ok := s.names[name]; !ok {
				return false
			}
		}
	}
	return true
}
