package observe

import (
	"context"
	"unsafe"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Span attributes RequestID sets on an active, recording span for an
// incoming request ID that is not the correlation ID.
const (
	spanOfferedRequestID  = attribute.Key("covet.request_id.offered")
	spanIncomingRequestID = attribute.Key("covet.request_id.incoming")
)

// activeSpan returns the span context of the span this process started for
// the request, if any. A remote span context alone (an extracted
// traceparent that no local span continued) does not count: its trace ID
// is the caller's choice.
func activeSpan(ctx context.Context) (trace.SpanContext, bool) {
	sc := trace.SpanContextFromContext(ctx)
	return sc, sc.IsValid() && !sc.IsRemote()
}

// hexID writes id as 32 lowercase hex digits into buf and returns them as
// a string that shares buf's memory.
func hexID(buf *[32]byte, id trace.TraceID) string {
	for i, b := range id {
		buf[2*i] = hexDigits[b>>4]
		buf[2*i+1] = hexDigits[b&0xf]
	}
	return unsafe.String(&buf[0], len(buf))
}

// appendHex appends b as lowercase hex digits.
func appendHex(dst []byte, b []byte) []byte {
	for _, c := range b {
		dst = append(dst, hexDigits[c>>4], hexDigits[c&0xf])
	}
	return dst
}
