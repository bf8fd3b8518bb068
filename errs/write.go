package errs

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/covetgo/covet/observe"
)

// ContentType is the media type of every error response.
const ContentType = "application/problem+json"

// genericDetail is the only detail a 5xx shows in Production.
const genericDetail = "The server could not complete the request. Quote the correlation ID when reporting this."

// stagingFrames is how many frames Staging shows.
const stagingFrames = 5

// Write renders err as an RFC 9457 problem+json response. It is the only way
// a Covet stage writes a 4xx or 5xx response, so clients see one shape:
//
//	{"type":"about:blank","title":"Too Many Requests","status":429,
//	 "detail":"...","instance":"/api/notes","code":"rate_limited",
//	 "correlation_id":"4bf92f3577b34da6a3ce929d0e0e4736"}
//
// Write renders with the request's Renderer (RendererFrom), else with the
// package default; see Renderer.Write.
func Write(w http.ResponseWriter, r *http.Request, err error) {
	rendererFor(r).Write(w, r, err)
}

// Replace writes err, as Write does, as the response that replaces the one
// the handler meant to send: for a stage that refuses the handler's answer
// as it starts (a commit or a session save that failed). Besides the
// representation headers Write drops, the headers that belong to that
// answer (Set-Cookie, Location, Content-Location, Refresh, Link) do not go
// out; the others, such as the security headers and Vary of the stages
// outside, stay. Recover's 500 follows the same rule.
func Replace(w http.ResponseWriter, r *http.Request, err error) {
	dropAnswerHeaders(w.Header())
	Write(w, r, err)
}

// answerHeaders are the headers, besides the representation headers, that
// belong to the answer a handler meant to send and not to a response that
// replaces it: a cookie whose state change did not finish, a redirect, a
// refresh, hints for the content.
var answerHeaders = []string{"Set-Cookie", "Location", "Content-Location", "Refresh", "Link"}

// dropAnswerHeaders deletes answerHeaders from h.
func dropAnswerHeaders(h http.Header) {
	for _, k := range answerHeaders {
		delete(h, k)
	}
}

// Write renders err as an RFC 9457 problem+json response (see the package
// function Write for the shape). Validation errors add "errors": [{field,
// pointer, rule, param, message}]. What else is shown depends on the Mode.
// An error that is not an *Error becomes a 500 (well-known ones map as From
// describes). 5xx errors are logged with their cause; authentication,
// authorization and security errors go to the audit logger when one is
// configured, unless the stage that refused the request recorded it already
// (see WithAudited). When the request's context holds a recording
// OpenTelemetry span, the problem's status, kind and code are recorded on it.
func (rd *Renderer) Write(w http.ResponseWriter, r *http.Request, err error) {
	e := From(err)
	if e == nil {
		e = &Error{kind: KindInternal}
	}
	status := e.Status()
	ctx := requestContext(r)
	id := observe.RequestIDFrom(ctx)

	if status >= 500 {
		rd.logError(ctx, r, e, id)
	} else if rd.opts.AuditLogger != nil && isAuditKind(e.kind) && !e.audited {
		rd.auditError(ctx, r, e, id)
	}
	rd.send(w, r, e, status, id)
}

