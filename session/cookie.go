package session

import (
	"encoding/json"
	"net/http"
	"strings"
)

type mapRaw = map[string]json.RawMessage

// encodeValue encodes a session value as JSON; json.RawMessage values (read
// from the store and set back) pass through once validated.
func encodeValue(v any) (json.RawMessage, error) {
	if raw, ok := v.(json.RawMessage); ok && json.Valid(raw) {
		return raw, nil
	}
	return json.Marshal(v)
}

// cookieValue finds the first cookie called name in r's Cookie headers
// without allocating. Surrounding double quotes are removed; values longer
// than maxCookieValue are ignored.
func cookieValue(r *http.Request, name string) (string, bool) {
	for _, line := range r.Header["Cookie"] {
		for len(line) > 0 {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimSpace(part)
			if len(part) <= len(name) || part[len(name)] != '=' || part[:len(name)] != name {
				continue
			}
			v := part[len(name)+1:]
			if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			if v == "" || len(v) > maxCookieValue {
				return "", false
			}
			return v, true
		}
	}
	return "", false
}

// hasPrefixFold reports whether s begins with prefix, ignoring ASCII case,
// as browsers compare the __Host- and __Secure- cookie prefixes.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
