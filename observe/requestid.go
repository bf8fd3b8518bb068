package observe

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"net/textproto"
	"unsafe"

	"github.com/covetgo/covet/internal/httpx"

	"go.opentelemetry.io/otel/trace"
)

// DefaultRequestIDHeader is the header RequestID reads and writes by default.
const DefaultRequestIDHeader = "X-Request-ID"

// MaxRequestIDLength is the longest incoming request ID that is kept.
const MaxRequestIDLength = 64

// OfferedRequestIDAttr is the access-log attribute that records an incoming
// request ID the stage did not believe.
const OfferedRequestIDAttr = "offered_request_id"

// IncomingRequestIDAttr is the access-log attribute that records a trusted
// incoming request ID when a span is active: the trace ID is then the
// correlation ID, and the gateway's ID is kept beside it.
const IncomingRequestIDAttr = "incoming_request_id"

// RequestIDOptions configures the RequestID stage. The zero value uses the
// X-Request-ID header and believes no incoming ID: a client does not choose
// the correlation ID its requests are logged under, so it cannot make an
// audit line point at someone else's request.
//
// An incoming ID is kept only from a peer that TrustedProxies or
// TrustIncoming vouches for (a gateway that sets or overwrites the header),
// or from anyone with TrustAllIncoming. Any other well-formed incoming ID
// is recorded on the access log as OfferedRequestIDAttr, beside the fresh
// ID, so a client's reference can still be found.
type RequestIDOptions struct {
	// Header is the request and response header that carries the ID.
	Header string
	// TrustedProxies are the networks of the peers (RemoteAddr, the hop
	// that connected to this server) whose incoming ID is kept. List the
	// proxies that set or overwrite Header; a network holding every
	// address (0.0.0.0/0, ::/0) is refused, as TrustAllIncoming says that.
	TrustedProxies []netip.Prefix
	// TrustIncoming, when set, decides per request whether the incoming ID
	// is kept (in addition to TrustedProxies). Use it to share the trust
	// of a clientip.Resolver, which this package does not import:
	//
	//	TrustIncoming: func(r *http.Request) bool {
	//		return resolver.Trusted(clientip.ParseRemoteAddr(r.RemoteAddr))
	//	}
	TrustIncoming func(r *http.Request) bool
	// TrustAllIncoming keeps a valid incoming ID from any peer. Only for a
	// service that nothing reaches except through a gateway that
	// overwrites Header.
	TrustAllIncoming bool
	// IgnoreIncoming makes every request get a fresh ID and does not
	// record the offered one. It cannot be combined with the trust options.
	IgnoreIncoming bool
}

// RequestIDStage puts a correlation ID on every request: in the context
// (RequestIDFrom) and on the response header.
type RequestIDStage struct {
	header         string
	ignoreIncoming bool
	trustAll       bool
	trusted        []netip.Prefix
	trust          func(*http.Request) bool
}

// NewRequestID validates opts and returns the stage.
func NewRequestID(opts RequestIDOptions) (*RequestIDStage, error) {
	h := opts.Header
	if h == "" {
		h = DefaultRequestIDHeader
	}
	for i := 0; i < len(h); i++ {
		if !httpx.IsTokenChar(h[i]) {
			return nil, errors.New("observe: RequestIDOptions.Header is not a valid header name")
		}
	}
	s := &RequestIDStage{
		header:         textproto.CanonicalMIMEHeaderKey(h),
		ignoreIncoming: opts.IgnoreIncoming,
		trustAll:       opts.TrustAllIncoming,
		trust:          opts.TrustIncoming,
	}
	if opts.IgnoreIncoming && (opts.TrustAllIncoming || opts.TrustIncoming != nil || len(opts.TrustedProxies) > 0) {
		return nil, errors.New("observe: RequestIDOptions.IgnoreIncoming cannot be combined with trusting incoming IDs")
	}
	for _, p := range opts.TrustedProxies {
		if !p.IsValid() {
			return nil, errors.New("observe: RequestIDOptions.TrustedProxies holds an invalid prefix")
		}
		p = p.Masked()
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		if p.Bits() == 0 {
			return nil, errors.New("observe: RequestIDOptions.TrustedProxies holds " + p.String() +
				", which trusts every client; list the proxies' networks, or set TrustAllIncoming if every caller is trusted")
		}
		s.trusted = append(s.trusted, p)
	}
	return s, nil
}

// trusts reports whether r's incoming ID is believed.
func (s *RequestIDStage) trusts(r *http.Request) bool {
	if s.trustAll {
		return true
	}
	if httpx.PeerIn(r, s.trusted) {
		return true
	}
	return s.trust != nil && s.trust(r)
}

