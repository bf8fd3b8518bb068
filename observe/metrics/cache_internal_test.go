package metrics

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/covetgo/covet/observe"
)

// TestSeriesCacheBounded: an app that labels by raw path must not grow
// the stage's own cache either, only the overflow series.
func TestSeriesCacheBounded(t *testing.T) {
	t.Parallel()
	m, err := New(Options{Registerer: prometheus.NewRegistry(), MaxRoutes: 5})
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		observe.SetRoute(r.Context(), r.URL.Path)
	}))
	for i := range 10000 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/p/"+strconv.Itoa(i), nil))
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if len(m.routes) != 5 || len(m.series) != 6 {
		t.Errorf("routes %d, series %d after 10000 distinct paths; want 5 and 6", len(m.routes), len(m.series))
	}
}
