package tracing_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/observe"
	"github.com/covetgo/covet/observe/tracing"
)

// An incoming trace context: trace 4bf9...4736, span 00f0...02b7, sampled.
const (
	incomingTraceID     = "4bf92f3577b34da6a3ce929d0e0e4736"
	incomingSpanID      = "00f067aa0ba902b7"
	incomingTraceparent = "00-" + incomingTraceID + "-" + incomingSpanID + "-01"
)

var w3c = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

func newStage(t *testing.T, rec trace.TracerProvider, opts tracing.Options) *tracing.Stage {
	t.Helper()
	opts.TracerProvider = rec
	if opts.Propagators == nil {
		opts.Propagators = w3c
	}
	s, err := tracing.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// onlySpan returns the one span the request ended, failing otherwise.
func onlySpan(t *testing.T, rec *recorder) *recSpan {
	t.Helper()
	spans := rec.ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans ended, want 1", len(spans))
	}
	return spans[0]
}

func serve(h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func ok(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }

// The routers the naming test mounts the stage on.

func chiRouter(s *tracing.Stage) http.Handler {
	r := chi.NewRouter()
	r.Use(s.Handler)
	r.Get("/notes/{id}", ok)
	r.Route("/users/{user}", func(r chi.Router) { r.Get("/files/*", ok) })
	return r
}

func serveMux(s *tracing.Stage) http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("GET /notes/{id}", ok)
	m.HandleFunc("/users/{user}/files/", ok)
	return s.Handler(m)
}

// copyingMux has a stage between the tracing stage and the mux that copies
// the request, hiding r.Pattern; CaptureRoute hands it back.
func copyingMux(s *tracing.Stage) http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("GET /notes/{id}", ok)
	copying := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(r.Context()))
		})
	}
	return s.Handler(copying(observe.CaptureRoute(m)))
}

func TestSpanNamedByRoutePattern(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		router    func(*tracing.Stage) http.Handler
		method    string
		target    string
		wantName  string
		wantRoute string // "" when no http.route attribute
		wantCode  int
	}{
		{"chi", chiRouter, "GET", "/notes/42", "GET /notes/{id}", "/notes/{id}", 200},
		{"chi subrouter", chiRouter, "GET", "/users/7/files/a/b", "GET /users/{user}/files/*", "/users/{user}/files/*", 200},
		{"chi unmatched", chiRouter, "GET", "/secret/abc123", "GET", "", 404},
		{"chi wrong method", chiRouter, "POST", "/notes/42", "POST", "", 405},
		{"chi unknown method", chiRouter, "BREW", "/notes/42", "HTTP", "", 405},
		{"mux", serveMux, "GET", "/notes/42", "GET /notes/{id}", "/notes/{id}", 200},
		{"mux subtree", serveMux, "PUT", "/users/7/files/x", "PUT /users/{user}/files/", "/users/{user}/files/", 200},
		{"mux unmatched", serveMux, "GET", "/secret/abc123", "GET", "", 404},
		{"mux behind a copying stage", copyingMux, "GET", "/notes/42", "GET /notes/{id}", "/notes/{id}", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{}
			h := tt.router(newStage(t, rec, tracing.Options{}))
			w := serve(h, httptest.NewRequest(tt.method, tt.target, nil))
			if w.Code != tt.wantCode {
				t.Fatalf("status %d, want %d", w.Code, tt.wantCode)
			}
			s := onlySpan(t, rec)
			if s.name != tt.wantName {
				t.Errorf("span name %q, want %q", s.name, tt.wantName)
			}
			route, has := s.attr(tracing.RouteKey)
			if tt.wantRoute == "" && has {
				t.Errorf("http.route = %q on an unmatched request", route)
			} else if tt.wantRoute != "" && route != tt.wantRoute {
				t.Errorf("http.route = %q, want %q", route, tt.wantRoute)
			}
			if s.kind != trace.SpanKindServer {
				t.Errorf("span kind %v, want server", s.kind)
			}
			if code, _ := s.attr("http.response.status_code"); code != strconv.Itoa(tt.wantCode) {
				t.Errorf("http.response.status_code = %q, want %d", code, tt.wantCode)
			}
			if m, _ := s.attr("http.request.method"); m == "" {
				t.Error("no http.request.method attribute")
			}
			for k, v := range s.attrs {
				if strings.Contains(v.String(), "abc123") && k != "url.path" {
					t.Errorf("attribute %s = %q carries the raw path", k, v.String())
				}
			}
		})
	}
}

