package metrics_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/covetgo/covet/observe/metrics"
)

const openMetricsAccept = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"

// scrape fetches the endpoint as a scraper asking for accept would, and
// returns the Content-Type and body.
func scrape(t *testing.T, h http.Handler, accept string) (string, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape: status %d", rec.Code)
	}
	body, _ := io.ReadAll(rec.Body)
	return rec.Header().Get("Content-Type"), string(body)
}

// withSpan returns a request whose context holds a remote span context
// with the given trace ID and flags, as a tracing stage leaves it.
func withSpan(target string, tid trace.TraceID, flags trace.TraceFlags) *http.Request {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    tid,
		SpanID:     trace.SpanID{1, 2, 3, 4, 5, 6, 7, 8},
		TraceFlags: flags,
	})
	return req.WithContext(trace.ContextWithSpanContext(req.Context(), sc))
}

func TestExemplarCarriesSampledTraceID(t *testing.T) {
	t.Parallel()
	m, _ := newMetrics(t, metrics.Options{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sampled", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("GET /unsampled", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("GET /untraced", func(http.ResponseWriter, *http.Request) {})
	h := m.Handler(mux)

	sampled := trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	unsampled := trace.TraceID{0xaa, 0xbb, 0xcc, 0xdd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}
	h.ServeHTTP(httptest.NewRecorder(), withSpan("/sampled", sampled, trace.FlagsSampled))
	h.ServeHTTP(httptest.NewRecorder(), withSpan("/unsampled", unsampled, 0))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/untraced", nil))

	ctype, body := scrape(t, m.Endpoint(), openMetricsAccept)
	if !strings.HasPrefix(ctype, "application/openmetrics-text") {
		t.Fatalf("Content-Type %q, want OpenMetrics", ctype)
	}
	// An exemplar follows a bucket sample: `... # {trace_id="..."} value timestamp`.
	exemplar := regexp.MustCompile(`(?m)^http_request_duration_seconds_bucket\{[^}]*route="([^"]+)"[^}]*\} \d+ # \{trace_id="([0-9a-f]+)"\} [0-9.e+-]+`)
	found := exemplar.FindAllStringSubmatch(body, -1)
	if len(found) != 1 {
		t.Fatalf("%d exemplars, want 1 (the sampled request's):\n%s", len(found), body)
	}
	if route, tid := found[0][1], found[0][2]; route != "/sampled" || tid != sampled.String() {
		t.Errorf("exemplar on route %q with trace_id %q, want %q on /sampled", route, tid, sampled.String())
	}
	if strings.Contains(body, unsampled.String()) {
		t.Error("the unsampled request's trace ID is in the scrape")
	}
}

// A scraper that does not ask for OpenMetrics gets the classic text
// format, which has no exemplars, and the same counts.
func TestClassicScrapeWithoutExemplars(t *testing.T) {
	t.Parallel()
	m, _ := newMetrics(t, metrics.Options{})
	h := m.Handler(http.NotFoundHandler())
	tid := trace.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	h.ServeHTTP(httptest.NewRecorder(), withSpan("/x", tid, trace.FlagsSampled))

	ctype, body := scrape(t, m.Endpoint(), "")
	if !strings.HasPrefix(ctype, "text/plain") {
		t.Fatalf("Content-Type %q, want the classic text format", ctype)
	}
	if strings.Contains(body, tid.String()) || strings.Contains(body, "# {") {
		t.Errorf("classic text format carries an exemplar:\n%s", body)
	}
	if !strings.Contains(body, `http_request_duration_seconds_count{method="GET",route="unmatched"} 1`) {
		t.Errorf("the request is not counted:\n%s", body)
	}
}

// Observing a request without a span, or with an unsampled one, adds no
// allocation to the stage.
func TestNoExemplarAllocationsWhenUnsampled(t *testing.T) {
	m, _ := newMetrics(t, metrics.Options{})
	h := m.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	plain := httptest.NewRequest(http.MethodGet, "/x", nil)
	unsampled := withSpan("/x", trace.TraceID{9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9}, 0)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, plain) // warm the series cache
	base := testing.AllocsPerRun(200, func() { h.ServeHTTP(w, plain) })
	got := testing.AllocsPerRun(200, func() { h.ServeHTTP(w, unsampled) })
	if got > base {
		t.Errorf("an unsampled span costs %.0f allocations per request, a request without one %.0f", got, base)
	}
}

// The cost of the exemplar: a request whose span is sampled, next to
// BenchmarkHandler (no span).
func BenchmarkHandlerSampledSpan(b *testing.B) {
	m, _ := newMetrics(b, metrics.Options{})
	h := m.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	req := withSpan("/users/1", trace.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, trace.FlagsSampled)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}
