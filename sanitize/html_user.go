package sanitize

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/microcosm-cc/bluemonday"

	"github.com/covetgo/covet/errs"
)

// userContentPolicy builds PresetUserContent: bluemonday's UGC set of
// elements and attributes without the global id, without image maps, and
// with images only from the given origins.
func userContentPolicy(imageOrigins []string) (*bluemonday.Policy, error) {
	p := bluemonday.NewPolicy()

	// Global attributes: no id (DOM clobbering), no class or style.
	p.AllowAttrs("dir").Matching(bluemonday.Direction).Globally()
	p.AllowAttrs("lang").Matching(regexp.MustCompile(`^[a-zA-Z]{2,20}(-[a-zA-Z0-9]{1,8})*$`)).Globally()
	p.AllowAttrs("title").Matching(bluemonday.Paragraph).Globally()

	// URLs: http, https and mailto, relative ones, parseable, and links
	// that pass neither ranking nor the referring page on.
	p.AllowStandardURLs()
	p.RequireNoReferrerOnLinks(true)

	// Structure and text.
	p.AllowElements("article", "aside", "figure", "section", "summary", "hgroup",
		"h1", "h2", "h3", "h4", "h5", "h6", "br", "div", "hr", "p", "span", "wbr",
		"abbr", "acronym", "cite", "code", "dfn", "em", "figcaption", "mark", "s", "samp",
		"strong", "sub", "sup", "var", "b", "i", "pre", "small", "strike", "tt", "u",
		"rp", "rt", "ruby")
	p.AllowAttrs("open").Matching(regexp.MustCompile(`(?i)^(|open)$`)).OnElements("details")
	p.AllowAttrs("cite").OnElements("blockquote", "q")
	p.AllowElements("blockquote", "q")
	p.AllowAttrs("href").OnElements("a")
	p.AllowAttrs("datetime").Matching(bluemonday.ISO8601).OnElements("time", "del", "ins")
	p.AllowElements("time", "del", "ins")
	p.AllowAttrs("cite").Matching(bluemonday.Paragraph).OnElements("del", "ins")
	p.AllowAttrs("dir").Matching(bluemonday.Direction).OnElements("bdi", "bdo")
	p.AllowLists()
	p.AllowTables()
	p.AllowAttrs("value", "min", "max", "low", "high", "optimum").Matching(bluemonday.Number).OnElements("meter")
	p.AllowAttrs("value", "max").Matching(bluemonday.Number).OnElements("progress")

	if len(imageOrigins) == 0 {
		return p, nil
	}
	alts := make([]string, 0, len(imageOrigins))
	for _, o := range imageOrigins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
			u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(u.Host, `\%`) {
			return nil, errs.Configf("sanitize: HTMLOptions.ImageOrigins entry %q is not an origin such as https://img.example.com", o)
		}
		alts = append(alts, regexp.QuoteMeta(u.Scheme+"://"+strings.ToLower(u.Host)))
	}
	// The origin, then a path: "https://img.example.com.evil.test/" and
	// "https://img.example.com@evil.test/" do not match.
	src := regexp.MustCompile(`^(?:` + strings.Join(alts, "|") + `)/[^\s\\]*$`)
	p.AllowAttrs("src").Matching(src).OnElements("img")
	p.AllowAttrs("alt").Matching(bluemonday.Paragraph).OnElements("img")
	p.AllowAttrs("height", "width").Matching(bluemonday.NumberOrPercent).OnElements("img")
	return p, nil
}
