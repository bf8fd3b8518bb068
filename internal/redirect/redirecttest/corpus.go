// Package redirecttest provides the corpus of return-to and redirect
// targets the project's tests hold its redirect check against, and a model
// of how a browser resolves a Location header.
package redirecttest

import (
	"net/url"
	"strings"
)

// EvilHost is the foreign host the corpus tries to reach.
const EvilHost = "evil.example"

// Handpicked are targets found or published as open-redirect shapes.
var Handpicked = []string{
	"//evil.example", "///evil.example", "////evil.example", `/\evil.example`, `\\evil.example`, `\/evil.example`,
	`/\/evil.example`, `/./\evil.example`, `/.\evil.example`, `/..\evil.example`, `/../\evil.example`, `/a/../\evil.example`,
	`/a/..\/evil.example`, `/./.\/evil.example`, "/.//evil.example", "/..//evil.example", "/a/..//evil.example",
	"/%2f/evil.example", "/%2F%2Fevil.example", "/%5cevil.example", "/%5Cevil.example", "/%2f%5cevil.example",
	"/%252f/evil.example", "/.%2f/evil.example", "/%2e/%2fevil.example", "/%2e%2e/%2f/evil.example",
	"/\t/evil.example", "/\n/evil.example", "/\r/evil.example", "/\t\\evil.example", "/%09/evil.example", "/%0a/evil.example",
	"/ /evil.example", " //evil.example", "\t//evil.example", "/\x00/evil.example", "/\x0b/evil.example", "/\x7f/evil.example",
	"/\u00a0/evil.example", "/\u3000/evil.example", "/\u200b/evil.example", "/\ufeff/evil.example", "/\u2028/evil.example",
	"/\uff0fevil.example", "/\uff3cevil.example", "/\u2215evil.example", "/\u2044evil.example", "/\u202e/evil.example",
	"https://evil.example", "https:evil.example", "https:/evil.example", "https:\\\\evil.example", "HTTPS://evil.example",
	"http://evil.example", "//evil.example@app.test", "/@evil.example", "@evil.example", "evil.example", "//evil%2eexample",
	"javascript:alert(1)", "JaVaScRiPt:alert(1)", "java\tscript:alert(1)", "data:text/html,<script>alert(1)</script>",
	"/?next=//evil.example", "/#//evil.example", "/a?\\evil.example", "/a#\\evil.example", "/.?/../\\evil.example",
	"/a/b/../../..//evil.example", "/\xff/evil.example", "/%ff/evil.example", "/%/evil.example",
	// Same-site paths that must keep working.
	"/", "/dashboard", "/a/b?c=d#e", "/notes/42?tab=edit", "/caf\u00e9", "/a%20b", "/a/../b", "/./x", "/@me", "/a:b",
}

// parts are the pieces Generated combines.
var parts = []string{
	"/", `\`, ".", "..", "./", "../", `.\`, `..\`, "%2f", "%2F", "%5c", "%5C", "%2e", "%2e%2e", "%252f",
	"\t", "\n", "\r", " ", "%09", "%0a", "%00", "\u3000", "\uff0f", "\uff3c", "@", ":", "?", "#", ";",
}

// Generated returns every "/" + a + b + "evil.example" and
// "/" + a + b + c + "evil.example" for a, b, c among a set of separators,
// dots, escapes, controls and look-alikes (some 27,000 targets) when long
// is true, or only the two-part combinations (900) otherwise.
func Generated(long bool) []string {
	var out []string
	for _, a := range parts {
		for _, b := range parts {
			out = append(out, "/"+a+b+EvilHost)
			if long {
				for _, c := range parts {
					out = append(out, "/"+a+b+c+EvilHost)
				}
			}
		}
	}
	return out
}

// Corpus returns Handpicked followed by Generated(false).
func Corpus() []string {
	return append(append([]string(nil), Handpicked...), Generated(false)...)
}

// BrowserHost approximates how a browser resolves a Location value against
// base (the WHATWG URL parser for special schemes): leading and trailing
// C0 controls and spaces are trimmed, tabs and newlines are deleted
// anywhere, backslashes read as slashes, and a "%" that starts no escape
// is kept as a literal "%". It returns the resulting
// host (lowercased, with port) and whether the result is an http(s) URL.
func BrowserHost(base *url.URL, location string) (host string, web bool) {
	t := strings.TrimFunc(location, func(r rune) bool { return r <= ' ' })
	t = strings.NewReplacer("\t", "", "\n", "", "\r", "", `\`, "/").Replace(t)
	u, err := base.Parse(escapeStrayPercent(t))
	if err != nil {
		return "", false
	}
	s := strings.ToLower(u.Scheme)
	return strings.ToLower(u.Host), s == "https" || s == "http"
}

func escapeStrayPercent(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && !(i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2])) {
			b.WriteString("%25")
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
