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

// maxSessionCookies bounds how many cookies of the session's name a request
// is searched for. A sibling subdomain can plant cookies of the same name
// that the browser sends first (cookie tossing), so the stage looks past
// the first, but no further than this: a header with thousands of them
// costs no more than a few signature checks.
const maxSessionCookies = 4

// cookieValues returns, in header order, the values of the first
// maxSessionCookies cookies called name in r's Cookie headers that are not
// empty and not longer than maxCookieValue, without allocating.
// Surrounding double quotes are removed.
func cookieValues(r *http.Request, name string) (vals [maxSessionCookies]string, n int) {
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
				continue
			}
			vals[n] = v
			if n++; n == maxSessionCookies {
				return vals, n
			}
		}
	}
	return vals, n
}

// cookieValue returns the first of cookieValues.
func cookieValue(r *http.Request, name string) (string, bool) {
	vals, n := cookieValues(r, name)
	return vals[0], n > 0
}

// hasPrefixFold reports whether s begins with prefix, ignoring ASCII case,
// as browsers compare the __Host- and __Secure- cookie prefixes.
func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
