package tracing_test

import (
	"context"
	"crypto/rand"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
)

// recorder is a tracer provider built on the OpenTelemetry API alone (the
// root module carries no SDK): it makes real span contexts, follows the
// parent in the context unless the span is a new root, and keeps every
// span it started for the test to inspect.
type recorder struct {
	embedded.TracerProvider
	mu    sync.Mutex
	spans []*recSpan
}

func (p *recorder) Tracer(string, ...trace.TracerOption) trace.Tracer {
	return &recTracer{p: p}
}

// ended returns the spans that have ended, in the order they started.
func (p *recorder) ended() []*recSpan {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*recSpan
	for _, s := range p.spans {
		s.mu.Lock()
		if s.done {
			out = append(out, s)
		}
		s.mu.Unlock()
	}
	return out
}

type recTracer struct {
	embedded.Tracer
	p *recorder
}

func (t *recTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	cfg := trace.NewSpanStartConfig(opts...)
	parent := trace.SpanContextFromContext(ctx)
	if cfg.NewRoot() {
		parent = trace.SpanContext{}
	}
	var tid trace.TraceID
	var sid trace.SpanID
	if parent.IsValid() {
		tid = parent.TraceID()
	} else {
		_, _ = rand.Read(tid[:])
	}
	_, _ = rand.Read(sid[:])
	s := &recSpan{
		p:      t.p,
		name:   name,
		kind:   cfg.SpanKind(),
		parent: parent,
		links:  cfg.Links(),
		attrs:  map[attribute.Key]attribute.Value{},
		sc: trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled, TraceState: parent.TraceState(),
		}),
	}
	s.SetAttributes(cfg.Attributes()...)
	t.p.mu.Lock()
	t.p.spans = append(t.p.spans, s)
	t.p.mu.Unlock()
	return trace.ContextWithSpan(ctx, s), s
}

type recSpan struct {
	embedded.Span
	p      *recorder
	sc     trace.SpanContext
	parent trace.SpanContext
	kind   trace.SpanKind
	links  []trace.Link

	mu     sync.Mutex
	name   string
	attrs  map[attribute.Key]attribute.Value
	status codes.Code
	events []string
	done   bool
}

func (s *recSpan) End(...trace.SpanEndOption) {
	s.mu.Lock()
	s.done = true
	s.mu.Unlock()
}

func (s *recSpan) AddEvent(name string, _ ...trace.EventOption) {
	s.mu.Lock()
	s.events = append(s.events, name)
	s.mu.Unlock()
}

func (s *recSpan) AddLink(l trace.Link) {
	s.mu.Lock()
	s.links = append(s.links, l)
	s.mu.Unlock()
}

func (s *recSpan) IsRecording() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.done
}

func (s *recSpan) RecordError(err error, _ ...trace.EventOption) {
	s.AddEvent("exception: " + err.Error())
}

func (s *recSpan) SpanContext() trace.SpanContext { return s.sc }

func (s *recSpan) SetStatus(code codes.Code, _ string) {
	s.mu.Lock()
	s.status = code
	s.mu.Unlock()
}

func (s *recSpan) SetName(name string) {
	s.mu.Lock()
	s.name = name
	s.mu.Unlock()
}

func (s *recSpan) SetAttributes(kv ...attribute.KeyValue) {
	s.mu.Lock()
	for _, a := range kv {
		s.attrs[a.Key] = a.Value
	}
	s.mu.Unlock()
}

func (s *recSpan) TracerProvider() trace.TracerProvider { return s.p }

// attr returns the attribute's value as a string and whether it is set.
func (s *recSpan) attr(k attribute.Key) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.attrs[k]
	return v.String(), ok
}
