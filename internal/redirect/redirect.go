// Package redirect holds the one check every package uses before it sends
// a user-supplied path to a browser in a Location header, so that "after
// login, go back to ..." can never become a redirect to another site.
//
// The check is deliberately narrower than what browsers accept: it refuses
// anything that a browser, a decoding proxy, or http.Redirect's own path
// cleaning could turn into a scheme-relative reference ("//host", "/\host"),
// and everything whose meaning differs between parsers (backslashes,
// control characters, whitespace, invalid UTF-8).
package redirect

import (
	"net/url"
	"path"
	"strings"
	"unicode/utf8"
)

// MaxLen is the longest target LocalPath accepts.
const MaxLen = 2048

// LocalPath reports whether p is a path on this site that is safe to put
// in a Location header, as is or after http.Redirect cleans it: it starts
// with one "/", and neither p, nor p with its percent-escapes decoded once,
// nor p's dot segments removed, can be read as "//host" or "/\host".
//
// Decoded once, p may hold spaces ("/a%20b" is fine) but no control
// character or backslash.
//
// Refused outright: backslashes anywhere (browsers read them as "/" and
// http.Redirect's cleaning can move one to the front: "/./\host" becomes
// "/\host"), encoded slashes and backslashes at the start ("/%2f"), control
// characters and spaces of any kind (browsers delete tabs and newlines, so
// "/\t/host" is "//host"), Unicode slash look-alikes, bidi controls and
// invalid UTF-8.
func LocalPath(p string) bool {
	if len(p) == 0 || len(p) > MaxLen || p[0] != '/' || !SafeChars(p) || strings.HasPrefix(p, "//") {
		return false
	}
	return decodedLocal(p) && cleanedLocal(p) && relativeReference(p)
}

// decodedLocal reports whether p, decoded once, is still a local path free
// of control characters and backslashes.
func decodedLocal(p string) bool {
	d, err := url.PathUnescape(p)
	return err == nil && !strings.HasPrefix(d, "//") &&
		!strings.ContainsFunc(d, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' })
}

// cleanedLocal reports whether the path part of p, as http.Redirect
// cleans it (and that form decoded once), is still a local path.
func cleanedLocal(p string) bool {
	pp, _, _ := strings.Cut(p, "?")
	c := path.Clean(pp)
	if strings.HasPrefix(c, "//") {
		return false
	}
	dc, err := url.PathUnescape(c)
	return err == nil && !strings.HasPrefix(dc, "//")
}

// relativeReference reports whether p parses as a URL with no scheme,
// host, user or opaque part.
func relativeReference(p string) bool {
	u, err := url.Parse(p)
	return err == nil && u.Scheme == "" && u.Host == "" && u.User == nil && u.Opaque == ""
}

// SafeChars reports whether s is valid UTF-8 free of what URL parsers
// disagree about: ASCII control characters, space, backslash, DEL, C1
// controls, Unicode spaces, line and paragraph separators, bidi controls,
// and look-alikes of "/" and "\".
func SafeChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c == 0x7f || c == '\\' {
			return false
		}
		if c >= 0x80 {
			return safeRunes(s[i:])
		}
	}
	return true
}

func safeRunes(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		switch {
		case r < 0x80:
			if r <= ' ' || r == 0x7f || r == '\\' {
				return false
			}
		case r <= 0xa0, // C1 controls, NBSP
			r == 0x061c, r == 0x1680, r == 0x180e,
			r >= 0x2000 && r <= 0x200f, // spaces, zero-width, LRM/RLM
			r >= 0x2028 && r <= 0x202f, // separators, bidi embeddings, narrow NBSP
			r >= 0x205f && r <= 0x206f, // math space, invisible operators, bidi isolates
			r == 0x3000, r == 0xfeff,
			r == 0x2044, r == 0x2215, r == 0x2216, r == 0x29f5, r == 0x29f8, r == 0x29f9, // fraction slash, division slash, set minus, solidi
			r == 0xfe68, r == 0xff0f, r == 0xff3c, // small and fullwidth solidus / reverse solidus
			r == 0xfffd:
			return false
		}
	}
	return true
}
