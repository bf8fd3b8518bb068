package errs

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// recordingSpan is a span that records what is set on it, built from the
// API's no-op span so the root module needs no SDK.
type recordingSpan struct {
	noop.Span
	mu     sync.Mutex
	attrs  map[attribute.Key]attribute.Value
	status codes.Code
	desc   string
	events map[string][]attribute.KeyValue
}

func newRecordingSpan() *recordingSpan {
	return &recordingSpan{attrs: map[attribute.Key]attribute.Value{}, events: map[string][]attribute.KeyValue{}}
}

func (s *recordingSpan) IsRecording() bool { return true }

func (s *recordingSpan) SetAttributes(kv ...attribute.KeyValue) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range kv {
		s.attrs[a.Key] = a.Value
	}
}

func (s *recordingSpan) SetStatus(c codes.Code, desc string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status, s.desc = c, desc
}

func (s *recordingSpan) AddEvent(name string, opts ...trace.EventOption) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cfg := trace.NewEventConfig(opts...)
	s.events[name] = cfg.Attributes()
}

// everything is every string recorded on the span, to look for leaks.
func (s *recordingSpan) everything() string {
	var b strings.Builder
	for k, v := range s.attrs {
		b.WriteString(string(k) + "=" + v.String() + "\n")
	}
	b.WriteString(s.desc + "\n")
	for name, kv := range s.events {
		b.WriteString(name + "\n")
		for _, a := range kv {
			b.WriteString(string(a.Key) + "=" + a.Value.String() + "\n")
		}
	}
	return b.String()
}

func TestWriteRecordsOnSpan(t *testing.T) {
	t.Parallel()
	secretCause := errors.New("pq: password=hunter2 rejected for alice@example.com")
	tests := []struct {
		name   string
		mode   Mode
		serve  func(rd *Renderer, w http.ResponseWriter, r *http.Request)
		status int
		kind   string
		code   string
	}{
		{"4xx is not a span error", Development, func(rd *Renderer, w http.ResponseWriter, r *http.Request) {
			rd.Write(w, r, New(KindNotFound, "note_not_found", "No note hunter2.").With("owner", "alice@example.com"))
		}, 404, "not_found", "note_not_found"},
		{"5xx in production", Production, func(rd *Renderer, w http.ResponseWriter, r *http.Request) {
			rd.Write(w, r, Wrap(secretCause, KindDatabase, "", "Could not load hunter2.").With("owner", "alice@example.com"))
		}, 500, "database", "database_error"},
		{"5xx in development keeps the detail off the span", Development, func(rd *Renderer, w http.ResponseWriter, r *http.Request) {
			rd.Write(w, r, Wrap(secretCause, KindServiceUnavailable, "store_down", ""))
		}, 503, "service_unavailable", "store_down"},
		{"recovered panic", Development, func(rd *Renderer, w http.ResponseWriter, r *http.Request) {
			rd.Recover(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("password=hunter2") })).ServeHTTP(w, r)
		}, 500, "internal", "panic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rd := renderer(t, Options{Mode: tt.mode, Logger: slog.New(slog.DiscardHandler)})
			span := newRecordingSpan()
			r := httptest.NewRequest(http.MethodGet, "/notes/1", nil)
			r = r.WithContext(trace.ContextWithSpan(r.Context(), span))
			rec := httptest.NewRecorder()
			tt.serve(rd, rec, r)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			span.mu.Lock()
			defer span.mu.Unlock()
			if got := span.attrs["covet.problem.status"]; got.AsInt64() != int64(tt.status) {
				t.Errorf("covet.problem.status = %v", got.String())
			}
			if got := span.attrs["covet.problem.kind"].AsString(); got != tt.kind {
				t.Errorf("covet.problem.kind = %q, want %q", got, tt.kind)
			}
			if got := span.attrs["covet.problem.code"].AsString(); got != tt.code {
				t.Errorf("covet.problem.code = %q, want %q", got, tt.code)
			}
			_, hasEvent := span.events["exception"]
			if tt.status >= 500 != (span.status == codes.Error) || tt.status >= 500 != hasEvent {
				t.Errorf("status %d: span status %v, exception event %v", tt.status, span.status, hasEvent)
			}
			for _, secret := range []string{"hunter2", "alice", "pq:", "Could not load", "No note"} {
				if strings.Contains(span.everything(), secret) {
					t.Errorf("the span holds %q:\n%s", secret, span.everything())
				}
			}
		})
	}
}

// TestSpanOffCostsNothing: with no span, or one that is not recording,
// recording allocates nothing and Write allocates no more than without it.
// AllocsPerRun may not run in parallel.
func TestSpanOffCostsNothing(t *testing.T) {
	e := New(KindRateLimit, "", "Slow down.")
	notRecording := trace.ContextWithSpan(context.Background(), noop.Span{})
	for _, ctx := range []context.Context{context.Background(), notRecording} {
		if n := testing.AllocsPerRun(100, func() { recordSpan(ctx, e, 429) }); n != 0 {
			t.Errorf("recordSpan allocates %v times without a recording span", n)
		}
	}
	rd := renderer(t, Options{Logger: slog.New(slog.DiscardHandler)})
	w := &discardWriter{h: http.Header{}}
	plain := httptest.NewRequest(http.MethodGet, "/", nil)
	withSpan := plain.WithContext(notRecording)
	allocs := func(r *http.Request) float64 {
		return testing.AllocsPerRun(100, func() {
			clear(w.h)
			rd.Write(w, r, e)
		})
	}
	if a, b := allocs(plain), allocs(withSpan); a != b {
		t.Errorf("Write allocates %v times with a non-recording span, %v without", b, a)
	}
}
