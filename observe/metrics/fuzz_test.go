package metrics_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/covetgo/covet/observe"
	"github.com/covetgo/covet/observe/metrics"
)

// FuzzLabels sends arbitrary methods and paths through the stage around a
// ServeMux: every label value must come from a fixed set, whatever the
// request says.
func FuzzLabels(f *testing.F) {
	f.Add("GET", "/items/1")
	f.Add("PROPFIND", "/items/%00")
	f.Add("get", "/../../etc/passwd")
	f.Add("", "")
	f.Add("GET", "/items/a/b")
	reg := prometheus.NewRegistry()
	m, err := metrics.New(metrics.Options{Registerer: reg})
	if err != nil {
		f.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/items/{id}", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("POST /orders", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusCreated) })
	h := m.Handler(mux)
	methods := []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE", metrics.OtherMethod}
	routes := []string{"/items/{id}", "/orders", observe.UnmatchedRoute}
	f.Fuzz(func(t *testing.T, method, path string) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Method = method
		req.URL = &url.URL{Path: path}
		req.RequestURI = path
		h.ServeHTTP(httptest.NewRecorder(), req)
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			for _, mt := range mf.GetMetric() {
				for _, lp := range mt.GetLabel() {
					switch lp.GetName() {
					case "method":
						if !slices.Contains(methods, lp.GetValue()) {
							t.Fatalf("method label %q", lp.GetValue())
						}
					case "route":
						if !slices.Contains(routes, lp.GetValue()) {
							t.Fatalf("route label %q", lp.GetValue())
						}
					}
				}
			}
		}
	})
}
