package metrics_test

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/covetgo/covet/observe"
	"github.com/covetgo/covet/observe/metrics"
)

func newMetrics(t testing.TB, opts metrics.Options) (*metrics.Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	opts.Registerer = reg
	m, err := metrics.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return m, reg
}

// family returns the gathered metrics of one family, keyed by their labels
// as "k=v,k=v" in label-name order.
func family(t *testing.T, reg *prometheus.Registry, name string) map[string]*dto.Metric {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.Metric{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			var parts []string
			for _, lp := range m.GetLabel() {
				parts = append(parts, lp.GetName()+"="+lp.GetValue())
			}
			out[strings.Join(parts, ",")] = m
		}
	}
	return out
}

func serve(h http.Handler, method, target string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec
}

func TestLabelsComeFromPatterns(t *testing.T) {
	t.Parallel()
	m, reg := newMetrics(t, metrics.Options{})
	r := chi.NewRouter()
	r.Use(m.Handler)
	r.Get("/users/{id}", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("u")) })
	r.Post("/users", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusCreated) })

	serve(r, http.MethodGet, "/users/1")
	serve(r, http.MethodGet, "/users/2")
	serve(r, http.MethodGet, "/users/3?x=y")
	serve(r, http.MethodPost, "/users")
	serve(r, http.MethodGet, "/wp-admin/setup.php")
	serve(r, http.MethodGet, "/../../etc/passwd")

	got := family(t, reg, "http_requests_total")
	want := map[string]float64{
		"method=GET,route=/users/{id},status=200": 3,
		"method=POST,route=/users,status=201":     1,
		"method=GET,route=unmatched,status=404":   2,
	}
	if len(got) != len(want) {
		t.Errorf("series = %v, want %v", keys(got), want)
	}
	for k, v := range want {
		if m := got[k]; m == nil || m.GetCounter().GetValue() != v {
			t.Errorf("%s = %v, want %v", k, m.GetCounter().GetValue(), v)
		}
	}
	hist := family(t, reg, "http_request_duration_seconds")
	if h := hist["method=GET,route=/users/{id}"]; h == nil || h.GetHistogram().GetSampleCount() != 3 {
		t.Errorf("duration histogram = %v, want 3 samples for /users/{id}", keys(hist))
	}
}

func keys(m map[string]*dto.Metric) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestCardinalityBounded throws random paths and methods at the stage: the
// number of series must not follow the traffic.
func TestCardinalityBounded(t *testing.T) {
	t.Parallel()
	m, reg := newMetrics(t, metrics.Options{})
	mux := http.NewServeMux()
	mux.HandleFunc("/items/{id}", func(http.ResponseWriter, *http.Request) {})
	h := m.Handler(mux)
	methods := []string{"GET", "PROPFIND", "FOO", "BREW", "get", "M-SEARCH", "DELETE"}
	for i := range 2000 {
		req := httptest.NewRequest(http.MethodGet, fmt.Sprintf("/items/%d", i), nil)
		if i%3 == 0 {
			req = httptest.NewRequest(http.MethodGet, fmt.Sprintf("/random/%d/%x", i, i*7919), nil)
		}
		req.Method = methods[i%len(methods)]
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	got := family(t, reg, "http_requests_total")
	// methods: GET, DELETE, OTHER; routes: /items/{id}, unmatched; statuses: 200, 404.
	if len(got) > 3*2*2 {
		t.Errorf("%d series after random traffic, want at most 12: %v", len(got), keys(got))
	}
	for k := range got {
		if strings.Contains(k, "/random/") || strings.Contains(k, "/items/1") {
			t.Errorf("raw path in a label: %s", k)
		}
		for _, bad := range []string{"PROPFIND", "FOO", "BREW", "get", "M-SEARCH"} {
			if strings.Contains(k, "method="+bad+",") {
				t.Errorf("non-standard method kept as a label: %s", k)
			}
		}
	}
	if _, ok := got["method=OTHER,route=/items/{id},status=200"]; !ok {
		t.Errorf("non-standard methods not counted as OTHER: %v", keys(got))
	}
}

func TestMaxRoutesOverflow(t *testing.T) {
	t.Parallel()
	m, reg := newMetrics(t, metrics.Options{MaxRoutes: 2})
	h := m.Handler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		observe.SetRoute(r.Context(), r.URL.Path) // a careless app labelling by path
	}))
	for i := range 50 {
		serve(h, http.MethodGet, fmt.Sprintf("/p%d", i%10))
	}
	got := family(t, reg, "http_requests_total")
	want := map[string]float64{
		"method=GET,route=/p0,status=200":      5,
		"method=GET,route=/p1,status=200":      5,
		"method=GET,route=overflow,status=200": 40,
	}
	if len(got) != len(want) {
		t.Fatalf("series = %v", keys(got))
	}
	for k, v := range want {
		if got[k].GetCounter().GetValue() != v {
			t.Errorf("%s = %v, want %v", k, got[k].GetCounter().GetValue(), v)
		}
	}
}

