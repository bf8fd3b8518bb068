package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/covetgo/covet/internal/testsvc"
)

// startTraced runs the app with its spans going to an in-memory exporter.
func startTraced(t *testing.T, env map[string]string) (*instance, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	in := launchConfigured(t, env, nil, func(c *config) { c.Tracing.exporter = exp })
	waitReady(t, in)
	return in, exp
}

// flushed returns every span the app has ended so far.
func flushed(t *testing.T, in *instance, exp *tracetest.InMemoryExporter) tracetest.SpanStubs {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := in.app.tp.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	return exp.GetSpans()
}

func attr(s tracetest.SpanStub, key attribute.Key) string {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			return kv.Value.String()
		}
	}
	return ""
}

// One failed login (SQL to find the account, Redis for the rate limits and
// the failure count, a 401 problem) is one trace: the server span at the
// root, the SQL and Redis spans below it, and the problem's correlation ID
// is the trace ID.
func TestTracingOneTracePerRequest(t *testing.T) {
	redisAddr := testsvc.RedisAddr(t)
	in, exp := startTraced(t, testEnv(t, map[string]string{"COVET_REDIS_ADDR": redisAddr, "COVET_REDIS_PREFIX": redisPrefix()}))
	c := newClient(t, in.URL)
	const email, password = "traced@example.com", "correct horse battery staple"
	c.register(email, "Traced", password)
	const wrong = "a wrong password 123"
	res := c.do("POST", "/auth/login", map[string]string{"email": email, "password": wrong}).expect(t, 401, "invalid_credentials")
	correlation, _ := res.json(t)["correlation_id"].(string)

	spans := flushed(t, in, exp)
	var server *tracetest.SpanStub
	for i, s := range spans {
		if s.SpanKind == trace.SpanKindServer && s.Name == "POST /auth/login" {
			server = &spans[i]
		}
	}
	if server == nil {
		t.Fatalf("no server span named POST /auth/login among %d spans", len(spans))
	}
	tid := server.SpanContext.TraceID()
	if correlation != tid.String() {
		t.Errorf("problem correlation_id %q, want the trace ID %s", correlation, tid)
	}
	if h := res.Header.Get("X-Request-ID"); h != tid.String() {
		t.Errorf("X-Request-ID %q, want the trace ID %s", h, tid)
	}
	if server.Parent.IsValid() {
		t.Errorf("the server span has a parent %s; the request carried no trace context", server.Parent.SpanID())
	}

	sql, redis := checkTree(t, spans, *server, email, wrong)
	if len(sql) == 0 || len(redis) == 0 {
		t.Errorf("trace %s has SQL spans %q and Redis spans %q; want both", tid, sql, redis)
	}
}

// checkTree checks that every span of server's trace descends from server
// and that no attribute carries one of secrets, and returns the names of
// the trace's SQL and Redis spans.
func checkTree(t *testing.T, spans tracetest.SpanStubs, server tracetest.SpanStub, secrets ...string) (sql, redis []string) {
	t.Helper()
	byID := map[trace.SpanID]tracetest.SpanStub{}
	for _, s := range spans {
		if s.SpanContext.TraceID() == server.SpanContext.TraceID() {
			byID[s.SpanContext.SpanID()] = s
		}
	}
	root := server.SpanContext.SpanID()
	for id, s := range byID {
		if id == root {
			continue
		}
		if !descends(byID, s, root) {
			t.Errorf("span %q of the trace does not descend from the server span", s.Name)
		}
		switch {
		case attr(s, "db.system.name") == "sqlite":
			sql = append(sql, s.Name)
		case attr(s, "db.system") == "redis":
			redis = append(redis, s.Name)
		}
		for _, kv := range s.Attributes {
			for _, secret := range secrets {
				if v := kv.Value.String(); strings.Contains(v, secret) {
					t.Errorf("span %q attribute %s carries request data: %q", s.Name, kv.Key, v)
				}
			}
		}
	}
	return sql, redis
}

// descends reports whether s has ancestor among the spans of its trace.
func descends(byID map[trace.SpanID]tracetest.SpanStub, s tracetest.SpanStub, ancestor trace.SpanID) bool {
	for range len(byID) {
		p := s.Parent.SpanID()
		if p == ancestor {
			return true
		}
		next, ok := byID[p]
		if !ok {
			return false
		}
		s = next
	}
	return false
}

