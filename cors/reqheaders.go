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
			name, next, ok := nextName(l, i)
			if !ok {
				return false
			}
			i = next
			if names++; names > maxACRHNames || !s.allows(name) {
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
// name and where scanning goes on.
func nextName(l string, i int) (name string, next int, ok bool) {
	start := i
	for i < len(l) && httpx.IsTokenChar(l[i]) {
		i++
	}
	if i == start {
		return "", i, false // a byte that is neither a token byte, OWS nor a comma
	}
	name = l[start:i]
	for i < len(l) && (l[i] == ' ' || l[i] == '\t') {
		i++
	}
	if i < len(l) && l[i] != ',' {
		return "", i, false
	}
	return name, i, true
}

// allows reports whether the set holds name, compared case-insensitively,
// without allocating.
func (s *headerSet) allows(name string) bool {
	if s.all {
		return true
	}
	if len(name) > s.maxLen || len(name) > maxHeaderLen {
		return false
	}
	upper := false
	for i := 0; i < len(name); i++ {
		if c := name[i]; c >= 'A' && c <= 'Z' {
			upper = true
			break
		}
	}
	if !upper {
		_, ok := s.names[name]
		return ok
	}
	var buf [maxHeaderLen]byte
	n := copy(buf[:], name)
	for k := 0; k < n; k++ {
		if b := buf[k]; b >= 'A' && b <= 'Z' {
			buf[k] = b + ('a' - 'A')
		}
	}
	_, ok := s.names[string(buf[:n])]
	return ok
}
