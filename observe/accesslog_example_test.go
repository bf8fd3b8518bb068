package observe_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"

	"github.com/go-chi/chi/v5"

	"github.com/covetgo/covet/observe"
)

// stableJSON writes JSON records to stdout without the time and duration,
// so the example's output does not change from run to run.
func stableJSON() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "duration" {
				return slog.Attr{}
			}
			return a
		},
	}))
}

// AccessLog mounted on a chi router: the record names the route pattern,
// not the path, and carries what the handler added.
func ExampleAccessLogStage_Handler() {
	accessLog, err := observe.NewAccessLog(observe.AccessLogOptions{
		Logger:    stableJSON(),
		SkipPaths: []string{"/healthz"},
	})
	if err != nil {
		panic(err)
	}
	// The gateway in front (192.0.2.0/24 here) sets X-Request-ID; an ID
	// from anyone else would be replaced and logged as offered_request_id.
	ids, err := observe.NewRequestID(observe.RequestIDOptions{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}})
	if err != nil {
		panic(err)
	}
	r := chi.NewRouter()
	r.Use(ids.Handler, accessLog.Handler)
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {})
	r.Get("/notes/{id}", func(w http.ResponseWriter, r *http.Request) {
		observe.AddAttrs(r.Context(), slog.String("user", "alice"))
		_, _ = w.Write([]byte("note " + chi.URLParam(r, "id")))
	})

	for _, path := range []string{"/notes/42", "/healthz", "/missing"} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("X-Request-ID", "example-1")
		r.ServeHTTP(httptest.NewRecorder(), req)
	}
	// Output:
	// {"level":"INFO","msg":"http request","method":"GET","route":"/notes/{id}","status":200,"bytes":7,"client_ip":"192.0.2.1","request_id":"example-1","user":"alice"}
	// {"level":"WARN","msg":"http request","method":"GET","route":"unmatched","status":404,"bytes":19,"client_ip":"192.0.2.1","request_id":"example-1"}
}

// With http.ServeMux, put CaptureRoute right around the mux when stages
// between AccessLog and the mux copy the request.
func ExampleCaptureRoute() {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /orders/{id}/items", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusCreated)
	})
	accessLog, err := observe.NewAccessLog(observe.AccessLogOptions{Logger: stableJSON()})
	if err != nil {
		panic(err)
	}
	authn := func(next http.Handler) http.Handler { // any stage that copies the request
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(r.Context()))
		})
	}
	h := accessLog.Handler(authn(observe.CaptureRoute(mux)))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/orders/7/items", nil))
	// Output:
	// {"level":"INFO","msg":"http request","method":"POST","route":"/orders/{id}/items","status":201,"bytes":0,"client_ip":"192.0.2.1"}
}

// With Writer, records skip slog and are encoded straight into JSON lines
// (the same bytes slog's JSON handler writes), for busy services where the
// access log is the largest cost of a request.
func ExampleAccessLogOptions_writer() {
	var lines bytes.Buffer // os.Stdout, a file, a log shipper's pipe
	accessLog, err := observe.NewAccessLog(observe.AccessLogOptions{Writer: &lines})
	if err != nil {
		panic(err)
	}
	r := chi.NewRouter()
	r.Use(observe.RequestID, accessLog.Handler)
	r.Get("/notes/{id}", func(w http.ResponseWriter, r *http.Request) {
		observe.AddAttrs(r.Context(), slog.String("user", "alice"))
		_, _ = w.Write([]byte("note"))
	})
	r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/notes/42", nil))

	var rec struct {
		Level, Msg, Method, Route, User string
		Status                          int
	}
	if err := json.Unmarshal(lines.Bytes(), &rec); err != nil {
		panic(err)
	}
	fmt.Println(rec.Level, rec.Method, rec.Route, rec.Status, rec.User)
	// Output:
	// INFO GET /notes/{id} 200 alice
}
