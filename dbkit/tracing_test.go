package dbkit

import (
	"context"
	"crypto/rand"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
)

// spanRecorder is a TracerProvider built on the OTel API alone (no SDK):
// every span it starts is sampled and recording, and is kept with its
// parent, kind, attributes and status for the test to inspect.
type spanRecorder struct {
	embedded.TracerProvider
	mu    sync.Mutex
	spans []*recordedSpan
}

func (r *spanRecorder) Tracer(string, ...trace.TracerOption) trace.Tracer {
	return &recordingTracer{rec: r}
}

// ended returns the spans that have ended, in the order they started.
func (r *spanRecorder) ended() []*recordedSpan {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*recordedSpan
	for _, s := range r.spans {
		if s.isEnded() {
			out = append(out, s)
		}
	}
	return out
}

type recordingTracer struct {
	embedded.Tracer
	rec *spanRecorder
}

func (t *recordingTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	cfg := trace.NewSpanStartConfig(opts...)
	parent := trace.SpanContextFromContext(ctx)
	tid := parent.TraceID()
	if !tid.IsValid() {
		_, _ = rand.Read(tid[:])
	}
	var sid trace.SpanID
	_, _ = rand.Read(sid[:])
	s := &recordedSpan{
		rec:    t.rec,
		name:   name,
		kind:   cfg.SpanKind(),
		parent: parent,
		sc: trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled,
		}),
		attrs: map[attribute.Key]attribute.Value{},
	}
	for _, kv := range cfg.Attributes() {
		s.attrs[kv.Key] = kv.Value
	}
	t.rec.mu.Lock()
	t.rec.spans = append(t.rec.spans, s)
	t.rec.mu.Unlock()
	return trace.ContextWithSpan(ctx, s), s
}

type recordedSpan struct {
	embedded.Span
	rec    *spanRecorder
	sc     trace.SpanContext
	parent trace.SpanContext
	kind   trace.SpanKind

	mu     sync.Mutex
	name   string
	attrs  map[attribute.Key]attribute.Value
	status codes.Code
	errs   []error
	done   bool
}

func (s *recordedSpan) End(...trace.SpanEndOption) {
	s.mu.Lock()
	s.done = true
	s.mu.Unlock()
}

func (s *recordedSpan) isEnded() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done
}

func (s *recordedSpan) AddEvent(string, ...trace.EventOption) {}
func (s *recordedSpan) AddLink(trace.Link)                    {}

func (s *recordedSpan) IsRecording() bool { return !s.isEnded() }

func (s *recordedSpan) RecordError(err error, _ ...trace.EventOption) {
	s.mu.Lock()
	s.errs = append(s.errs, err)
	s.mu.Unlock()
}

func (s *recordedSpan) SpanContext() trace.SpanContext { return s.sc }

func (s *recordedSpan) SetStatus(c codes.Code, _ string) {
	s.mu.Lock()
	s.status = c
	s.mu.Unlock()
}

func (s *recordedSpan) SetName(name string) {
	s.mu.Lock()
	s.name = name
	s.mu.Unlock()
}

func (s *recordedSpan) SetAttributes(kv ...attribute.KeyValue) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range kv {
		s.attrs[a.Key] = a.Value
	}
}

func (s *recordedSpan) TracerProvider() trace.TracerProvider { return s.rec }

func (s *recordedSpan) attr(key string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attrs[attribute.Key(key)].String()
}

type tracedNote struct {
	ID    int64 `gorm:"primaryKey"`
	Owner string
	Body  string
}

func (tracedNote) TableName() string { return "traced_notes" }

