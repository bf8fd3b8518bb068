package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
)

// ExemplarLabel is the exemplar label that carries the trace ID on the
// request-duration histogram.
const ExemplarLabel = "trace_id"

// observe records one request's duration. When the request's context holds
// a sampled span (a tracing stage mounted outside this one), the
// observation carries the span's trace ID as an exemplar, so a dashboard
// can jump from a slow bucket to a trace that is kept. Unsampled and
// absent spans cost nothing beyond the plain observation: their trace IDs
// would point at traces nobody exported.
func (s *series) observe(r *http.Request, seconds float64) {
	if s.exemplar != nil {
		if sc := trace.SpanContextFromContext(r.Context()); sc.IsSampled() && sc.HasTraceID() {
			s.exemplar.ObserveWithExemplar(seconds, prometheus.Labels{ExemplarLabel: sc.TraceID().String()})
			return
		}
	}
	s.duration.Observe(seconds)
}