func TestIncomingTraceContextTrust(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		opts      tracing.Options
		remote    string
		continues bool
	}{
		{"untrusted by default", tracing.Options{}, "203.0.113.9:4000", false},
		{"trusted proxy", tracing.Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}, "10.1.2.3:4000", true},
		{"trusted proxy, mapped address", tracing.Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}, "[::ffff:10.1.2.3]:4000", true},
		{"outside the trusted proxies", tracing.Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}, "203.0.113.9:4000", false},
		{"TrustIncoming yes", tracing.Options{TrustIncoming: func(r *http.Request) bool { return r.Header.Get("X-Gw") == "1" }}, "203.0.113.9:4000", true},
		{"TrustAllIncoming", tracing.Options{TrustAllIncoming: true}, "203.0.113.9:4000", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{}
			var seenID string
			h := newStage(t, rec, tt.opts).Handler(observe.RequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seenID = observe.RequestIDFrom(r.Context())
			})))
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = tt.remote
			req.Header.Set("Traceparent", incomingTraceparent)
			req.Header.Set("Tracestate", "congo=t61rcWkgMzE")
			req.Header.Set("X-Gw", "1")
			w := serve(h, req)
			s := onlySpan(t, rec)
			got := s.sc.TraceID().String()
			if tt.continues {
				if got != incomingTraceID || s.parent.SpanID().String() != incomingSpanID {
					t.Errorf("trace %s parent %s, want the incoming trace continued", got, s.parent.SpanID())
				}
				if ts := s.parent.TraceState().String(); ts != "congo=t61rcWkgMzE" {
					t.Errorf("parent tracestate %q, want the trusted peer's", ts)
				}
			} else {
				if got == incomingTraceID || s.parent.IsValid() {
					t.Errorf("an untrusted peer chose the trace (%s)", got)
				}
				if len(s.links) != 1 || s.links[0].SpanContext.TraceID().String() != incomingTraceID {
					t.Fatalf("links %v, want one to the offered span context", s.links)
				}
				if ts := s.links[0].SpanContext.TraceState().String(); ts != "" {
					t.Errorf("link tracestate %q, want an untrusted peer's dropped", ts)
				}
			}
			if seenID != got || w.Header().Get("X-Request-ID") != got {
				t.Errorf("correlation ID %q, header %q, want the trace ID %s", seenID, w.Header().Get("X-Request-ID"), got)
			}
			for _, h := range []string{"Traceparent", "Traceresponse", "Tracestate"} {
				if v := w.Header().Get(h); v != "" {
					t.Errorf("response header %s: %q, want none", h, v)
				}
			}
		})
	}
}

// A malformed traceparent is ignored: the request gets a fresh trace.
func TestMalformedTraceparent(t *testing.T) {
	t.Parallel()
	for _, tp := range []string{
		"", "garbage", "00-" + incomingTraceID + "-" + incomingSpanID, // too short
		"00-00000000000000000000000000000000-" + incomingSpanID + "-01", // zero trace ID
		"00-" + incomingTraceID + "-0000000000000000-01",                // zero span ID
		"ff-" + incomingTraceID + "-" + incomingSpanID + "-01",          // forbidden version
		"00-" + strings.ToUpper(incomingTraceID) + "-" + incomingSpanID + "-01",
		"00-" + incomingTraceID + "-" + incomingSpanID + "-01-extra",
		strings.Repeat("0", 8<<10),
	} {
		rec := &recorder{}
		h := newStage(t, rec, tracing.Options{TrustAllIncoming: true}).Handler(http.HandlerFunc(ok))
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Traceparent", tp)
		if w := serve(h, req); w.Code != 200 {
			t.Fatalf("traceparent %.40q: status %d", tp, w.Code)
		}
		s := onlySpan(t, rec)
		if s.parent.IsValid() || !s.sc.IsValid() || s.sc.TraceID().String() == incomingTraceID {
			t.Errorf("traceparent %.40q: parent %v, trace %s, want a fresh trace", tp, s.parent.IsValid(), s.sc.TraceID())
		}
	}
}

