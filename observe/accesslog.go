package observe

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// DefaultAccessLogMessage is the message of every access-log record unless
// AccessLogOptions.Message says otherwise.
const DefaultAccessLogMessage = "http request"

// AccessLogOptions configures the AccessLog stage. The zero value logs every
// request to slog.Default() with the RemoteAddr host as the client IP.
type AccessLogOptions struct {
	// Logger receives one record per request. Nil: slog.Default() at the
	// time of each request, unless Writer is set.
	Logger *slog.Logger
	// Writer, when set, receives each record as one JSON line, byte for
	// byte what slog.NewJSONHandler(Writer, nil) would write, from an
	// encoder built for this record's fields that costs a fraction of the
	// slog handler (see the package benchmarks). Use it for high-volume
	// access logs that need no slog handler features (levels, ReplaceAttr,
	// handler chains); each record is one Write call, serialized within
	// the stage (not with other stages or loggers on the same Writer). Set
	// Logger or Writer, not both.
	Writer io.Writer
	// Message is the record's message. Empty: DefaultAccessLogMessage.
	Message string
	// ClientIP returns the address logged as client_ip. Nil: the host part
	// of r.RemoteAddr. Behind proxies, pass a resolver that only believes
	// forwarding headers from trusted peers (for example one built on the
	// clientip package).
	ClientIP func(r *http.Request) string
	// SkipPaths lists exact URL paths (such as "/healthz" and "/readyz")
	// whose requests are not logged, so probes do not drown the log. Each
	// must start with "/".
	SkipPaths []string
}

// AccessLogStage writes one structured record per request.
type AccessLogStage struct {
	logger   *slog.Logger
	message  string
	clientIP func(*http.Request) string
	skip     map[string]struct{}
	out      *lineWriter
}

// NewAccessLog validates opts and returns the stage.
func NewAccessLog(opts AccessLogOptions) (*AccessLogStage, error) {
	s := &AccessLogStage{logger: opts.Logger, message: opts.Message, clientIP: opts.ClientIP}
	if s.message == "" {
		s.message = DefaultAccessLogMessage
	}
	if s.clientIP == nil {
		s.clientIP = remoteHost
	}
	if opts.Writer != nil {
		if opts.Logger != nil {
			return nil, errors.New("observe: set AccessLogOptions.Logger or Writer, not both")
		}
		s.out = &lineWriter{w: opts.Writer}
	}
	for _, p := range opts.SkipPaths {
		if len(p) == 0 || p[0] != '/' {
			return nil, errors.New("observe: AccessLogOptions.SkipPaths entries must be URL paths starting with /")
		}
		if s.skip == nil {
			s.skip = make(map[string]struct{}, len(opts.SkipPaths))
		}
		s.skip[p] = struct{}{}
	}
	return s, nil
}

var defaultAccessLog, _ = NewAccessLog(AccessLogOptions{})

// AccessLog is the AccessLog stage with default options: one record per
// request on slog.Default(). See AccessLogStage.Handler for what it logs.
func AccessLog(next http.Handler) http.Handler { return defaultAccessLog.Handler(next) }

// Handler returns the stage wrapped around next. After next returns it logs
// one record with these attributes:
//
//	method      the request method
//	route       the route pattern (see Route), never the raw path
//	status      the response status (200 when the handler wrote nothing)
//	bytes       the body bytes written
//	duration    the time next took
//	client_ip   from AccessLogOptions.ClientIP
//	request_id  from RequestIDFrom, when the RequestID stage ran
//	trace_id    the active span's trace ID, when a span is active
//	span_id     the active span's span ID, when a span is active
//
// followed by the attributes inner stages added with AddAttrs, and
// "hijacked" or "panic" (true) when the connection was hijacked or next
// panicked (the panic goes on to the stages outside). The record's time is
// when the request arrived. The level is Error for 5xx and for panics, Warn
// for 4xx, and Info otherwise. Requests whose path is in SkipPaths are
// passed on untouched.
//
// Mount it inside the RequestID stage so the ID is known, and inside
// errs.Recover so a panic is logged here as a 500 before Recover answers.
func (s *AccessLogStage) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.skip != nil {
			if _, ok := s.skip[r.URL.Path]; ok {
				next.ServeHTTP(w, r)
				return
			}
		}
		rec := recordFrom(r.Context())
		if rec == nil {
			rec = newRecord(r.Context())
			r = r.WithContext(rec)
		}
		sw := NewStatusWriter(w)
		start := time.Now()
		done := false
		defer func() {
			s.log(r, rec, sw, start, !done)
			sw.Release()
		}()
		next.ServeHTTP(sw, r)
		done = true
	})
}

func (s *AccessLogStage) log(r *http.Request, rec *requestRecord, sw *StatusWriter, start time.Time, panicked bool) {
	elapsed := time.Since(start)
	status := sw.status
	if status == 0 && !sw.hijacked {
		if panicked {
			status = http.StatusInternalServerError
		} else {
			status = http.StatusOK
		}
	}
	level := slog.LevelInfo
	switch {
	case panicked || status >= 500:
		level = slog.LevelError
	case status >= 400:
		level = slog.LevelWarn
	}
	ctx := r.Context()
	var h slog.Handler
	if s.out == nil {
		logger := s.logger
		if logger == nil {
			logger = slog.Default()
		}
		if h = logger.Handler(); !h.Enabled(ctx, level) {
			return
		}
	}
	f := accessFields{
		start: start, level: level, msg: s.message,
		method: r.Method, route: Route(r), clientIP: s.clientIP(r),
		requestID: RequestIDFrom(ctx), extra: rec.addedAttrs(),
		span:   trace.SpanContextFromContext(ctx),
		status: status, bytes: sw.bytes, elapsed: elapsed,
		hijacked: sw.hijacked, panicked: panicked,
	}
	if h == nil {
		s.out.write(&f)
		return
	}
	// The record goes to the handler directly: Logger.LogAttrs would walk
	// the stack for a source position, which here is always this function.
	_ = h.Handle(ctx, f.record())
}

// remoteHost is the default client IP: the host part of RemoteAddr, or
// RemoteAddr itself when it has no port.
func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
