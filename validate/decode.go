package validate

import (
	"errors"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/covetgo/covet/errs"
)

// jsonMediaType reports whether a Content-Type header value names JSON:
// application/json or any type/subtype+json, with no charset parameter
// or charset=utf-8. It does not allocate.
func jsonMediaType(ct string) bool {
	mt, params, _ := strings.Cut(ct, ";")
	mt = strings.TrimSpace(mt)
	slash := strings.IndexByte(mt, '/')
	if slash <= 0 || slash == len(mt)-1 {
		return false
	}
	if !strings.EqualFold(mt, "application/json") {
		if len(mt)-slash-1 <= len("+json") || !strings.EqualFold(mt[len(mt)-len("+json"):], "+json") {
			return false
		}
	}
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		k, val, _ := strings.Cut(p, "=")
		if !strings.EqualFold(strings.TrimSpace(k), "charset") {
			continue
		}
		val = strings.TrimSpace(val)
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = val[1 : len(val)-1]
		}
		if !strings.EqualFold(val, "utf-8") && !strings.EqualFold(val, "utf8") {
			return false
		}
	}
	return true
}

// scanner passes the body through to the JSON decoder while tracking the
// nesting depth and the number of elements (refusing the body at the first
// byte over either limit), the first significant byte, and where the
// top-level value ends.
type scanner struct {
	r        io.Reader
	full     bool // track depth and elements; otherwise only the first byte
	max      int  // depth limit
	maxElems int  // element limit
	elems    int  // array elements and object members so far (roughly: commas and openings)
	depth    int
	inString bool
	escaped  bool
	off      int64 // offset of the next byte to read
	first    byte  // first byte that is not whitespace, 0 if none yet
	end      int64 // offset just past a top-level object, array or string; -1 before
	err      error // sticky: the JSON decoder ignores an error that comes with data
}

var scanners = sync.Pool{New: func() any { return new(scanner) }}

// limitError reports the offset of the byte that went over a limit.
type limitError struct {
	offset int64
	elems  bool // the element limit, not the depth limit
}

func (e *limitError) Error() string {
	return "limit exceeded at offset " + strconv.FormatInt(e.offset, 10)
}

func (s *scanner) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.r.Read(p)
	if s.full {
		if i, ok := s.scan(p[:n]); !ok {
			return i, s.err
		}
	} else {
		s.noteFirst(p[:n])
	}
	s.off += int64(n)
	return n, err
}

// scan follows the nesting of p, the next bytes of the body, and reports
// false with the index of the byte that went over a limit.
func (s *scanner) scan(p []byte) (int, bool) {
	// The state lives in locals for the loop: the compiler cannot keep
	// fields behind s in registers across the writes to them.
	depth, elems, inString, escaped := s.depth, s.elems, s.inString, s.escaped
	for i := 0; i < len(p); i++ {
		if inString {
			j, esc := stringEnd(p[i:], escaped)
			if j < 0 {
				escaped = esc
				break
			}
			i += j
			inString, escaped = false, false
			s.noteEnd(depth, i)
			continue
		}
		c := p[i]
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '"':
			inString = true
		case ',':
			if elems++; elems > s.maxElems {
				return s.fail(i, true), false
			}
		case '{', '[':
			depth++
			elems++
			if depth > s.max || elems > s.maxElems {
				return s.fail(i, depth <= s.max), false
			}
		case '}', ']':
			depth--
			s.noteEnd(depth, i)
		}
		if s.first == 0 {
			s.first = c
		}
	}
	s.depth, s.elems, s.inString, s.escaped = depth, elems, inString, escaped
	return len(p), true
}

// noteEnd records, when depth is back to 0 for the first time, that the
// top-level value ends after p[i] of the current read.
func (s *scanner) noteEnd(depth, i int) {
	if depth == 0 && s.end < 0 {
		s.end = s.off + int64(i) + 1
	}
}

// noteFirst records the first byte of p that is not whitespace, unless one
// was seen before.
func (s *scanner) noteFirst(p []byte) {
	for i := 0; i < len(p) && s.first == 0; i++ {
		if c := p[i]; c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			s.first = c
		}
	}
}

// stringEnd returns the index of the quote that closes the JSON string p
// is inside (escaped tells whether the byte before p was a backslash of
// it), or -1 and the escape state at the end of p when p does not close it.
func stringEnd(p []byte, escaped bool) (int, bool) {
	for i, c := range p {
		switch {
		case escaped:
			escaped = false
		case c == '\\':
			escaped = true
		case c == '"':
			return i, false
		}
	}
	return -1, escaped
}