// send records the problem on the active span and writes the response.
func (rd *Renderer) send(w http.ResponseWriter, r *http.Request, e *Error, status int, id string) {
	recordSpan(requestContext(r), e, status)
	h := w.Header()
	// Drop what described the representation the handler meant to send.
	for _, k := range representationHeaders {
		delete(h, k)
	}
	for k, v := range e.header {
		// A copy: e may be a package-level error shared by every request,
		// and the response's header values must be its own to edit.
		h[k] = slices.Clone(v)
	}
	h.Set("Content-Type", ContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	body := rd.appendProblem(make([]byte, 0, 256), r, e, status, id)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func requestContext(r *http.Request) context.Context {
	if r == nil {
		return context.Background()
	}
	return r.Context()
}

// Problem returns the problem+json document Write would send for err, for
// tests and for transports that are not net/http (WebSocket error messages).
// It renders with the request's Renderer, else the package default.
func Problem(r *http.Request, err error) []byte {
	return rendererFor(r).Problem(r, err)
}

// Problem returns the problem+json document rd.Write would send for err.
// Nothing is logged or recorded.
func (rd *Renderer) Problem(r *http.Request, err error) []byte {
	e := From(err)
	if e == nil {
		e = &Error{kind: KindInternal}
	}
	return rd.appendProblem(nil, r, e, e.Status(), observe.RequestIDFrom(requestContext(r)))
}

func (rd *Renderer) appendProblem(b []byte, r *http.Request, e *Error, status int, id string) []byte {
	s := rd.san
	typ := "about:blank"
	if rd.opts.TypeBase != "" {
		typ = rd.opts.TypeBase + e.Code()
	}
	title := http.StatusText(status)
	if title == "" {
		title = "Error"
	}
	b = append(b, `{"type":`...)
	b = appendString(b, typ)
	b = append(b, `,"title":`...)
	b = appendString(b, title)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `,"detail":`...)
	b = appendString(b, rd.detail(e, status, title))
	if r != nil && r.URL != nil {
		b = append(b, `,"instance":`...)
		b = appendString(b, instanceRef(s, r.URL.EscapedPath()))
	}
	b = append(b, `,"code":`...)
	b = appendString(b, e.Code())
	if id != "" {
		b = append(b, `,"correlation_id":`...)
		b = appendString(b, id)
	}
	b = appendFields(b, s, e.fields)
	b = rd.appendContext(b, e)
	return append(rd.appendStack(b, e), '}')
}

// detail is the problem's "detail": the message, except for a 5xx, which
// shows a generic sentence in Production and the sanitized cause otherwise.
func (rd *Renderer) detail(e *Error, status int, title string) string {
	if status >= 500 {
		if rd.opts.Mode == Production {
			return genericDetail
		}
		if e.cause != nil {
			return rd.san.String(e.Error())
		}
	}
	if e.message == "" {
		return title + "."
	}
	return e.message
}

func appendFields(b []byte, s *Sanitizer, fields []FieldError) []byte {
	if len(fields) == 0 {
		return b
	}
	out := make([]FieldError, len(fields))
	for i, f := range fields {
		out[i] = FieldError{Field: s.String(f.Field), Pointer: s.String(f.Pointer), Rule: s.String(f.Rule), Param: s.String(f.Param), Message: s.String(f.Message)}
	}
	return appendJSON(b, `,"errors":`, out)
}

// appendContext adds the public context, and outside Production the
// debugging context too, both sanitized.
func (rd *Renderer) appendContext(b []byte, e *Error) []byte {
	ctxMap := rd.san.Map(e.public)
	if rd.opts.Mode != Production && len(e.context) > 0 {
		if ctxMap == nil {
			ctxMap = make(map[string]any, len(e.context))
		}
		maps.Copy(ctxMap, rd.san.Map(e.context))
	}
	if len(ctxMap) == 0 {
		return b
	}
	return appendJSON(b, `,"context":`, ctxMap)
}

// appendStack adds the stack outside Production: a few frames in Staging,
// all of them in Development.
func (rd *Renderer) appendStack(b []byte, e *Error) []byte {
	if rd.opts.Mode == Production || len(e.stack) == 0 {
		return b
	}
	limit := 0
	if rd.opts.Mode == Staging {
		limit = stagingFrames
	}
	return appendJSON(b, `,"stack":`, Frames(e.stack, limit))
}

// appendJSON appends key and v's JSON encoding; v is sanitized already, so it
// always encodes, but a failure still leaves a valid document.
func appendJSON(b []byte, key string, v any) []byte {
	enc, err := json.Marshal(v)
	if err != nil {
		return b
	}
	b = append(b, key...)
	return append(b, enc...)
}

// appendString appends s as a JSON string, escaping HTML-significant
// characters too so the body is safe if a browser sniffs it.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20 || c == '<' || c == '>' || c == '&' || c == 0x7f:
				b = append(b, '\\', 'u', '0', '0', hexDigit(c>>4), hexDigit(c&0xf))
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hexDigit(byte(r&0xf)))
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// instanceRef turns a request path into the problem's "instance": a URI
// reference (RFC 9457 §3.1.5) in every case. The path is capped (at a
// percent-escape boundary, marked by an ASCII "..."), sanitized, and every
// byte a URI path may not hold is percent-encoded, so a redaction marker
// comes out as "%5BREDACTED%5D" and nothing non-ASCII is ever added.
func instanceRef(s *Sanitizer, path string) string {
	const marker = "..."
	if limit := s.maxString - len(marker); len(path) > limit {
		cut := max(limit, 0)
		for k := cut - 1; k >= 0 && k >= cut-2; k-- {
			if path[k] == '%' {
				cut = k // keep %XX whole
			}
		}
		path = path[:cut] + marker
	}
	path = s.String(path)
	for i := 0; i < len(path); i++ {
		if !uriPathByte(path, i) {
			return escapeURIPath(path)
		}
	}
	return path
}

