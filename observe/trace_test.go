package observe

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

var (
	testTraceID = trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	testSpanID  = trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}
)

// spanContext is the span context a tracing stage puts in the context:
// local for a span this process started, remote for an extracted one.
func spanContext(remote bool) trace.SpanContext {
	return trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: testTraceID, SpanID: testSpanID, TraceFlags: trace.FlagsSampled, Remote: remote,
	})
}

// TestRequestIDIsTraceID: with a local span active the correlation ID is
// its trace ID, whatever the client sends and whether or not the stage
// trusts it; the incoming ID is kept apart. A remote span context alone
// (a traceparent no local span continued) changes nothing.
func TestRequestIDIsTraceID(t *testing.T) {
	t.Parallel()
	trustAll, err := NewRequestID(RequestIDOptions{TrustAllIncoming: true})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		stage     *RequestIDStage
		remote    bool
		in        string
		wantID    string // "" for a fresh random ID
		wantAttrs []slog.Attr
	}{
		{"span, no incoming", defaultRequestID, false, "", testTraceID.String(), nil},
		{"span, untrusted incoming", defaultRequestID, false, "edge-1", testTraceID.String(),
			[]slog.Attr{slog.String(OfferedRequestIDAttr, "edge-1")}},
		{"span, trusted incoming", trustAll, false, "edge-1", testTraceID.String(),
			[]slog.Attr{slog.String(IncomingRequestIDAttr, "edge-1")}},
		{"span, invalid incoming", trustAll, false, "bad id", testTraceID.String(), nil},
		{"remote only", defaultRequestID, true, "", "", nil},
		{"remote only, trusted incoming", trustAll, true, "edge-1", "edge-1", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var id string
			var attrs []slog.Attr
			h := tt.stage.Handler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				id = RequestIDFrom(r.Context())
				attrs = recordFrom(r.Context()).addedAttrs()
			}))
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req = req.WithContext(trace.ContextWithSpanContext(req.Context(), spanContext(tt.remote)))
			if tt.in != "" {
				req.Header.Set("X-Request-ID", tt.in)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Header().Get("X-Request-ID") != id {
				t.Errorf("header %q, context %q", w.Header().Get("X-Request-ID"), id)
			}
			switch {
			case tt.wantID == "" && (!isFresh(id) || id == testTraceID.String()):
				t.Errorf("id %q, want a fresh random ID", id)
			case tt.wantID != "" && id != tt.wantID:
				t.Errorf("id %q, want %q", id, tt.wantID)
			}
			if len(attrs) != len(tt.wantAttrs) {
				t.Fatalf("attrs %v, want %v", attrs, tt.wantAttrs)
			}
			for i := range attrs {
				if !attrs[i].Equal(tt.wantAttrs[i]) {
					t.Errorf("attr %v, want %v", attrs[i], tt.wantAttrs[i])
				}
			}
		})
	}
}

// TestAccessLogTraceFields: trace_id and span_id are on the line exactly
// when a local span is active, through slog and through the Writer.
func TestAccessLogTraceFields(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		ctx  func(context.Context) context.Context
		want bool
	}{
		{"local span", func(c context.Context) context.Context {
			return trace.ContextWithSpanContext(c, spanContext(false))
		}, true},
		{"remote span context", func(c context.Context) context.Context {
			return trace.ContextWithSpanContext(c, spanContext(true))
		}, false},
		{"no span", func(c context.Context) context.Context { return c }, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := baseFields()
			f.span = trace.SpanContextFromContext(tt.ctx(context.Background()))
			got, fast := writerLine(&f)
			if !fast {
				t.Error("the Writer's own encoder was not used")
			}
			if want := slogLine(t, &f); got != want {
				t.Errorf("Writer line differs from slog's:\n got %s\nwant %s", got, want)
			}
			const ids = `"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7"`
			if has := strings.Contains(got, ids); has != tt.want {
				t.Errorf("line %s: trace fields present %v, want %v", got, has, tt.want)
			}
		})
	}
}
