package authn

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// The span attributes the stage records its decision with.
const (
	// attrMethod is the Method that decided ("jwt", "api_key", "session",
	// ...); absent when no authenticator found a credential.
	attrMethod = attribute.Key("covet.authn.method")
	// attrOutcome is one of the outcome* values.
	attrOutcome = attribute.Key("covet.authn.outcome")
	// attrReason is the refusal reason ("no_credentials", "expired",
	// "bad_signature", ...), as Reason returns it; absent on success.
	attrReason = attribute.Key("covet.authn.reason")
)

// The values of covet.authn.outcome.
const (
	outcomeAuthenticated = "authenticated"
	outcomeAnonymous     = "anonymous"   // no credential, Options.Optional
	outcomeRefused       = "refused"     // 400 or 401
	outcomeUnavailable   = "unavailable" // a backing service failed: 503
)

// recordOutcome puts the stage's decision on the request's span when the
// span records; otherwise it costs one interface call and allocates
// nothing. Credentials, subjects and claims are never recorded.
func recordOutcome(ctx context.Context, method Method, outcome, reason string) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	attrs := make([]attribute.KeyValue, 0, 3)
	if method != "" {
		attrs = append(attrs, attrMethod.String(string(method)))
	}
	attrs = append(attrs, attrOutcome.String(outcome))
	if reason != "" {
		attrs = append(attrs, attrReason.String(reason))
	}
	span.SetAttributes(attrs...)
}
