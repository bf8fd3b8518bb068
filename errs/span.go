package errs

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Span attribute keys of a rendered problem.
const (
	spanStatus = attribute.Key("covet.problem.status")
	spanKind   = attribute.Key("covet.problem.kind")
	spanCode   = attribute.Key("covet.problem.code")
)

// recordSpan records a rendered problem on the span ctx carries: its status,
// kind and code as attributes and, for a 5xx (the OpenTelemetry HTTP server
// convention: a 4xx is the client's, not the server's, error), the Error
// span status and an "exception" event. Only the kind and the stable code
// are recorded, never the message, the cause, the context or the stack, so
// the span holds nothing Production would hide. When no span is recording it
// costs one context lookup and allocates nothing.
func recordSpan(ctx context.Context, e *Error, status int) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	code := e.Code()
	span.SetAttributes(spanStatus.Int(status), spanKind.String(e.kind.String()), spanCode.String(code))
	if status < 500 {
		return
	}
	span.SetStatus(codes.Error, code)
	span.AddEvent("exception", trace.WithAttributes(
		attribute.String("exception.type", "errs."+e.kind.String()),
		attribute.String("exception.message", code),
	))
}
