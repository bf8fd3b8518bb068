package tracing

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"reflect"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/covetgo/covet/internal/httpx"
	"github.com/covetgo/covet/observe"
)

// RouteKey is the semantic-convention attribute that carries the matched
// route pattern on the server span.
const RouteKey = attribute.Key("http.route")

// Options configures the tracing stage. The zero value starts a server span
// per request on the global tracer provider (otel.GetTracerProvider()),
// reads and writes trace context with the global propagator
// (otel.GetTextMapPropagator()), and does not let a client choose the
// trace: an incoming traceparent becomes a link on a new trace, not its
// parent.
//
// The global tracer provider and propagator delegate to whatever the
// program sets later with otel.SetTracerProvider and
// otel.SetTextMapPropagator, so New may run before the SDK is set up. Until
// a propagator is set, the global one reads and writes nothing: a program
// that wants W3C Trace Context (and baggage) sets
//
//	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(
//		propagation.TraceContext{}, propagation.Baggage{}))
//
// or passes that as Propagators.
type Options struct {
	// TracerProvider creates the server spans. Nil: otel.GetTracerProvider().
	TracerProvider trace.TracerProvider
	// Propagators extract the incoming trace context (traceparent,
	// tracestate, and baggage when the propagator includes
	// propagation.Baggage). Nil: otel.GetTextMapPropagator(). Baggage is
	// kept only from a peer whose trace context is continued (see
	// TrustedProxies); from any other peer it is dropped, so a client
	// cannot hand entries to the services this one calls. Even trusted
	// baggage is caller input; never treat it as authenticated.
	Propagators propagation.TextMapPropagator
	// TrustedProxies are the networks of the peers (RemoteAddr, the hop
	// that connected to this server) whose incoming trace context is
	// continued: the server span becomes a child of the remote span, and
	// so the request's correlation ID is the caller's trace ID. From every
	// other peer the incoming context is only linked. A network holding
	// every address (0.0.0.0/0, ::/0) is refused: that is TrustAllIncoming.
	TrustedProxies []netip.Prefix
	// TrustIncoming, when set, decides per request whether the incoming
	// trace context is continued (in addition to TrustedProxies), for
	// example with a clientip.Resolver's trust.
	TrustIncoming func(r *http.Request) bool
	// TrustAllIncoming continues the incoming trace context from any peer.
	// Only for a service that nothing reaches except through callers that
	// are part of the same system.
	TrustAllIncoming bool
	// SkipPaths lists exact URL paths (such as "/healthz") that get no
	// span. Each must start with "/".
	SkipPaths []string
}

// Stage starts an OpenTelemetry server span for every request; see
// Stage.Handler.
type Stage struct {
	provider    trace.TracerProvider
	propagators propagation.TextMapPropagator
	trustAll    bool
	trusted     []netip.Prefix
	trust       func(*http.Request) bool
	skip        map[string]struct{}
	// off: the provider is the API's no-op one. unsetGlobal: the global
	// provider as New found it, before any otel.SetTracerProvider; while
	// the global is still that, nothing can record a span.
	off         bool
	unsetGlobal trace.TracerProvider
}

// New validates opts and returns the stage.
func New(opts Options) (*Stage, error) {
	s := &Stage{
		provider:    opts.TracerProvider,
		propagators: opts.Propagators,
		trustAll:    opts.TrustAllIncoming,
		trust:       opts.TrustIncoming,
	}
	switch s.provider.(type) {
	case nil:
		s.provider = otel.GetTracerProvider()
		if isUnsetGlobal(s.provider) {
			s.unsetGlobal = s.provider
		}
	case tracenoop.TracerProvider, *tracenoop.TracerProvider:
		s.off = true
	}
	if s.propagators == nil {
		s.propagators = otel.GetTextMapPropagator()
	}
	for _, p := range opts.TrustedProxies {
		if !p.IsValid() {
			return nil, errors.New("tracing: Options.TrustedProxies holds an invalid prefix")
		}
		p = p.Masked()
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		if p.Bits() == 0 {
			return nil, errors.New("tracing: Options.TrustedProxies holds " + p.String() +
				", which trusts every client; list the proxies' networks, or set TrustAllIncoming if every caller is trusted")
		}
		s.trusted = append(s.trusted, p)
	}
	for _, p := range opts.SkipPaths {
		if len(p) == 0 || p[0] != '/' {
			return nil, errors.New("tracing: Options.SkipPaths entries must be URL paths starting with /")
		}
		if s.skip == nil {
			s.skip = make(map[string]struct{}, len(opts.SkipPaths))
		}
		s.skip[p] = struct{}{}
	}
	return s, nil
}