// fail stops the body at p[i], the byte over a limit: the decoder gets the
// bytes before it, then the error.
func (s *scanner) fail(i int, elems bool) int {
	s.err = &limitError{offset: s.off + int64(i), elems: elems}
	s.off += int64(i)
	return i
}

// limits are a Body's decoding limits.
type limits struct {
	maxBytes   int64
	maxDepth   int
	maxElems   int
	scan       bool // the type does not bound depth and elements itself (see typeBounds)
	wantObject bool // refuse anything but an object at the top
}

// decodeJSON is the strict body decoder behind Body.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any, l *limits) error {
	ct := r.Header["Content-Type"]
	if len(ct) != 1 || !jsonMediaType(ct[0]) {
		return ErrUnsupportedMediaType
	}
	if contentCoded(r.Header["Content-Encoding"]) {
		return errContentCoded
	}
	if r.ContentLength > l.maxBytes {
		return tooLarge(l.maxBytes)
	}
	if r.Body == nil || r.Body == http.NoBody {
		return ErrEmptyBody
	}
	s := scanners.Get().(*scanner)
	*s = scanner{r: http.MaxBytesReader(w, r.Body, l.maxBytes), full: l.scan, max: l.maxDepth, maxElems: l.maxElems, end: -1}
	err := json.UnmarshalRead(s, dst, decodeOptions)
	first, end := s.first, s.end
	*s = scanner{}
	scanners.Put(s)
	if err != nil {
		return decodeError(err, first, end, l)
	}
	if first == 'n' {
		if l.wantObject {
			return ErrNotObject.WithMessage("The request body must be a JSON object, not null.")
		}
		return ErrType.WithMessage("The request body must not be null.")
	}
	return nil
}

// tooLarge is the 413 for a body over maxBytes. It closes the
// connection: the rest of the body is unwanted, and without the header
// net/http reads up to 256 KiB more of it before it sends the answer (its
// own MaxBytesReader signal does not pass through ResponseWriter
// wrappers), so a client that stops sending would never see the 413.
// errContentCoded refuses a body with a content coding (RFC 7694): the
// binder reads the bytes as they come, so a gzip body would otherwise be
// reported as JSON that is malformed at byte 0, and a body labelled with a
// coding it does not have would be read differently by whatever decodes
// the label.
var errContentCoded = ErrUnsupportedMediaType.
	WithMessage("The request body must not have a Content-Encoding (send it uncompressed).").
	WithHeader("Accept-Encoding", "identity")

// contentCoded reports whether the Content-Encoding values name a coding
// other than identity.
func contentCoded(values []string) bool {
	for _, v := range values {
		for v != "" {
			var c string
			c, v, _ = strings.Cut(v, ",")
			if c = strings.TrimSpace(c); c != "" && !strings.EqualFold(c, "identity") {
				return true
			}
		}
	}
	return false
}

func tooLarge(maxBytes int64) *errs.Error {
	return ErrTooLarge.WithMessage("The request body is larger than "+strconv.FormatInt(maxBytes, 10)+" bytes.").
		WithPublic("limit", maxBytes).WithHeader("Connection", "close")
}

// decodeError maps a decoding failure to a 4xx. Every failure is the
// client's: anything unrecognised is a 400.
func decodeError(err error, first byte, end int64, l *limits) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		// The reader that refused may be an outer stage's smaller cap
		// (bodylimit, http.MaxBytesReader): name the limit that was hit.
		return tooLarge(min(mbe.Limit, l.maxBytes))
	}
	var le *limitError
	if errors.As(err, &le) {
		return limitProblem(le, l)
	}
	var syn *jsontext.SyntacticError
	if errors.As(err, &syn) {
		return syntaxProblem(syn, err, first, end)
	}
	var sem *json.SemanticError
	if errors.As(err, &sem) {
		return semanticProblem(sem)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		if first == 0 {
			return ErrEmptyBody
		}
		return ErrSyntax.WithMessage("The request body ends in the middle of a JSON value.")
	}
	return errs.Wrap(err, errs.KindBadRequest, "unreadable_body", "The request body could not be read.")
}