// With tracing off nothing is installed: no provider, no stage, no GORM
// callbacks, and the correlation ID is the app's own request ID.
func TestTracingOffByDefault(t *testing.T) {
	in := start(t, testEnv(t, nil))
	if in.app.tp != nil || in.app.traces != nil || in.app.tracing != nil {
		t.Fatal("tracing is set up without COVET_OTEL or an OTLP endpoint")
	}
	if in.app.db.Gorm().Callback().Query().Get("otel:before:select") != nil {
		t.Error("GORM tracing callbacks are installed with tracing off")
	}
	res := newClient(t, in.URL).do("GET", "/no/such/route", nil).expect(t, 404, "route_not_found")
	if id := res.Header.Get("X-Request-ID"); id == "" {
		t.Error("no correlation ID with tracing off")
	}
}

// The stdout and OTLP exporters receive the spans, and stopping the app
// flushes what the batcher still holds.
func TestTracingExportersFlushOnShutdown(t *testing.T) {
	t.Run("stdout", func(t *testing.T) {
		var out syncBuffer
		t.Cleanup(func() { // runs after the app has stopped
			if !strings.Contains(out.String(), `"Name":"GET /"`) {
				t.Errorf("stdout exporter wrote no span named GET /:\n%.2000s", out.String())
			}
		})
		in := launchConfigured(t, testEnv(t, map[string]string{"COVET_OTEL": "stdout"}), nil,
			func(c *config) { c.Tracing.Stdout = &out })
		waitReady(t, in)
		newClient(t, in.URL).do("GET", "/", nil).expect(t, 200, "")
	})
	t.Run("otlp", func(t *testing.T) {
		var mu sync.Mutex
		var posts []string
		collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			mu.Lock()
			posts = append(posts, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type")+" "+string(body))
			mu.Unlock()
			w.Header().Set("Content-Type", "application/x-protobuf")
		}))
		t.Cleanup(func() { // runs after the app has stopped
			collector.Close()
			mu.Lock()
			defer mu.Unlock()
			found := false
			for _, p := range posts {
				if strings.HasPrefix(p, "POST /v1/traces application/x-protobuf") && strings.Contains(p, "GET /") {
					found = true
				}
			}
			if !found {
				t.Errorf("the collector got no span for GET / (%d posts)", len(posts))
			}
		})
		in := start(t, testEnv(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": collector.URL}))
		if in.app.cfg.Tracing.Exporter != tracesOTLP {
			t.Fatalf("exporter %q with OTEL_EXPORTER_OTLP_ENDPOINT set, want otlp", in.app.cfg.Tracing.Exporter)
		}
		newClient(t, in.URL).do("GET", "/", nil).expect(t, 200, "")
	})
}

func TestLoadTracing(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		env      map[string]string
		exporter string
		url      string
		errVar   string
	}{
		{"off by default", nil, tracesOff, "", ""},
		{"stdout", map[string]string{"COVET_OTEL": "stdout"}, tracesStdout, "", ""},
		{"stdout wins over an endpoint", map[string]string{"COVET_OTEL": "Stdout", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, tracesStdout, "", ""},
		{"endpoint turns otlp on", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, tracesOTLP, "http://collector:4318/v1/traces", ""},
		{"endpoint with a base path", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://c.example/otel/"}, tracesOTLP, "https://c.example/otel/v1/traces", ""},
		{"traces endpoint is used as is", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://b:4318/custom"}, tracesOTLP, "http://b:4318/custom", ""},
		{"otlp without endpoint", map[string]string{"COVET_OTEL": "otlp"}, tracesOTLP, "http://localhost:4318/v1/traces", ""},
		{"off wins over an endpoint", map[string]string{"COVET_OTEL": "off", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, tracesOff, "", ""},
		{"SDK disabled", map[string]string{"COVET_OTEL": "stdout", "OTEL_SDK_DISABLED": "true"}, tracesOff, "", ""},
		{"unknown exporter", map[string]string{"COVET_OTEL": "jaeger"}, "", "", "COVET_OTEL"},
		{"endpoint without scheme", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, "", "", "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{"endpoint with credentials", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://u:p@c:4318"}, "", "", "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{"bad traces endpoint", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "ftp://c"}, "", "", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := loadTracing(func(k string) string { return tc.env[k] })
			if tc.errVar != "" {
				ce, ok := err.(*configError)
				if !ok || ce.Var != tc.errVar {
					t.Fatalf("error %v, want a configError naming %s", err, tc.errVar)
				}
				if strings.Contains(err.Error(), "u:p@") {
					t.Errorf("error repeats the credentials: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Exporter != tc.exporter || got.OTLPURL != tc.url {
				t.Errorf("got exporter %q url %q, want %q %q", got.Exporter, got.OTLPURL, tc.exporter, tc.url)
			}
		})
	}
}
