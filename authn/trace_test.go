package authn

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/covetgo/covet/internal/spantest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// tokenFunc is a TokenVerifier over a function.
type tokenFunc func(ctx context.Context, token string) (*Principal, error)

func (f tokenFunc) Verify(ctx context.Context, token string) (*Principal, error) {
	return f(ctx, token)
}

func TestSpanRecordsDecision(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-token-value"
	bearer := Bearer(tokenFunc(func(_ context.Context, tok string) (*Principal, error) {
		switch tok {
		case secret:
			return &Principal{Subject: "alice", Method: MethodJWT}, nil
		case "down":
			return nil, ErrUnavailable
		}
		return nil, fail(ErrInvalidToken, "expired", nil)
	}))
	required, err := New(Options{Authenticators: []Authenticator{bearer}})
	if err != nil {
		t.Fatal(err)
	}
	optional, err := New(Options{Authenticators: []Authenticator{bearer}, Optional: true})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		stage  *Stage
		auth   string
		status int
		want   map[attribute.Key]string
	}{
		{"authenticated", required, "Bearer " + secret, 200,
			map[attribute.Key]string{attrMethod: "jwt", attrOutcome: "authenticated"}},
		{"expired", required, "Bearer other", 401,
			map[attribute.Key]string{attrMethod: "jwt", attrOutcome: "refused", attrReason: "expired"}},
		{"malformed header", required, "Bearer a b", 400,
			map[attribute.Key]string{attrMethod: "jwt", attrOutcome: "refused", attrReason: "malformed_token"}},
		{"store down", required, "Bearer down", 503,
			map[attribute.Key]string{attrMethod: "jwt", attrOutcome: "unavailable", attrReason: "authentication_unavailable"}},
		{"no credentials", required, "", 401,
			map[attribute.Key]string{attrOutcome: "refused", attrReason: "no_credentials"}},
		{"anonymous", optional, "", 200,
			map[attribute.Key]string{attrOutcome: "anonymous"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			span := &spantest.Span{}
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r = r.WithContext(trace.ContextWithSpan(r.Context(), span))
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			w := httptest.NewRecorder()
			tt.stage.Handler(whoami).ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
			attrs := span.Attrs()
			// The stage's own attributes are exactly these; a refusal
			// also carries the problem errs rendered.
			if got := spantest.WithPrefix(attrs, "covet.authn."); len(got) != len(tt.want) {
				t.Errorf("attributes %v, want %v", attrs, tt.want)
			}
			if got, want := attrs["covet.problem.status"], spantest.ProblemStatus(tt.status); got != want {
				t.Errorf("covet.problem.status = %q, want %q", got, want)
			}
			for k, v := range tt.want {
				if attrs[k] != v {
					t.Errorf("%s = %q, want %q", k, attrs[k], v)
				}
			}
			for k, v := range attrs {
				if strings.Contains(v, secret) || strings.Contains(v, "alice") {
					t.Errorf("%s carries a credential or subject: %q", k, v)
				}
			}
		})
	}
}

// Without a recording span the decision costs no allocation. (Not
// parallel: AllocsPerRun refuses to run beside other tests.)
func TestSpanRecordingFreeWhenOff(t *testing.T) {
	ctxs := map[string]context.Context{
		"no span":   context.Background(),
		"noop span": trace.ContextWithSpan(context.Background(), noop.Span{}),
	}
	for name, ctx := range ctxs {
		if n := testing.AllocsPerRun(100, func() {
			recordOutcome(ctx, MethodJWT, outcomeRefused, "expired")
		}); n != 0 {
			t.Errorf("%s: %v allocations, want 0", name, n)
		}
	}
}