func TestInFlightAndStatuses(t *testing.T) {
	t.Parallel()
	m, reg := newMetrics(t, metrics.Options{})
	release := make(chan struct{})
	entered := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /slow", func(http.ResponseWriter, *http.Request) {
		close(entered)
		<-release
	})
	mux.HandleFunc("GET /panic", func(http.ResponseWriter, *http.Request) { panic("boom") })
	mux.HandleFunc("GET /fail", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) })
	h := m.Handler(mux)

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		serve(h, http.MethodGet, "/slow")
	}()
	<-entered
	if v := family(t, reg, "http_requests_in_flight")[""].GetGauge().GetValue(); v != 1 {
		t.Errorf("in flight during a request = %v, want 1", v)
	}
	close(release)
	wg.Wait()
	if v := family(t, reg, "http_requests_in_flight")[""].GetGauge().GetValue(); v != 0 {
		t.Errorf("in flight after = %v, want 0", v)
	}

	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panic was swallowed")
			}
		}()
		serve(h, http.MethodGet, "/panic")
	}()
	serve(h, http.MethodGet, "/fail")
	got := family(t, reg, "http_requests_total")
	for _, k := range []string{
		"method=GET,route=/slow,status=200",
		"method=GET,route=/panic,status=500",
		"method=GET,route=/fail,status=502",
	} {
		if got[k].GetCounter().GetValue() != 1 {
			t.Errorf("%s missing: %v", k, keys(got))
		}
	}
	if v := family(t, reg, "http_requests_in_flight")[""].GetGauge().GetValue(); v != 0 {
		t.Errorf("in flight after a panic = %v, want 0", v)
	}
}

func TestSkipPaths(t *testing.T) {
	t.Parallel()
	m, reg := newMetrics(t, metrics.Options{SkipPaths: []string{"/metrics", "/healthz"}})
	h := m.Handler(http.NotFoundHandler())
	serve(h, http.MethodGet, "/metrics")
	serve(h, http.MethodGet, "/healthz")
	serve(h, http.MethodGet, "/other")
	var total float64
	for _, s := range family(t, reg, "http_requests_total") {
		total += s.GetCounter().GetValue()
	}
	if total != 1 {
		t.Errorf("counted %v requests, want 1", total)
	}
}

func TestEndpoint(t *testing.T) {
	t.Parallel()
	m, _ := newMetrics(t, metrics.Options{Namespace: "shop"})
	serve(m.Handler(http.NotFoundHandler()), http.MethodGet, "/x")
	rec := serve(m.Endpoint(), http.MethodGet, "/metrics")
	body := rec.Body.String()
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	for _, want := range []string{
		`shop_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`shop_http_request_duration_seconds_bucket{method="GET",route="unmatched",le="+Inf"} 1`,
		`shop_http_requests_in_flight 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("exposition lacks %q:\n%s", want, body)
		}
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts metrics.Options
	}{
		{"namespace with dash", metrics.Options{Namespace: "my-app"}},
		{"namespace with space", metrics.Options{Namespace: "a b"}},
		{"negative max routes", metrics.Options{MaxRoutes: -1}},
		{"empty buckets", metrics.Options{Buckets: []float64{}}},
		{"decreasing buckets", metrics.Options{Buckets: []float64{1, 0.5}}},
		{"repeated bucket", metrics.Options{Buckets: []float64{0.1, 0.1}}},
		{"NaN bucket", metrics.Options{Buckets: []float64{0.1, math.NaN()}}},
		{"relative skip path", metrics.Options{SkipPaths: []string{"metrics"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Registerer = prometheus.NewRegistry()
			if m, err := metrics.New(tc.opts); err == nil || m != nil {
				t.Errorf("New = %v, %v; want an error", m, err)
			}
		})
	}
}

