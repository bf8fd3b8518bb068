package sanitize

import (
	"net/http"
	"unicode/utf8"

	"github.com/covetgo/covet/errs"
)

// ScreenOptions sets the limits of the request-screening stage. Zero fields
// take the defaults shown.
type ScreenOptions struct {
	// MaxURLBytes caps the request target (path and query as sent). 0: 4096.
	MaxURLBytes int
	// MaxQueryParams caps the number of query parameters. 0: 64.
	MaxQueryParams int
	// AllowEncodedSlash accepts %2F and %5C in the path. Off by default:
	// an encoded slash is one path segment to one component and two to
	// the next, which is how traversal slips past prefix checks.
	AllowEncodedSlash bool
}

// Screen refuses requests that no legitimate client sends and that later
// stages may interpret differently. Each refusal is a 400 problem+json with
// its own code. What is refused depends on the component, because each is
// decoded differently downstream:
//
//   - Path (decoded once by net/http, matched escaped or decoded by
//     routers, often joined to file names): invalid UTF-8, every control
//     character (raw or percent-encoded, NUL, CR and LF included), "." and
//     ".." segments (also when percent-encoded, "%2e%2e", or followed by
//     ";"), backslashes, encoded slashes ("%2F", unless
//     ScreenOptions.AllowEncodedSlash), malformed escapes, and any double
//     encoding: a decoded "%" followed by two hex digits, whether those are
//     sent as they are ("%252e") or encoded too ("%25%32%65"), so a second
//     decoding can never change the path.
//   - Query (decoded once per key and value): invalid UTF-8, malformed
//     escapes, raw control characters, and encoded ones except "%09",
//     "%0A" and "%0D", which a multi-line text area of a GET form sends;
//     "%00" and the other controls stay refused. A parameter holding a URL
//     with escapes of its own is ordinary (next=%2Fsearch%3Fq%3D%25C3%25A9),
//     so double encoding is refused only where the second decoding yields a
//     control character, ".", "\\", "%" or a byte that never occurs in
//     UTF-8 ("%252e", "%2500", "%25%32%65", "%25C0%25AE"), or a "/" in a
//     parameter that also holds ".." ("..%252Fetc").
//   - Header fields (never percent-decoded): control characters other than
//     tab in a value. net/http already refuses them on its own connections;
//     the screen holds requests from other sources (net/http/fcgi,
//     adapters, in-process calls) to the same rule.
//
// Over-long targets and too many query parameters are refused too.
type Screen struct {
	maxURL    int
	maxParams int
	slashOK   bool
}

// Screening errors, one code per refusal; all are security errors (400).
var (
	ErrURLTooLong        = errs.New(errs.KindSecurity, "url_too_long", "The request URL is too long.")
	ErrTooManyParams     = errs.New(errs.KindSecurity, "too_many_query_params", "The request has too many query parameters.")
	ErrBadEscape         = errs.New(errs.KindSecurity, "bad_percent_escape", "The request URL holds a malformed percent-escape.")
	ErrInvalidUTF8       = errs.New(errs.KindSecurity, "invalid_utf8", "The request URL is not valid UTF-8.")
	ErrControlCharacter  = errs.New(errs.KindSecurity, "control_character", "The request URL holds a NUL or control character.")
	ErrPathTraversal     = errs.New(errs.KindSecurity, "path_traversal", `The request path holds a "." or ".." segment.`)
	ErrEncodedSeparator  = errs.New(errs.KindSecurity, "encoded_separator", "The request path holds an encoded slash or a backslash.")
	ErrDoubleEncoding    = errs.New(errs.KindSecurity, "double_encoding", "The request URL is percent-encoded twice.")
	ErrHeaderControl     = errs.New(errs.KindSecurity, "header_control_character", "A request header holds a control character.")
	errMissingRequestURL = errs.New(errs.KindSecurity, "bad_request_target", "The request has no URL.")
)

// NewScreen validates o and returns the stage.
func NewScreen(o ScreenOptions) (*Screen, error) {
	s := &Screen{maxURL: o.MaxURLBytes, maxParams: o.MaxQueryParams, slashOK: o.AllowEncodedSlash}
	if s.maxURL < 0 || s.maxParams < 0 {
		return nil, errs.Configf("sanitize: negative screening limit (MaxURLBytes %d, MaxQueryParams %d)", o.MaxURLBytes, o.MaxQueryParams)
	}
	if s.maxURL == 0 {
		s.maxURL = 4096
	}
	if s.maxParams == 0 {
		s.maxParams = 64
	}
	return s, nil
}

