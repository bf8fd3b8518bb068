package sanitize

import (
	"github.com/microcosm-cc/bluemonday"

	"github.com/covetgo/covet/errs"
)

// Preset names a built-in HTML policy.
type Preset uint8

const (
	// PresetStrictText removes every tag and keeps the text, escaped: for
	// names, titles and anything shown as plain text.
	PresetStrictText Preset = iota
	// PresetUGC is bluemonday's UGCPolicy as it is: the formatting a
	// comment or a post needs (paragraphs, headings, lists, links, tables,
	// quotes, images) without scripts, styles, event handlers, forms,
	// frames or unsafe URLs; links get rel="nofollow". It also keeps what
	// suits trusted authors better than strangers: id attributes on every
	// element, which let the content clobber DOM names the page's own
	// scripts look up (window.config, document.getElementById), image maps
	// with their name and usemap attributes, and <img> from any http(s)
	// address, which lets a post load a tracking pixel that learns each
	// reader's IP address and when they read. Prefer PresetUserContent for
	// content from untrusted users.
	PresetUGC
	// PresetUserContent is PresetUGC without id attributes and image maps,
	// and without images unless HTMLOptions.ImageOrigins names where they
	// may come from. Links also get rel="noreferrer", so following one does
	// not tell the target which page it was on.
	PresetUserContent
)

// HTMLOptions configures an HTML sanitizer. Zero limits take the defaults
// shown.
type HTMLOptions struct {
	// Preset chooses the built-in policy; the zero value is the strict one.
	Preset Preset
	// Policy, when set, replaces the preset. It must not be changed after
	// it is passed here (bluemonday policies are safe for concurrent use
	// only once they stop changing).
	Policy *bluemonday.Policy
	// MaxBytes caps the input. 0: 64 KiB.
	MaxBytes int
	// MaxTags caps the number of '<' in the input. 0: 4096.
	MaxTags int
	// MaxAttributes caps the attributes of one tag. 0: 32.
	MaxAttributes int
	// ImageOrigins lists the origins ("https://img.example.com": scheme,
	// host and optional port, no path) from which PresetUserContent keeps
	// <img src>; images from anywhere else, relative ones included, are
	// removed. Empty: no images. Only PresetUserContent takes it.
	ImageOrigins []string
}

// HTML sanitizes untrusted HTML with a bluemonday policy built once. Input
// is checked against the size and shape limits before bluemonday sees it,
// so a hostile document costs time linear in MaxBytes with a small
// constant: the parser's cost grows with the number of tags and of
// attributes per tag, and those are what the limits bound.
type HTML struct {
	p        *bluemonday.Policy
	maxBytes int
	maxTags  int
	maxAttrs int
}

// Errors of HTML.Sanitize.
var (
	ErrHTMLTooLarge   = errs.New(errs.KindPayloadTooLarge, "html_too_large", "The HTML is too large.")
	ErrHTMLTooComplex = errs.New(errs.KindBadRequest, "html_too_complex", "The HTML has too many tags or attributes.")
)

// NewHTML validates o and builds the policy.
func NewHTML(o HTMLOptions) (*HTML, error) {
	if o.MaxBytes < 0 || o.MaxTags < 0 || o.MaxAttributes < 0 {
		return nil, errs.Configf("sanitize: negative HTML limit")
	}
	if len(o.ImageOrigins) > 0 && (o.Policy != nil || o.Preset != PresetUserContent) {
		return nil, errs.Configf("sanitize: HTMLOptions.ImageOrigins applies to PresetUserContent only")
	}
	h := &HTML{p: o.Policy, maxBytes: o.MaxBytes, maxTags: o.MaxTags, maxAttrs: o.MaxAttributes}
	if h.p == nil {
		switch o.Preset {
		case PresetStrictText:
			h.p = bluemonday.StrictPolicy()
		case PresetUGC:
			h.p = bluemonday.UGCPolicy()
		case PresetUserContent:
			p, err := userContentPolicy(o.ImageOrigins)
			if err != nil {
				return nil, err
			}
			h.p = p
		default:
			return nil, errs.Configf("sanitize: unknown HTML preset %d", o.Preset)
		}
	}
	if h.maxBytes == 0 {
		h.maxBytes = 64 << 10
	}
	if h.maxTags == 0 {
		h.maxTags = 4096
	}
	if h.maxAttrs == 0 {
		h.maxAttrs = 32
	}
	return h, nil
}

// Sanitize returns s with everything the policy does not allow removed, or
// ErrHTMLTooLarge (413) / ErrHTMLTooComplex (400) without sanitizing.
func (h *HTML) Sanitize(s string) (string, error) {
	if err := h.Check(s); err != nil {
		return "", err
	}
	return h.p.Sanitize(s), nil
}

// isAttrSeparator reports the bytes that separate attributes in a tag:
// HTML whitespace and '/'.
func isAttrSeparator(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '/'
}

// Check applies the size and shape limits only, in one pass.
func (h *HTML) Check(s string) error {
	if len(s) > h.maxBytes {
		return ErrHTMLTooLarge
	}
	tags, attrs := 0, 0
	inTag, inQuote, prevSpace := false, byte(0), false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inQuote != 0:
			if c == inQuote {
				inQuote = 0
			}
		case c == '<':
			if tags++; tags > h.maxTags {
				return ErrHTMLTooComplex
			}
			inTag, attrs, prevSpace = true, 0, false
		case !inTag:
		case c == '>':
			inTag = false
		case c == '"' || c == '\'':
			inQuote = c
		case isAttrSeparator(c):
			prevSpace = true
		default:
			if prevSpace {
				if attrs++; attrs > h.maxAttrs {
					return ErrHTMLTooComplex
				}
			}
			prevSpace = false
		}
	}
	return nil
}
