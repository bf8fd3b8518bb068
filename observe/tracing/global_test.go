package tracing_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"

	"github.com/covetgo/covet/observe/tracing"
)

// Zero-value Options use the global provider and propagator, including ones
// set after New. It sets process-wide state, so it does not run in parallel.
func TestZeroOptionsUseGlobals(t *testing.T) {
	s, err := tracing.New(tracing.Options{TrustAllIncoming: true})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	otel.SetTracerProvider(rec)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Traceparent", incomingTraceparent)
	serve(s.Handler(http.HandlerFunc(ok)), req)
	sp := onlySpan(t, rec)
	if sp.sc.TraceID().String() != incomingTraceID {
		t.Errorf("trace %s, want the incoming one through the global propagator", sp.sc.TraceID())
	}
}