// limitProblem reports a body that went over the scanner's depth or
// element limit.
func limitProblem(le *limitError, l *limits) error {
	if le.elems {
		return ErrTooManyElements.WithMessage("The request body has more than "+strconv.Itoa(l.maxElems)+" array elements and object members (at byte offset "+strconv.FormatInt(le.offset, 10)+").").
			WithPublic("offset", le.offset).WithPublic("limit", l.maxElems)
	}
	return ErrTooDeep.WithMessage("The request body nests objects and arrays more than "+strconv.Itoa(l.maxDepth)+" levels deep (at byte offset "+strconv.FormatInt(le.offset, 10)+").").
		WithPublic("offset", le.offset).WithPublic("limit", l.maxDepth)
}

// syntaxProblem reports a body that is not valid JSON. first is the
// body's first byte that is not whitespace (0: none), end the offset just
// past its top-level value (-1: not reached).
func syntaxProblem(syn *jsontext.SyntacticError, err error, first byte, end int64) error {
	ptr := string(syn.JSONPointer)
	var msg string
	if syn.Err != nil {
		msg = syn.Err.Error()
	}
	switch {
	case first == 0 && (errors.Is(syn.Err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)):
		return ErrEmptyBody
	case msg == "exceeded max depth":
		// The decoder's own limit, reached where the type bounds nesting
		// and the depth scan is off.
		return ErrTooDeep.WithMessage("The request body nests objects and arrays too deeply (at byte offset "+strconv.FormatInt(syn.ByteOffset, 10)+").").
			WithPublic("offset", syn.ByteOffset)
	case syn.Err == jsontext.ErrDuplicateName:
		return fieldProblem(ErrDuplicateField, ptr, "duplicate_field", " is given more than once")
	case msg == "invalid UTF-8" || strings.Contains(msg, "surrogate"):
		// A lone surrogate escape (\ud800) cannot become UTF-8 either.
		return located(ErrInvalidUTF8, "The request body has text that is not valid UTF-8", ptr, syn.ByteOffset)
	case end >= 0 && syn.ByteOffset >= end, strings.Contains(msg, "after top-level value"):
		return located(ErrTrailingData, "The request body has data after the JSON value", "", syn.ByteOffset)
	}
	return located(ErrSyntax, "The request body is not valid JSON", ptr, syn.ByteOffset)
}

// semanticProblem reports JSON that does not fit the destination type.
func semanticProblem(sem *json.SemanticError) error {
	ptr := string(sem.JSONPointer)
	switch {
	case sem.Err == json.ErrUnknownName:
		return fieldProblem(ErrUnknownField, ptr, "unknown_field", " is not a known field")
	case ptr == "" && sem.GoType != nil && (sem.GoType.Kind() == reflect.Struct || sem.GoType.Kind() == reflect.Map):
		return ErrNotObject
	case ptr == "":
		return located(ErrType, "The request body has the wrong JSON type", "", sem.ByteOffset)
	}
	return fieldProblem(ErrType, ptr, "type", " must be "+describe(sem.GoType))
}

// maxNameBytes bounds how much of a client-chosen name goes into a message.
const maxNameBytes = 128

// clip shortens a client-supplied string for a message, makes it valid
// UTF-8 and escapes what must not be echoed as it is (escapeUnsafe).
func clip(s string) string {
	if len(s) > maxNameBytes {
		s = s[:maxNameBytes] + "…"
	}
	return escapeUnsafe(strings.ToValidUTF8(s, "\uFFFD"))
}