func escapeURIPath(p string) string {
	b := make([]byte, 0, len(p)+16)
	for i := 0; i < len(p); i++ {
		if uriPathByte(p, i) {
			b = append(b, p[i])
			continue
		}
		b = append(b, '%', upperHex[p[i]>>4], upperHex[p[i]&0xf])
	}
	return string(b)
}

const upperHex = "0123456789ABCDEF"

// uriPathByte reports whether p[i] may stand as is in a URI path (RFC 3986
// pchar or '/'): unreserved, sub-delims, ':', '@', '/', and '%' when it
// starts a valid escape.
func uriPathByte(p string, i int) bool {
	c := p[i]
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	case strings.IndexByte("-._~!$&'()*+,;=:@/", c) >= 0:
		return true
	case c == '%':
		return i+2 < len(p) && isHex(p[i+1]) && isHex(p[i+2])
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func hexDigit(c byte) byte { return "0123456789abcdef"[c&0xf] }

func isAuditKind(k Kind) bool {
	return k == KindAuthentication || k == KindAuthorization || k == KindSecurity
}

func (rd *Renderer) requestAttrs(r *http.Request, id string) []slog.Attr {
	attrs := make([]slog.Attr, 0, 6)
	if id != "" {
		attrs = append(attrs, slog.String("request_id", id))
	}
	if r != nil {
		attrs = append(attrs, slog.String("method", r.Method), slog.String("remote_addr", r.RemoteAddr))
		if r.URL != nil {
			attrs = append(attrs, slog.String("path", rd.san.String(r.URL.Path)))
		}
	}
	return attrs
}

func (rd *Renderer) logError(ctx context.Context, r *http.Request, e *Error, id string) {
	s := rd.san
	attrs := rd.requestAttrs(r, id)
	attrs = append(attrs, slog.Int("status", e.Status()), slog.String("code", e.Code()), slog.String("kind", e.kind.String()))
	if e.cause != nil {
		attrs = append(attrs, slog.String("error", s.String(e.Error())))
	}
	if len(e.context) > 0 {
		attrs = append(attrs, slog.Any("context", s.Map(e.context)))
	}
	// 503 (shedding, draining, a dependency down) and 504 are operational
	// states, not bugs: they log at Warn so an outage does not flood Error.
	level := slog.LevelError
	if s := e.Status(); s == http.StatusServiceUnavailable || s == http.StatusGatewayTimeout {
		level = slog.LevelWarn
	}
	rd.Logger().LogAttrs(ctx, level, "request failed", attrs...)
}

func (rd *Renderer) auditError(ctx context.Context, r *http.Request, e *Error, id string) {
	attrs := rd.requestAttrs(r, id)
	attrs = append(attrs, slog.Int("status", e.Status()), slog.String("code", e.Code()), slog.String("kind", e.kind.String()), slog.String("outcome", "denied"))
	rd.opts.AuditLogger.LogAttrs(ctx, slog.LevelWarn, "security event", attrs...)
}

// Audit records a security-relevant event (a login, a denied permission) on
// the audit logger of ctx's Renderer (RendererFrom), with the request ID from
// ctx. Attributes are sanitized. It does nothing without an audit logger.
func Audit(ctx context.Context, event string, attrs ...slog.Attr) {
	RendererFrom(ctx).Audit(ctx, event, attrs...)
}

// Audit records a security-relevant event on rd's audit logger, with the
// request ID from ctx. Attributes are sanitized. It does nothing when rd has
// no audit logger.
func (rd *Renderer) Audit(ctx context.Context, event string, attrs ...slog.Attr) {
	if rd.opts.AuditLogger == nil {
		return
	}
	out := make([]slog.Attr, 0, len(attrs)+1)
	if id := observe.RequestIDFrom(ctx); id != "" {
		out = append(out, slog.String("request_id", id))
	}
	out = append(out, rd.san.Attrs(attrs)...)
	rd.opts.AuditLogger.LogAttrs(ctx, slog.LevelInfo, event, out...)
}
