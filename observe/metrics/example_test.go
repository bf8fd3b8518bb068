package metrics_test

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/covetgo/covet/observe/metrics"
)

// The stage wrapped around a ServeMux, and the endpoint that exposes what
// it counted. The raw paths /notes/1 and /notes/2 share one series.
func ExampleMetrics_Handler() {
	m, err := metrics.New(metrics.Options{
		Registerer: prometheus.NewRegistry(),
		SkipPaths:  []string{"/metrics"},
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /notes/{id}", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("a note"))
	})
	mux.Handle("GET /metrics", m.Endpoint())
	h := m.Handler(mux)

	for _, path := range []string{"/notes/1", "/notes/2", "/nope"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
	}

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "http_requests_total") {
			fmt.Println(sc.Text())
		}
	}
	// Output:
	// http_requests_total{method="GET",route="/notes/{id}",status="200"} 2
	// http_requests_total{method="GET",route="unmatched",status="404"} 1
}