// Handler returns the stage wrapped around next. Mount it outermost, before
// observe.RequestID, so the span is active when the correlation ID is
// chosen (it is then the trace ID) and covers every other stage:
//
//	r.Use(t.Handler, observe.RequestID, errs.Recover, accessLog.Handler)
//
// The span is started by otelhttp, which gives it the current HTTP
// semantic-convention attributes (method, scheme, server address, peer,
// user agent, status code, body sizes) and an error status for 5xx. It is
// named "METHOD" when it starts and renamed "METHOD ROUTE" once next has
// returned, with the route pattern the router matched (chi's route
// pattern, http.ServeMux's Request.Pattern, or observe.SetRoute; resolved
// by observe.Route) also set as http.route. The raw path is never the
// name: a request no route matched keeps the name "METHOD". Methods other
// than the standard nine are named "HTTP". On http.ServeMux with stages
// between this one and the mux that copy the request, put
// observe.CaptureRoute right around the mux, as for the access log.
//
// The stage writes no trace header on the response: the correlation ID
// header that observe.RequestID sets already carries the trace ID, and
// span IDs are internal. Calls the handler makes downstream carry the trace
// when they use a propagating client such as otelhttp.NewTransport.
//
// While the provider cannot record (the API's no-op provider, or the
// global one before otel.SetTracerProvider) no span is started and
// otelhttp is skipped; the first request after the SDK is set is traced.
//
// otelhttp's own HTTP metrics are not recorded (observe/metrics exports the
// RED metrics); requests whose path is in SkipPaths are passed on untouched.
func (s *Stage) Handler(next http.Handler) http.Handler {
	named := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r)
		if span := trace.SpanFromContext(r.Context()); span.IsRecording() {
			if route, ok := matchedRoute(r); ok {
				span.SetName(spanName(r.Method, route))
				span.SetAttributes(RouteKey.String(route))
			}
		}
	})
	otelOpts := []otelhttp.Option{
		otelhttp.WithTracerProvider(s.provider),
		otelhttp.WithPropagators(s.propagators),
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			route, _ := matchedRoute(r)
			return spanName(r.Method, route)
		}),
	}
	traced := otelhttp.NewMiddleware("", otelOpts...)(named)
	// An untrusted peer's request starts a new trace, linked to the
	// offered span; its tracestate and baggage are not taken.
	public := otelhttp.NewMiddleware("", append(otelOpts[:len(otelOpts):len(otelOpts)],
		otelhttp.WithPropagators(linkOnly{s.propagators}),
		otelhttp.WithPublicEndpointFn(func(*http.Request) bool { return true }))...)(named)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.skip != nil {
			if _, ok := s.skip[r.URL.Path]; ok {
				next.ServeHTTP(w, r)
				return
			}
		}
		if s.off || s.unsetGlobal != nil && otel.GetTracerProvider() == s.unsetGlobal {
			s.untraced(w, r, next)
			return
		}
		if s.trustAll || s.trusts(r) {
			traced.ServeHTTP(w, observe.Track(r))
		} else {
			public.ServeHTTP(w, observe.Track(r))
		}
	})
}

// linkOnly extracts, from a peer whose trace context is not continued,
// only the remote span's identity, which becomes a link of the new trace.
// The peer's tracestate (up to 32 entries of its choosing) and baggage are
// dropped: a span link would carry the first into every exported span, and
// the second would reach the services the handler calls.
type linkOnly struct{ inner propagation.TextMapPropagator }

// Extract returns ctx with the carrier's remote span context, stripped of
// its tracestate, when it holds a valid one.
func (p linkOnly) Extract(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	sc := trace.SpanContextFromContext(p.inner.Extract(context.Background(), carrier))
	if !sc.IsValid() {
		return ctx
	}
	return trace.ContextWithRemoteSpanContext(ctx, sc.WithTraceState(trace.TraceState{}))
}

// Inject writes ctx's trace context with the inner propagator.
func (p linkOnly) Inject(ctx context.Context, carrier propagation.TextMapCarrier) {
	p.inner.Inject(ctx, carrier)
}

// Fields returns the inner propagator's header names.
func (p linkOnly) Fields() []string { return p.inner.Fields() }

// untraced serves r when no span could record: the API's no-op provider,
// or the global one while no SDK has been set. It starts no span, so it
// costs next to nothing, and still hands a trusted incoming trace context
// (and baggage) on to the calls the handler makes downstream.
func (s *Stage) untraced(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if !s.trustAll && !s.trusts(r) {
		next.ServeHTTP(w, r)
		return
	}
	ctx := s.propagators.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	if ctx != r.Context() {
		r = r.WithContext(ctx)
	}
	next.ServeHTTP(w, r)
}

// isUnsetGlobal reports whether tp is OpenTelemetry's global delegating
// provider, which otel.GetTracerProvider returns until a program calls
// otel.SetTracerProvider. Its type is internal to the otel module, so it is
// recognized by its package path.
func isUnsetGlobal(tp trace.TracerProvider) bool {
	t := reflect.TypeOf(tp)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.PkgPath() == "go.opentelemetry.io/otel/internal/global"
}

// trusts reports whether r's incoming trace context is continued.
func (s *Stage) trusts(r *http.Request) bool {
	if httpx.PeerIn(r, s.trusted) {
		return true
	}
	return s.trust != nil && s.trust(r)
}

// matchedRoute returns the route pattern of r and true, or "" and false
// when no router matched it.
func matchedRoute(r *http.Request) (string, bool) {
	route := observe.Route(r)
	if route == observe.UnmatchedRoute {
		return "", false
	}
	return route, true
}

// spanName returns "METHOD ROUTE", or "METHOD" when route is empty, with
// non-standard methods as "HTTP" so a client cannot mint span names.
func spanName(method, route string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
	default:
		method = "HTTP"
	}
	if route == "" {
		return method
	}
	return method + " " + route
}
