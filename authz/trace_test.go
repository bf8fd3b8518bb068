package authz

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/covetgo/covet/authn/principal"
	"github.com/covetgo/covet/internal/spantest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

func TestSpanRecordsDecision(t *testing.T) {
	t.Parallel()
	a, err := New(Options{Decider: MustRBAC(testPolicy())})
	if err != nil {
		t.Fatal(err)
	}
	failing, err := New(Options{Decider: DeciderFunc(func(context.Context, *principal.Principal, string) (bool, error) {
		return false, errors.New("policy store down")
	})})
	if err != nil {
		t.Fatal(err)
	}
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	owned := func(*http.Request) (Resource, error) { return Resource{ID: "n1", Owner: "alice"}, nil }
	reader := &principal.Principal{Subject: "alice", Roles: []string{"reader"}, Scopes: []string{"notes:read"}}
	other := &principal.Principal{Subject: "bob", Roles: []string{"reader"}}
	tests := []struct {
		name     string
		h        http.Handler
		p        *principal.Principal
		status   int
		policy   string
		decision string
	}{
		{"allowed", a.Require("notes:read", "comments:read")(ok), reader, 200, "notes:read comments:read", "allow"},
		{"denied", a.Require("notes:read", "notes:write")(ok), reader, 403, "notes:write", "deny"},
		{"no principal", a.Require("notes:read")(ok), nil, 401, "notes:read", "unauthenticated"},
		{"decider down", failing.Require("notes:read")(ok), reader, 503, "notes:read", "unavailable"},
		{"role denied", a.RequireRole("admin")(ok), reader, 403, "role:admin", "deny"},
		{"scope allowed", a.RequireScope("notes:read")(ok), reader, 200, "scope:notes:read", "allow"},
		{"owner", a.RequireOwner(owned)(ok), reader, 200, "owner", "allow"},
		{"not owner", a.RequireOwner(owned)(ok), other, 403, "owner", "deny"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			span := &spantest.Span{}
			ctx := trace.ContextWithSpan(context.Background(), span)
			if tt.p != nil {
				ctx = principal.With(ctx, tt.p)
			}
			w := httptest.NewRecorder()
			tt.h.ServeHTTP(w, httptest.NewRequestWithContext(ctx, http.MethodGet, "/", nil))
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
			attrs := span.Attrs()
			want := map[attribute.Key]string{attrPolicy: tt.policy, attrDecision: tt.decision}
			if len(spantest.WithPrefix(attrs, "covet.authz.")) != len(want) || attrs[attrPolicy] != tt.policy || attrs[attrDecision] != tt.decision {
				t.Errorf("attributes %v, want %v", attrs, want)
			}
			// A refusal also carries the problem errs rendered.
			if got, want := attrs["covet.problem.status"], spantest.ProblemStatus(tt.status); got != want {
				t.Errorf("covet.problem.status = %q, want %q", got, want)
			}
		})
	}
	t.Run("Check", func(t *testing.T) {
		t.Parallel()
		span := &spantest.Span{}
		ctx := principal.With(trace.ContextWithSpan(context.Background(), span), reader)
		if err := a.Check(ctx, "users:delete"); !errors.Is(err, ErrForbidden) {
			t.Fatalf("Check = %v", err)
		}
		attrs := span.Attrs()
		if attrs[attrPolicy] != "users:delete" || attrs[attrDecision] != "deny" {
			t.Errorf("attributes %v", attrs)
		}
	})
}

// Without a recording span the decision costs no allocation. (Not
// parallel: AllocsPerRun refuses to run beside other tests.)
func TestSpanRecordingFreeWhenOff(t *testing.T) {
	for name, ctx := range map[string]context.Context{
		"no span":   context.Background(),
		"noop span": trace.ContextWithSpan(context.Background(), noop.Span{}),
	} {
		if n := testing.AllocsPerRun(100, func() { recordDecision(ctx, "notes:read", decisionDeny) }); n != 0 {
			t.Errorf("%s: %v allocations, want 0", name, n)
		}
	}
}
