package ratelimit

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Span attribute keys of the decision the stage records on the request's
// span. The key itself is never recorded: it may be an address, an API key
// or a user id. Its kind is (keyKind).
const (
	attrLimiter   = attribute.Key("covet.ratelimit.limiter")
	attrKeyKind   = attribute.Key("covet.ratelimit.key_kind")
	attrOutcome   = attribute.Key("covet.ratelimit.outcome")
	attrPolicy    = attribute.Key("covet.ratelimit.policy")
	attrAllowed   = attribute.Key("covet.ratelimit.allowed")
	attrRemaining = attribute.Key("covet.ratelimit.remaining")
)

// outcomes names each verdict on the span.
var outcomes = [...]string{
	verdictDecided:   "decided",
	verdictExempt:    "exempt",
	verdictNoKey:     "key_missing",
	verdictStoreDown: "store_unavailable",
}

// record adds the stage's verdict to the span in ctx. It does nothing, and
// allocates nothing, when no span is recording.
func (l *Limiter) record(ctx context.Context, v verdict, res *Result) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	attrs := make([]attribute.KeyValue, 0, 6)
	if l.name != "" {
		attrs = append(attrs, attrLimiter.String(l.name))
	}
	attrs = append(attrs, attrKeyKind.String(l.keyKind), attrOutcome.String(outcomes[v]))
	if v == verdictDecided && res.n > 0 {
		attrs = append(attrs,
			attrPolicy.String(res.Policy),
			attrAllowed.Bool(res.Allowed),
			attrRemaining.Int64(res.Remaining))
	}
	span.SetAttributes(attrs...)
}

// kindNames names each key part on the span.
var kindNames = [...]string{
	partIP:        "ip",
	partPrincipal: "principal",
	partAPIKey:    "api_key",
	partRoute:     "route",
	partFunc:      "func",
}

// kind names what k counts per, such as "ip" or "route+ip".
func (k Key) kind() string {
	s := ""
	for i, p := range k.parts {
		if i > 0 {
			s += "+"
		}
		s += kindNames[p.kind]
	}
	return s
}