// Handler returns the screening stage.
func (s *Screen) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.Check(r); err != nil {
			errs.Write(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Check screens r's target as the client sent it (RequestURI), or as
// r.URL encodes it for requests built in-process, then its header fields.
func (s *Screen) Check(r *http.Request) error {
	if r.URL == nil {
		return errMissingRequestURL
	}
	var err error
	if r.RequestURI != "" && r.RequestURI != "*" {
		path, query := splitTarget(r.RequestURI)
		err = s.CheckTarget(path, query)
	} else {
		err = s.CheckTarget(r.URL.EscapedPath(), r.URL.RawQuery)
	}
	if err != nil {
		return err
	}
	return CheckHeader(r.Header)
}

// CheckHeader refuses header names and values holding a control character
// other than tab in a value (ErrHeaderControl). Values are not decoded. It
// does not allocate.
func CheckHeader(h http.Header) error {
	for name, values := range h {
		for i := 0; i < len(name); i++ {
			if isControl(name[i]) {
				return ErrHeaderControl
			}
		}
		for _, v := range values {
			if hasHeaderControl(v) {
				return ErrHeaderControl
			}
		}
	}
	return nil
}

// SWAR constants: every byte 0x01, 0x20, 0x7f and 0x80.
const (
	ones  = 0x0101010101010101
	spcs  = 0x2020202020202020
	dels  = 0x7f7f7f7f7f7f7f7f
	highs = 0x8080808080808080
)

// hasHeaderControl reports whether v holds a control character other than
// tab. Header values are most of a request's bytes, so it tests eight
// bytes at a time (a byte below 0x20, or equal to 0x7f, sets its high bit
// in the expressions below) and reads byte by byte only from a word that
// may hold one.
func hasHeaderControl(v string) bool {
	i := 0
	for ; i+8 <= len(v); i += 8 {
		x := uint64(v[i]) | uint64(v[i+1])<<8 | uint64(v[i+2])<<16 | uint64(v[i+3])<<24 |
			uint64(v[i+4])<<32 | uint64(v[i+5])<<40 | uint64(v[i+6])<<48 | uint64(v[i+7])<<56
		d := x ^ dels
		if ((x-spcs)&^x|(d-ones)&^d)&highs != 0 {
			break
		}
	}
	for ; i < len(v); i++ {
		if c := v[i]; isControl(c) && c != '\t' {
			return true
		}
	}
	return false
}

// splitTarget splits a request target into its path and query, dropping
// the scheme and authority of an absolute-form target.
func splitTarget(t string) (path, query string) {
	if len(t) > 0 && t[0] != '/' {
		// absolute-form: scheme://authority/path?query
		for i := 0; i+2 < len(t); i++ {
			if t[i] == ':' && t[i+1] == '/' && t[i+2] == '/' {
				rest := t[i+3:]
				j := 0
				for j < len(rest) && rest[j] != '/' && rest[j] != '?' {
					j++
				}
				t = rest[j:]
				break
			}
		}
	}
	for i := 0; i < len(t); i++ {
		if t[i] == '?' {
			return t[:i], t[i+1:]
		}
	}
	return t, ""
}

// CheckTarget screens an escaped path and a raw query. It does not
// allocate.
func (s *Screen) CheckTarget(path, query string) error {
	if len(path)+len(query) > s.maxURL {
		return ErrURLTooLong
	}
	if err := s.checkPath(path); err != nil {
		return err
	}
	return s.checkQuery(query)
}

// decoder percent-decodes one byte at a time and validates the decoded
// stream as UTF-8 without allocating.
type decoder struct {
	pending [utf8.UTFMax]byte
	n, need int
}

// feed takes one decoded byte; it reports false when the stream is not
// valid UTF-8 so far.
func (d *decoder) feed(c byte) bool {
	if d.need == 0 {
		switch {
		case c < utf8.RuneSelf:
			return true
		case c&0xE0 == 0xC0:
			d.need = 2
		case c&0xF0 == 0xE0:
			d.need = 3
		case c&0xF8 == 0xF0:
			d.need = 4
		default:
			return false
		}
		d.pending[0], d.n = c, 1
		return true
	}
	if c&0xC0 != 0x80 {
		return false
	}
	d.pending[d.n] = c
	d.n++
	if d.n < d.need {
		return true
	}
	ok := utf8.Valid(d.pending[:d.n]) // refuses overlong forms and surrogates
	d.n, d.need = 0, 0
	return ok
}

func (d *decoder) complete() bool { return d.need == 0 }

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// next decodes the byte at s[i], returning it, whether it was escaped, the
// index after it, and an error for a malformed escape.
func next(s string, i int) (c byte, escaped bool, j int, err error) {
	c = s[i]
	if c != '%' {
		return c, false, i + 1, nil
	}
	if i+2 >= len(s) {
		return 0, false, i, ErrBadEscape
	}
	hi, ok1 := unhex(s[i+1])
	lo, ok2 := unhex(s[i+2])
	if !ok1 || !ok2 {
		return 0, false, i, ErrBadEscape
	}
	return hi<<4 | lo, true, i + 3, nil
}

// secondEscape reports whether the bytes at s[j:] decode to two hex
// digits, each sent as it is or percent-encoded: then a '%' decoded just
// before them starts an escape for whoever decodes a second time, and b is
// the byte that second decoding yields.
func secondEscape(s string, j int) (b byte, ok bool) {
	if j >= len(s) {
		return 0, false
	}
	c1, _, j, err := next(s, j)
	if err != nil || j >= len(s) {
		return 0, false
	}
	hi, ok1 := unhex(c1)
	if !ok1 {
		return 0, false
	}
	c2, _, _, err := next(s, j)
	if err != nil {
		return 0, false
	}
	lo, ok2 := unhex(c2)
	if !ok2 {
		return 0, false
	}
	return hi<<4 | lo, true
}

// allowedSecondDecoding reports whether a query parameter may turn into
// byte b when an application decodes it a second time. A URL nested in a
// parameter (a return address, an OAuth redirect_uri) legitimately holds
// escapes of its own, so "/", "&", "=", "?" and the bytes of UTF-8
// characters are allowed. Refused: controls, "." (which no encoder needs
// to escape, and which makes ".."), "\\", "%" (a third decoding) and the
// bytes that never occur in UTF-8 (C0 and C1 start the overlong forms of
// "." and "/"; F5 to FF).
func allowedSecondDecoding(b byte) bool {
	switch {
	case isControl(b), b == '.', b == '\\', b == '%', b == 0xC0, b == 0xC1, b >= 0xF5:
		return false
	}
	return true
}

// isFormSpace reports the controls a form field may hold: tab and the CR
// and LF of a multi-line text area.
func isFormSpace(c byte) bool { return c == '\t' || c == '\n' || c == '\r' }

// isControl reports C0 controls and DEL.
func isControl(c byte) bool { return c < 0x20 || c == 0x7f }

func (s *Screen) checkPath(p string) error {
	var d decoder
	var seg segment
	for i := 0; i < len(p); {
		c, escaped, j, err := next(p, i)
		if err != nil {
			return err
		}
		if escaped && c == '%' {
			if _, ok := secondEscape(p, j); ok {
				return ErrDoubleEncoding // whatever it decodes to
			}
		}
		i = j
		if !d.feed(c) {
			return ErrInvalidUTF8 // also a sequence cut by '/' or '%'
		}
		if err := s.checkPathByte(c, escaped, seg); err != nil {
			return err
		}
		if c == '/' {
			// An escaped slash, where allowed, also ends a segment for
			// whoever decodes before splitting.
			seg = segment{}
			continue
		}
		seg.add(c)
	}
	if !d.complete() {
		return ErrInvalidUTF8
	}
	if seg.traversal() {
		return ErrPathTraversal
	}
	return nil
}

// checkPathByte checks the decoded path byte c, escaped or not, that
// follows seg in its segment.
func (s *Screen) checkPathByte(c byte, escaped bool, seg segment) error {
	switch {
	case isControl(c):
		return ErrControlCharacter
	case c == '\\' && (!escaped || !s.slashOK):
		return ErrEncodedSeparator
	case c == '/' && escaped && !s.slashOK:
		return ErrEncodedSeparator
	case (c == '/' || c == ';') && seg.traversal():
		return ErrPathTraversal // "..;/" is ".." to servlet containers
	}
	return nil
}

// segment follows one decoded path segment: its length and how many of
// its bytes are dots.
type segment struct{ n, dots int }

func (g *segment) add(c byte) {
	g.n++
	if c == '.' {
		g.dots++
	}
}

// traversal reports whether the segment is "." or "..".
func (g segment) traversal() bool { return g.n > 0 && g.n == g.dots && g.dots <= 2 }

func (s *Screen) checkQuery(q string) error {
	if q == "" {
		return nil
	}
	params := 1
	var d decoder
	var param queryParam
	for i := 0; i < len(q); {
		c, escaped, j, err := next(q, i)
		if err != nil {
			return err
		}
		if escaped && c == '%' {
			if err := param.secondDecoding(q, j); err != nil {
				return err
			}
		}
		i = j
		if !d.feed(c) {
			return ErrInvalidUTF8
		}
		if !escaped && (c == '&' || c == ';') {
			if params++; params > s.maxParams {
				return ErrTooManyParams
			}
			param = queryParam{}
			continue
		}
		if param.add(c) {
			return ErrDoubleEncoding
		}
		if !queryByteOK(c, escaped) {
			return ErrControlCharacter
		}
	}
	if !d.complete() {
		return ErrInvalidUTF8
	}
	return nil
}

// queryParam follows one query parameter: whether its decoded text holds
// "..", and whether a second decoding would add a slash; together they
// are "../".
type queryParam struct{ prevDot, dotDot, secondSlash bool }

// add takes the parameter's next decoded byte and reports whether the
// parameter now makes "../" when decoded twice.
func (qp *queryParam) add(c byte) bool {
	qp.dotDot = qp.dotDot || (qp.prevDot && c == '.')
	qp.prevDot = c == '.'
	return qp.dotDot && qp.secondSlash
}

// secondDecoding checks what the escaped '%' ending at q[j] becomes when
// the parameter is decoded a second time.
func (qp *queryParam) secondDecoding(q string, j int) error {
	b, ok := secondEscape(q, j)
	if !ok {
		return nil
	}
	if !allowedSecondDecoding(b) {
		return ErrDoubleEncoding
	}
	qp.secondSlash = qp.secondSlash || b == '/'
	return nil
}

// queryByteOK reports whether a query parameter may hold the decoded byte
// c: no controls, except the form spaces when escaped.
func queryByteOK(c byte, escaped bool) bool {
	return !isControl(c) || (escaped && isFormSpace(c))
}