func TestNewSharesCollectorsOnOneRegistry(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	a, err := metrics.New(metrics.Options{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	b, err := metrics.New(metrics.Options{Registerer: reg})
	if err != nil {
		t.Fatalf("second New on the same registry: %v", err)
	}
	serve(a.Handler(http.NotFoundHandler()), http.MethodGet, "/")
	serve(b.Handler(http.NotFoundHandler()), http.MethodGet, "/")
	if v := family(t, reg, "http_requests_total")["method=GET,route=unmatched,status=404"].GetCounter().GetValue(); v != 2 {
		t.Errorf("shared counter = %v, want 2", v)
	}

	// A different collector under the same name is a conflict, reported.
	clash := prometheus.NewRegistry()
	clash.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Subsystem: "http", Name: "requests_total", Help: "x"}))
	if m, err := metrics.New(metrics.Options{Registerer: clash}); err == nil || m != nil {
		t.Errorf("New on a clashing registry = %v, %v; want an error", m, err)
	}
}

func TestSharedRecordWithAccessLog(t *testing.T) {
	t.Parallel()
	m, reg := newMetrics(t, metrics.Options{})
	al, err := observe.NewAccessLog(observe.AccessLogOptions{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	copying := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(r.Context()))
		})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /a/{x}", func(http.ResponseWriter, *http.Request) {})
	h := m.Handler(al.Handler(copying(observe.CaptureRoute(mux))))
	serve(h, http.MethodGet, "/a/1")
	if _, ok := family(t, reg, "http_requests_total")["method=GET,route=/a/{x},status=200"]; !ok {
		t.Errorf("route captured inside did not reach the metrics: %v", keys(family(t, reg, "http_requests_total")))
	}
}

func TestWriterInterfaces(t *testing.T) {
	t.Parallel()
	m, reg := newMetrics(t, metrics.Options{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, _ *http.Request) {
		rc := http.NewResponseController(w)
		if err := rc.SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Errorf("SetWriteDeadline: %v", err)
		}
		_, _ = io.WriteString(w, "a")
		if err := rc.Flush(); err != nil {
			t.Errorf("Flush: %v", err)
		}
		if _, err := w.(io.ReaderFrom).ReadFrom(strings.NewReader("bc")); err != nil {
			t.Errorf("ReadFrom: %v", err)
		}
	})
	mux.HandleFunc("GET /hijack", func(w http.ResponseWriter, _ *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		defer conn.Close()
		_, _ = brw.WriteString("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
		_ = brw.Flush()
	})
	srv := httptest.NewServer(m.Handler(mux))
	defer srv.Close()
	for _, p := range []string{"/stream", "/hijack"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if p == "/stream" && string(b) != "abc" {
			t.Errorf("body %q", b)
		}
	}
	var got map[string]*dto.Metric
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if got = family(t, reg, "http_requests_total"); len(got) == 2 {
			break
		}
	}
	for _, k := range []string{"method=GET,route=/stream,status=200", "method=GET,route=/hijack,status=0"} {
		if got[k] == nil {
			t.Errorf("%s missing: %v", k, keys(got))
		}
	}
}

func BenchmarkHandler(b *testing.B) {
	m, _ := newMetrics(b, metrics.Options{})
	r := chi.NewRouter()
	r.Use(m.Handler)
	r.Get("/users/{id}", func(http.ResponseWriter, *http.Request) {})
	req := httptest.NewRequest(http.MethodGet, "/users/1", nil)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		r.ServeHTTP(w, req)
	}
}
