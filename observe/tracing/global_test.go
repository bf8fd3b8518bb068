package tracing_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/covetgo/covet/observe/tracing"
)

// Zero-value Options use the global provider and propagator, including ones
// set after New; until a provider is set the stage starts no span and
// allocates nothing. It sets process-wide state, so it does not run in
// parallel.
func TestZeroOptionsUseGlobals(t *testing.T) {
	if _, set := otel.GetTracerProvider().(*recorder); set {
		t.Skip("an earlier run (-count) set the global provider, which cannot be unset")
	}
	s, err := tracing.New(tracing.Options{TrustAllIncoming: true})
	if err != nil {
		t.Fatal(err)
	}
	var recording bool
	var inner trace.SpanContext
	h := s.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		span := trace.SpanFromContext(r.Context())
		recording, inner = span.IsRecording(), span.SpanContext()
	}))
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Traceparent", incomingTraceparent)

	serve(h, req)
	if recording || inner.IsValid() {
		t.Errorf("with no provider or propagator set, the handler sees span %v", inner)
	}
	assertNoAllocs(t, s, req)

	rec := &recorder{}
	otel.SetTracerProvider(rec)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	serve(h, req)
	sp := onlySpan(t, rec)
	if sp.sc.TraceID().String() != incomingTraceID || !recording || !inner.Equal(sp.sc) {
		t.Errorf("trace %s, want the incoming one through the global propagator", sp.sc.TraceID())
	}
}

// assertNoAllocs fails when the stage allocates while serving req.
func assertNoAllocs(t *testing.T, s *tracing.Stage, req *http.Request) {
	t.Helper()
	if raceEnabled {
		return
	}
	w := &headerOnly{h: http.Header{}}
	noop := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	h := s.Handler(noop)
	if n := testing.AllocsPerRun(200, func() { h.ServeHTTP(w, req) }); n != 0 {
		t.Errorf("the stage allocates %v times per request with nothing to record", n)
	}
}

type headerOnly struct{ h http.Header }

func (w *headerOnly) Header() http.Header         { return w.h }
func (w *headerOnly) Write(p []byte) (int, error) { return len(p), nil }
func (w *headerOnly) WriteHeader(int)             {}