func FuzzTraceContextHeaders(f *testing.F) {
	f.Add(incomingTraceparent, "congo=t61rcWkgMzE", "user=alice")
	f.Add("00-"+incomingTraceID+"-"+incomingSpanID+"-ff", "a=b,c=d", "k=v;p")
	f.Add("garbage", "=", ",,,")
	f.Fuzz(func(t *testing.T, traceparent, tracestate, bag string) {
		rec := &recorder{}
		var correlation string
		h := newStage(t, rec, tracing.Options{TrustAllIncoming: true}).Handler(observe.RequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			correlation = observe.RequestIDFrom(r.Context())
		})))
		req := httptest.NewRequest("GET", "/", nil)
		req.Header["Traceparent"] = []string{traceparent}
		req.Header["Tracestate"] = []string{tracestate}
		req.Header["Baggage"] = []string{bag}
		if w := serve(h, req); w.Code != 200 {
			t.Fatalf("status %d", w.Code)
		}
		s := onlySpan(t, rec)
		if !s.sc.IsValid() || correlation != s.sc.TraceID().String() {
			t.Fatalf("span %v, correlation %q", s.sc, correlation)
		}
		if s.parent.IsValid() && s.parent.TraceID() != s.sc.TraceID() {
			t.Fatalf("span's trace %s differs from its parent's %s", s.sc.TraceID(), s.parent.TraceID())
		}
	})
}

// Baggage reaches the handler (and so the calls it makes downstream) only
// from a peer whose trace context is continued, whether or not a span can
// record.
func TestBaggageWhenConfigured(t *testing.T) {
	t.Parallel()
	gateway := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	for _, tt := range []struct {
		name        string
		provider    trace.TracerProvider
		propagators propagation.TextMapPropagator
		remote      string
		want        string
	}{
		{"with the baggage propagator", &recorder{}, w3c, "10.1.2.3:4000", "alice"},
		{"trace context only", &recorder{}, propagation.TraceContext{}, "10.1.2.3:4000", ""},
		{"untrusted peer", &recorder{}, w3c, "203.0.113.9:4000", ""},
		{"untrusted peer, no-op provider", tracenoop.NewTracerProvider(), w3c, "203.0.113.9:4000", ""},
		{"trusted peer, no-op provider", tracenoop.NewTracerProvider(), w3c, "10.1.2.3:4000", "alice"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got string
			h := newStage(t, tt.provider, tracing.Options{Propagators: tt.propagators, TrustedProxies: gateway}).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = baggage.FromContext(r.Context()).Member("user").Value()
			}))
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = tt.remote
			req.Header.Set("Baggage", "user=alice")
			serve(h, req)
			if got != tt.want {
				t.Errorf("baggage user = %q, want %q", got, tt.want)
			}
		})
	}
}

