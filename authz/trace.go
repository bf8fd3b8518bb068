package authz

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// The span attributes a decision is recorded with.
const (
	// attrPolicy is what was checked: the permission ("notes:read", several
	// separated by spaces), "role:a|b", "scope:a b" or "owner".
	attrPolicy = attribute.Key("covet.authz.policy")
	// attrDecision is one of the decision* values.
	attrDecision = attribute.Key("covet.authz.decision")
)

// The values of covet.authz.decision.
const (
	decisionAllow           = "allow"
	decisionDeny            = "deny"
	decisionUnauthenticated = "unauthenticated" // no principal: 401
	decisionUnavailable     = "unavailable"     // the decider failed: 503
)

// recordDecision puts a decision on the request's span when the span
// records; otherwise it costs one interface call and allocates nothing.
// The principal's roles and credentials are never recorded.
func recordDecision(ctx context.Context, policy, decision string) {
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.SetAttributes(attrPolicy.String(policy), attrDecision.String(decision))
	}
}