func TestTracingSpansPerStatement(t *testing.T) {
	t.Parallel()
	const secret = "s3cret-parameter-value"
	cases := []struct {
		driver Driver
		dsn    func(t *testing.T) string
		system string
	}{
		{SQLite, func(t *testing.T) string { return tkSQLitePath(t) }, "sqlite"},
		{Postgres, func(t *testing.T) string { return tkPostgresDB(t, "tracing") }, "postgresql"},
		{MySQL, func(t *testing.T) string { return tkMySQLDB(t, "tracing") }, "mysql"},
	}
	for _, tc := range cases {
		t.Run(string(tc.driver), func(t *testing.T) {
			t.Parallel()
			rec := &spanRecorder{}
			db := tkOpen(t, Config{Driver: tc.driver, DSN: tc.dsn(t), TracerProvider: rec})
			if err := db.Gorm().AutoMigrate(&tracedNote{}); err != nil {
				t.Fatal(err)
			}
			ctx, parent := rec.Tracer("test").Start(context.Background(), "request")
			g := db.WithContext(ctx)
			if err := g.Create(&tracedNote{Owner: secret, Body: secret}).Error; err != nil {
				t.Fatal(err)
			}
			var got []tracedNote
			if err := g.Where("owner = ?", secret).Find(&got).Error; err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 {
				t.Fatalf("found %d notes, want 1", len(got))
			}
			bad := g.Exec("SELECT * FROM no_such_table WHERE owner = ?", secret).Error
			if bad == nil {
				t.Fatal("a query on a missing table succeeded")
			}
			parent.End()

			var children []*recordedSpan
			for _, s := range rec.ended() {
				if s.parent.SpanID() == parent.SpanContext().SpanID() {
					children = append(children, s)
				}
			}
			if len(children) != 3 {
				t.Fatalf("%d statement spans under the request span, want 3", len(children))
			}
			wantNames := []string{"insert traced_notes", "select traced_notes", "gorm.Raw"}
			for i, s := range children {
				if s.name != wantNames[i] {
					t.Errorf("span %d is named %q, want %q", i, s.name, wantNames[i])
				}
				if s.sc.TraceID() != parent.SpanContext().TraceID() {
					t.Errorf("span %q is in another trace", s.name)
				}
				if s.kind != trace.SpanKindClient {
					t.Errorf("span %q has kind %v, want client", s.name, s.kind)
				}
				if got := s.attr("db.system.name"); got != tc.system {
					t.Errorf("span %q: db.system.name = %q, want %q", s.name, got, tc.system)
				}
				q := s.attr("db.query.text")
				if q == "" {
					t.Errorf("span %q has no db.query.text", s.name)
				}
				s.mu.Lock()
				for k, v := range s.attrs {
					if strings.Contains(v.String(), secret) {
						t.Errorf("span %q: attribute %s carries a bound parameter: %q", s.name, k, v.String())
					}
				}
				s.mu.Unlock()
			}
			if q := children[1].attr("db.query.text"); !strings.Contains(strings.ToLower(q), "where owner =") {
				t.Errorf("select span's query text = %q, want the WHERE clause with a placeholder", q)
			}
			failed := children[2]
			if failed.status != codes.Error || len(failed.errs) != 1 || failed.errs[0] == nil {
				t.Errorf("failed statement's span: status %v, errors %v; want Error and the statement's error", failed.status, failed.errs)
			}
			for _, s := range children[:2] {
				if s.status == codes.Error {
					t.Errorf("span %q of a successful statement has status Error", s.name)
				}
			}
		})
	}
}

func TestTracingOffWithoutProvider(t *testing.T) {
	t.Parallel()
	db := tkOpen(t, Config{Driver: SQLite, DSN: tkSQLitePath(t)})
	for _, name := range []string{"otel:before:select", "otel:after:select"} {
		if db.Gorm().Callback().Query().Get(name) != nil {
			t.Errorf("callback %s is installed without a TracerProvider", name)
		}
	}
	traced := tkOpen(t, Config{Driver: SQLite, DSN: tkSQLitePath(t), TracerProvider: &spanRecorder{}})
	if traced.Gorm().Callback().Query().Get("otel:before:select") == nil {
		t.Error("callback otel:before:select is missing with a TracerProvider")
	}
}

// A statement run with a context that has no span still gets a span (a
// root), so work outside requests (migrations, jobs) is traced as well.
func TestTracingRootSpanWithoutParent(t *testing.T) {
	t.Parallel()
	rec := &spanRecorder{}
	db := tkOpen(t, Config{Driver: SQLite, DSN: tkSQLitePath(t), TracerProvider: rec})
	if err := db.WithContext(context.Background()).Exec("SELECT 1").Error; err != nil {
		t.Fatal(err)
	}
	spans := rec.ended()
	if len(spans) == 0 {
		t.Fatal("no span for a statement without a parent span")
	}
	last := spans[len(spans)-1]
	if last.parent.IsValid() {
		t.Errorf("span %q has a parent %v, want a root span", last.name, last.parent.SpanID())
	}
}