// The trace ID is the correlation ID everywhere: header, problem body and
// access log, which also carries trace_id and span_id; an incoming
// X-Request-ID is kept as its own field and span attribute.
func TestCorrelationIDIsTraceID(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		trust     bool
		wantField string
		wantAttr  attribute.Key
	}{
		{"untrusted incoming ID", false, observe.OfferedRequestIDAttr, "covet.request_id.offered"},
		{"trusted incoming ID", true, observe.IncomingRequestIDAttr, "covet.request_id.incoming"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{}
			var logBuf bytes.Buffer
			r := correlatedStack(t, rec, &logBuf, tt.trust)
			req := httptest.NewRequest("GET", "/notes/9", nil)
			req.Header.Set("X-Request-ID", "gateway-id-1")
			w := serve(r, req)

			s := onlySpan(t, rec)
			traceID, spanID := s.sc.TraceID().String(), s.sc.SpanID().String()
			var problem struct {
				CorrelationID string `json:"correlation_id"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &problem); err != nil {
				t.Fatalf("problem body %q: %v", w.Body, err)
			}
			if problem.CorrelationID != traceID || w.Header().Get("X-Request-ID") != traceID {
				t.Errorf("correlation_id %q, header %q, want trace ID %s", problem.CorrelationID, w.Header().Get("X-Request-ID"), traceID)
			}
			var line map[string]any
			if err := json.Unmarshal(logBuf.Bytes(), &line); err != nil {
				t.Fatalf("log %q: %v", logBuf.String(), err)
			}
			for k, want := range map[string]string{
				"request_id": traceID, "trace_id": traceID, "span_id": spanID,
				tt.wantField: "gateway-id-1", "route": "/notes/{id}",
			} {
				if line[k] != want {
					t.Errorf("log %s = %v, want %q", k, line[k], want)
				}
			}
			if v, _ := s.attr(tt.wantAttr); v != "gateway-id-1" {
				t.Errorf("span %s = %q, want the incoming ID", tt.wantAttr, v)
			}
			if s.name != "GET /notes/{id}" {
				t.Errorf("span name %q", s.name)
			}
		})
	}
}

// correlatedStack is tracing, RequestID and the access log (into logBuf)
// on a chi router whose one route answers with a 404 problem.
func correlatedStack(t *testing.T, rec *recorder, logBuf *bytes.Buffer, trustIDs bool) http.Handler {
	t.Helper()
	accessLog, err := observe.NewAccessLog(observe.AccessLogOptions{Logger: slog.New(slog.NewJSONHandler(logBuf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	requestID, err := observe.NewRequestID(observe.RequestIDOptions{TrustAllIncoming: trustIDs})
	if err != nil {
		t.Fatal(err)
	}
	r := chi.NewRouter()
	r.Use(newStage(t, rec, tracing.Options{}).Handler, requestID.Handler, accessLog.Handler)
	r.Get("/notes/{id}", errs.Handle(func(w http.ResponseWriter, r *http.Request) error {
		return errs.New(errs.KindNotFound, "note_not_found", "no such note")
	}))
	return r
}

// With the API's no-op provider the stage starts no span and allocates
// nothing for an untrusted peer; a trusted peer's trace context is still
// handed on (as a remote span context) to calls made downstream. Not
// parallel: it counts allocations.
func TestNoopProviderStartsNoSpan(t *testing.T) {
	for _, trusted := range []bool{false, true} {
		s := newStage(t, tracenoop.NewTracerProvider(), tracing.Options{TrustIncoming: func(*http.Request) bool { return trusted }})
		var inner trace.SpanContext
		h := s.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			inner = trace.SpanContextFromContext(r.Context())
		}))
		req := httptest.NewRequest("GET", "/", nil)
		req.Header.Set("Traceparent", incomingTraceparent)
		serve(h, req)
		if got := inner.IsValid() && inner.IsRemote() && inner.TraceID().String() == incomingTraceID; got != trusted {
			t.Errorf("trusted %v: handler sees span context %v (remote %v)", trusted, inner.TraceID(), inner.IsRemote())
		}
		if !trusted {
			assertNoAllocs(t, s, req)
		}
	}
}

// Without a tracer provider that records, an incoming traceparent stays a
// remote span context: it is neither logged nor the correlation ID.
func TestNoopProviderKeepsRandomCorrelationID(t *testing.T) {
	t.Parallel()
	var id string
	h := newStage(t, tracenoop.NewTracerProvider(), tracing.Options{TrustAllIncoming: true}).Handler(observe.RequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id = observe.RequestIDFrom(r.Context())
	})))
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Traceparent", incomingTraceparent)
	serve(h, req)
	if id == "" || id == incomingTraceID {
		t.Errorf("correlation ID %q, want a fresh random one", id)
	}
}

func TestSkipPaths(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	h := newStage(t, rec, tracing.Options{SkipPaths: []string{"/healthz"}}).Handler(http.HandlerFunc(ok))
	serve(h, httptest.NewRequest("GET", "/healthz", nil))
	if n := len(rec.ended()); n != 0 {
		t.Errorf("%d spans for a skipped path", n)
	}
	serve(h, httptest.NewRequest("GET", "/healthz/x", nil))
	if n := len(rec.ended()); n != 1 {
		t.Errorf("%d spans for a path not skipped, want 1", n)
	}
}

func TestNewRefusesInvalidOptions(t *testing.T) {
	t.Parallel()
	for name, opts := range map[string]tracing.Options{
		"invalid prefix": {TrustedProxies: []netip.Prefix{{}}},
		// A network holding every address trusts every client: that is
		// TrustAllIncoming, said openly, never a proxy network.
		"every IPv4 address":   {TrustedProxies: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}},
		"every IPv6 address":   {TrustedProxies: []netip.Prefix{netip.MustParsePrefix("::/0")}},
		"every mapped address": {TrustedProxies: []netip.Prefix{netip.MustParsePrefix("::ffff:0.0.0.0/96")}},
		"relative skip":        {SkipPaths: []string{"healthz"}},
		"empty skip":           {SkipPaths: []string{""}},
	} {
		if _, err := tracing.New(opts); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
}