// escapeUnsafe writes control characters (line breaks, NUL, escape), line
// and paragraph separators and invisible format characters (bidirectional
// overrides, zero-width marks) as \uXXXX: echoed into a problem, they would
// forge lines in a plain-text log or reorder what a person reads.
func escapeUnsafe(s string) string {
	i := 0
	for i < len(s) && s[i] >= 0x20 && s[i] < 0x7f {
		i++
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.WriteString(s[:i])
	for _, r := range s[i:] {
		if unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp) {
			const hex = "0123456789abcdef"
			if r > 0xffff {
				b.WriteString(`\U`)
				for shift := 28; shift >= 16; shift -= 4 {
					b.WriteByte(hex[r>>shift&0xf])
				}
			} else {
				b.WriteString(`\u`)
			}
			for shift := 12; shift >= 0; shift -= 4 {
				b.WriteByte(hex[r>>shift&0xf])
			}
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// fieldProblem refines base with a field error for the member at ptr; the
// detail names the field after base's own sentence.
func fieldProblem(base *errs.Error, ptr, rule, what string) *errs.Error {
	ptr = clip(ptr)
	field := pointerToField(ptr)
	detail := base.Message()[:len(base.Message())-1] + ": " + field
	if rule == "type" {
		detail += what
	}
	return base.WithMessage(detail+".").
		WithPublic("pointer", ptr).
		WithFields(errs.FieldError{Field: field, Pointer: ptr, Rule: rule, Message: field + what})
}

// located refines base with the JSON pointer and byte offset of a problem.
func located(base *errs.Error, msg, ptr string, offset int64) *errs.Error {
	e := base.WithPublic("offset", offset)
	if ptr != "" {
		ptr = clip(ptr)
		e = e.WithPublic("pointer", ptr)
		msg += " within " + pointerToField(ptr)
	}
	return e.WithMessage(msg + " (at byte offset " + strconv.FormatInt(offset, 10) + ").")
}

// pointerToField turns an RFC 6901 pointer into the dotted path used in
// field errors: "/items/2/name" → "items[2].name".
func pointerToField(ptr string) string {
	var b strings.Builder
	for tok := range jsontext.Pointer(ptr).Tokens() {
		if isIndex(tok) {
			b.WriteByte('[')
			b.WriteString(tok)
			b.WriteByte(']')
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	if b.Len() == 0 {
		return "body"
	}
	return strings.ToValidUTF8(b.String(), "\uFFFD")
}

func isIndex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// describe names the JSON a Go type accepts, for type errors.
func describe(t reflect.Type) string {
	if t == nil {
		return "of another type"
	}
	t = deref(t)
	if decodesItself(t) {
		return "a valid " + t.Name()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return intRange(t.Bits())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return uintRange(t.Bits())
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "of another type"
}

// intRange describes the values of a signed integer type; the range is
// spelled out only when it is small enough to matter to a client.
func intRange(bits int) string {
	if bits == 64 {
		return "an integer"
	}
	return "an integer from " + strconv.FormatInt(-1<<(bits-1), 10) + " to " + strconv.FormatInt(1<<(bits-1)-1, 10)
}

// uintRange is intRange for unsigned integer types.
func uintRange(bits int) string {
	if bits == 64 {
		return "a non-negative integer"
	}
	return "an integer from 0 to " + strconv.FormatUint(1<<bits-1, 10)
}

var (
	jsontextValueType = reflect.TypeFor[jsontext.Value]()
	timeType          = reflect.TypeFor[time.Time]()
)

// typeBounds returns how deeply JSON decoded into t can nest, and false
// when the type bounds neither depth nor element count: slices, maps,
// interfaces, raw JSON values, types that decode themselves from JSON, and
// recursive types. A body nested deeper than a bounded type allows fails
// on a type mismatch before it gets deeper, and unknown members are
// refused, so a bounded type needs no scan.
func typeBounds(t reflect.Type, visiting map[reflect.Type]bool) (int, bool) {
	t = deref(t)
	if bounded, known := decoderBounds(t); known {
		return 0, bounded
	}
	switch t.Kind() {
	case reflect.Interface, reflect.Slice, reflect.Map:
		return 0, false
	case reflect.Array:
		d, ok := typeBounds(t.Elem(), visiting)
		return d + 1, ok
	case reflect.Struct:
		return structBounds(t, visiting)
	}
	return 0, true
}

// decoderBounds reports, for a type with its own JSON or text decoding,
// whether its JSON is bounded; known is false for other types.
func decoderBounds(t reflect.Type) (bounded, known bool) {
	switch t {
	case jsontextValueType:
		return false, true
	case timeType:
		return true, true // its UnmarshalJSON takes a string only
	}
	p := reflect.PointerTo(t)
	for _, i := range []reflect.Type{jsonUnmarshalerFrom, jsonUnmarshaler} {
		if t.Implements(i) || p.Implements(i) {
			return false, true
		}
	}
	if t.Implements(textUnmarshaler) || p.Implements(textUnmarshaler) {
		return true, true // decoded from a JSON string only
	}
	return false, false
}

// structBounds is typeBounds for a struct type: one level deeper than its
// deepest field, unbounded when it is recursive.
func structBounds(t reflect.Type, visiting map[reflect.Type]bool) (int, bool) {
	if visiting[t] {
		return 0, false
	}
	visiting[t] = true
	defer delete(visiting, t)
	deepest := 0
	for i := range t.NumField() {
		f := t.Field(i)
		if (!f.IsExported() && !f.Anonymous) || f.Tag.Get("json") == "-" {
			continue
		}
		d, ok := typeBounds(f.Type, visiting)
		if !ok {
			return 0, false
		}
		if f.Anonymous && deref(f.Type).Kind() == reflect.Struct {
			d-- // JSON inlines an embedded struct's fields
		}
		deepest = max(deepest, d)
	}
	return deepest + 1, true
}
