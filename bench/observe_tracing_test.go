package bench

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/covetgo/covet/observe/tracing"
)

// The tracing stage against plain otelhttp, which it is built on, with no
// tracer provider set (the global default, what a service that has not
// configured OpenTelemetry runs) and with the API's no-op provider. Both
// are mounted with Use on a chi router and read a W3C traceparent.

const benchTraceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

func covetTracing(b *testing.B, tp trace.TracerProvider) func(http.Handler) http.Handler {
	s, err := tracing.New(tracing.Options{TracerProvider: tp, Propagators: propagation.TraceContext{}})
	if err != nil {
		b.Fatal(err)
	}
	return s.Handler
}

func plainOtelhttp(tp trace.TracerProvider) func(http.Handler) http.Handler {
	opts := []otelhttp.Option{otelhttp.WithPropagators(propagation.TraceContext{})}
	if tp != nil {
		opts = append(opts, otelhttp.WithTracerProvider(tp))
	}
	return otelhttp.NewMiddleware("server", opts...)
}

func tracingRouter(mw func(http.Handler) http.Handler) http.Handler {
	r := chi.NewRouter()
	r.Use(mw)
	r.Get("/users/{id}", accessLogHandler)
	return r
}

func tracedRequest() *http.Request {
	req := httptest.NewRequest(http.MethodGet, "/users/42", nil)
	req.RemoteAddr = "203.0.113.7:52100"
	req.Header.Set("Traceparent", benchTraceparent)
	return req
}

func runTracing(b *testing.B, h http.Handler) {
	req := tracedRequest()
	w := &accessLogWriter{h: http.Header{}}
	b.ReportAllocs()
	cpu0 := accessLogCPU()
	n := 0
	for b.Loop() {
		h.ServeHTTP(w, req)
		n++
	}
	b.ReportMetric(float64(accessLogCPU()-cpu0)/float64(n), "cpu-ns/op")
}

func BenchmarkTracing_NoProvider_Covet(b *testing.B) {
	runTracing(b, tracingRouter(covetTracing(b, nil)))
}

func BenchmarkTracing_NoProvider_Otelhttp(b *testing.B) {
	runTracing(b, tracingRouter(plainOtelhttp(nil)))
}

func BenchmarkTracing_Noop_Covet(b *testing.B) {
	runTracing(b, tracingRouter(covetTracing(b, tracenoop.NewTracerProvider())))
}

func BenchmarkTracing_Noop_Otelhttp(b *testing.B) {
	runTracing(b, tracingRouter(plainOtelhttp(tracenoop.NewTracerProvider())))
}

// BenchmarkTracing_Paired reports the covet/otelhttp time ratio, measured
// in alternating blocks, for both provider settings.
func BenchmarkTracing_Paired(b *testing.B) {
	for _, c := range []struct {
		name string
		tp   trace.TracerProvider
	}{{"no-provider", nil}, {"noop", tracenoop.NewTracerProvider()}} {
		b.Run(c.name, func(b *testing.B) {
			req := tracedRequest()
			w := &accessLogWriter{h: http.Header{}}
			serve := func(h http.Handler) func() { return func() { h.ServeHTTP(w, req) } }
			pairTimer(b, 16, [2]string{"covet", "otelhttp"}, [2]func(){
				serve(tracingRouter(covetTracing(b, c.tp))), serve(tracingRouter(plainOtelhttp(c.tp))),
			})
		})
	}
}
