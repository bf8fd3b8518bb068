// Package tracing is the OpenTelemetry stage: one server span per request,
// named by the route pattern the router matched, with W3C Trace Context
// (and baggage, when the propagator includes it) read from the request
// through the OpenTelemetry propagator API.
//
// The span comes from otelhttp (go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp),
// which sets the current HTTP semantic-convention attributes; the stage adds
// what otelhttp cannot know on its own: the route pattern, found after
// routing the same way observe's access log finds it (chi's RoutePattern,
// http.ServeMux's Request.Pattern, observe.SetRoute), as the span name and
// as http.route, and a trust decision for the incoming trace context.
//
// Only the OpenTelemetry API is used. While nothing could record a span
// (no tracer provider set, so the global default, or the API's no-op
// provider) the stage skips otelhttp: it starts no span and allocates
// nothing, only handing a trusted caller's trace context on to downstream
// calls. The program that wants traces sets up the SDK and an exporter
// itself:
//
//	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter))
//	t, err := tracing.New(tracing.Options{
//		TracerProvider: tp,
//		Propagators: propagation.NewCompositeTextMapPropagator(
//			propagation.TraceContext{}, propagation.Baggage{}),
//		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	r := chi.NewRouter()
//	r.Use(t.Handler, observe.RequestID, errs.Recover, accessLog.Handler)
//
// # Correlation IDs are trace IDs
//
// Mounted before observe.RequestID, the stage makes the trace ID the
// request's correlation ID: observe.RequestIDFrom, the X-Request-ID
// response header, every problem's correlation_id and the access log's
// request_id all carry it, and the access log adds trace_id and span_id.
// An incoming X-Request-ID is kept beside it as its own log field, never
// as the trace ID.
//
// # Who chooses the trace
//
// A client that could pick the trace ID would pick the correlation ID that
// audit lines are filed under. So, as observe.RequestID does for
// X-Request-ID, the incoming traceparent is continued only from peers the
// Options trust (TrustedProxies, TrustIncoming, TrustAllIncoming); from
// anyone else the server span starts a new trace and links to the offered
// span context, so the caller's trace can still be found. A malformed
// traceparent is ignored: the request gets a fresh trace. From such a peer
// only the offered span's identity is linked: its tracestate and baggage
// are dropped.
//
// # What a span records
//
// otelhttp records the semantic-convention attributes, among them url.path
// (never the query string). A route that carries a secret in its path, such
// as a token in a link, puts that secret in every exported span: keep
// secrets out of paths, or drop the attribute in the SDK (a span processor)
// before export.
package tracing