var defaultRequestID, _ = NewRequestID(RequestIDOptions{})

// RequestID is the RequestID stage with default options: every request gets
// a new random 128-bit ID (32 hex digits), set on the response header and
// in the context. A well-formed incoming X-Request-ID (at most 64
// characters of [A-Za-z0-9._:/+=@-]) is not believed, only recorded on the
// access log as OfferedRequestIDAttr; use NewRequestID with TrustedProxies
// to keep the ID a gateway sets.
func RequestID(next http.Handler) http.Handler { return defaultRequestID.Handler(next) }

// idContext carries the ID in the context. The ID's bytes, the response
// header's value slice and the request's record (see requestRecord) live
// in the same allocation as the context node, so an AccessLog or metrics
// stage mounted inside RequestID, as they should be, needs no context node
// and no request copy of its own.
type idContext struct {
	requestRecord // its Context is the parent
	id            string
	hdr           [1]string
	buf           [32]byte
	tracks        bool // the embedded record is in use (the stage made c)
}

type requestIDKey struct{}

func (c *idContext) Value(key any) any {
	switch key {
	case requestIDKey{}:
		return c
	case recordKey{}:
		// A stage outside RequestID that already tracks the request
		// keeps its record; otherwise this one is the request's.
		if outer := c.Context.Value(key); outer != nil || !c.tracks {
			return outer
		}
		return &c.requestRecord
	}
	return c.Context.Value(key)
}

// Handler returns the stage wrapped around next.
func (s *RequestIDStage) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &idContext{}
		c.Context = r.Context()
		c.attrs, c.tracks = c.inline[:0], true
		s.assign(c, r)
		c.hdr[0] = c.id
		w.Header()[s.header] = c.hdr[:]
		next.ServeHTTP(w, r.WithContext(c))
	})
}

// assign chooses c's ID: the trace ID when a span is active, else a
// trusted incoming ID, else a fresh one. A valid incoming ID that does not
// become the correlation ID is kept on the access log (and the span).
func (s *RequestIDStage) assign(c *idContext, r *http.Request) {
	in := r.Header[s.header]
	valid := !s.ignoreIncoming && len(in) == 1 && ValidRequestID(in[0])
	trusted := valid && s.trusts(r)
	if sc, ok := activeSpan(r.Context()); ok {
		c.id = hexID(&c.buf, sc.TraceID())
		if !valid {
			return
		}
		attr, spanAttr := OfferedRequestIDAttr, spanOfferedRequestID
		if trusted {
			attr, spanAttr = IncomingRequestIDAttr, spanIncomingRequestID
		}
		AddAttrs(c, slog.String(attr, in[0]))
		if span := trace.SpanFromContext(r.Context()); span.IsRecording() {
			span.SetAttributes(spanAttr.String(in[0]))
		}
		return
	}
	if trusted {
		c.id = in[0]
		return
	}
	c.id = newID(&c.buf)
	if valid {
		AddAttrs(c, slog.String(OfferedRequestIDAttr, in[0]))
	}
}

const hexDigits = "0123456789abcdef"

func newID(buf *[32]byte) string {
	a, b := rand.Uint64(), rand.Uint64()
	for i := 15; i >= 0; i-- {
		buf[i] = hexDigits[a&0xf]
		buf[16+i] = hexDigits[b&0xf]
		a >>= 4
		b >>= 4
	}
	return unsafe.String(&buf[0], len(buf))
}

// NewRequestIDString returns a fresh random 128-bit ID as 32 hex digits, for
// work that starts outside a request (jobs, WebSocket messages).
func NewRequestIDString() string {
	var buf [32]byte
	return string(newID(&buf))
}

// ValidRequestID reports whether id is acceptable as an incoming request ID:
// 1 to 64 characters from [A-Za-z0-9._:/+=@-]. No spaces, no control
// characters, nothing that could split a header or a log line.
func ValidRequestID(id string) bool {
	if len(id) == 0 || len(id) > MaxRequestIDLength {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			switch c {
			case '-', '_', '.', ':', '/', '+', '=', '@':
			default:
				return false
			}
		}
	}
	return true
}

// RequestIDFrom returns the request ID stored by the RequestID stage, or ""
// when the stage did not run.
func RequestIDFrom(ctx context.Context) string {
	if c, ok := ctx.Value(requestIDKey{}).(*idContext); ok {
		return c.id
	}
	return ""
}

// WithRequestID returns a context carrying id, for work that starts outside
// an HTTP request (background jobs, WebSocket messages) and for tests.
func WithRequestID(ctx context.Context, id string) context.Context {
	c := &idContext{id: id}
	c.Context = ctx
	return c
}
