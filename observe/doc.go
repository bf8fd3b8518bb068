// Package observe makes every request traceable: a correlation ID on the
// request and the response, and one structured access-log record per
// request on log/slog. Its subpackage metrics exports Prometheus RED
// metrics with the same route labels.
//
// RequestID makes a random 128-bit correlation ID for every request, sets it
// on the response and puts it in the context, where RequestIDFrom reads it;
// errs puts it in every problem response as correlation_id, so a client's
// report leads straight to the log line. A client does not choose its ID:
// an incoming X-Request-ID is kept only from a trusted gateway
// (RequestIDOptions.TrustedProxies or TrustIncoming, which can share a
// clientip.Resolver's trust), and from anyone else it is logged apart as
// offered_request_id.
//
// AccessLog logs method, route pattern (never the raw path, which would
// leak IDs into dashboards and blow up label cardinality), status, bytes,
// duration, client IP and request ID, at Error for 5xx, Warn for 4xx and
// Info otherwise. Inner stages and handlers see a copied request, so they
// write to the record through the context: AddAttrs adds attributes (the
// user, a tenant) and SetRoute names the route; CaptureRoute copies the
// pattern a router matched when stages between it and AccessLog copy the
// request. With AccessLogOptions.Writer the records skip slog and are
// encoded straight into JSON lines, the same bytes slog's JSON handler
// writes, for services where the access log is the largest cost of a
// request.
//
// When a span this process started is active in the request's context (put
// there by observe/tracing, mounted before RequestID), the correlation ID is
// its trace ID, and access-log lines also carry trace_id and span_id; an
// incoming X-Request-ID is then kept apart, as offered_request_id or, from a
// trusted gateway, incoming_request_id. Only the OpenTelemetry API is used.
//
// The package imports no other Covet package, so any stage can use it.
//
// # Correlation IDs
//
// observe.RequestID keeps a well-formed incoming X-Request-ID (at most 64
// characters of [A-Za-z0-9._:/+=@-]) or makes a random 128-bit one, sets it on the
// response and in the context (observe.RequestIDFrom(ctx)); every problem response
// carries it as correlation_id.
//
// # Access logs keyed by route, not path
//
// observe.AccessLog writes one log/slog record per request: method, route, status,
// bytes, duration, client_ip, request_id, then whatever inner stages added with
// observe.AddAttrs(ctx, ...) (the user, the tenant). The level follows the status: 5xx and
// panics are Error, 4xx Warn, the rest Info. route is the pattern the router matched
// (/notes/{id}, from chi or http.ServeMux), never the raw path, so a URL scan cannot flood
// the log with new values and the same function (observe.Route) feeds the metric labels.
// Inner stages see a copied request, but the record travels in the context, so
// observe.SetRoute and observe.AddAttrs from deep inside still reach the log line. Probe
// paths can be skipped; the writer wrapper is pooled and keeps Flusher, Hijacker,
// io.ReaderFrom and Unwrap, so http.ResponseController works through it.
//
//	clientIP := func(r *http.Request) string { // with a clientip.Resolver
//		if a := resolver.ClientIP(r); a.IsValid() {
//			return a.String()
//		}
//		return "unknown" // a trusted proxy named no usable address
//	}
//	accessLog, err := observe.NewAccessLog(observe.AccessLogOptions{
//		Logger:    slog.New(slog.NewJSONHandler(os.Stdout, nil)),
//		ClientIP:  clientIP,
//		SkipPaths: []string{"/healthz", "/readyz"},
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	r := chi.NewRouter()
//	r.Use(observe.RequestID, errs.Recover, accessLog.Handler)
//	r.Get("/notes/{id}", func(w http.ResponseWriter, r *http.Request) {
//		observe.AddAttrs(r.Context(), slog.String("user", "alice"))
//		w.Write([]byte("note"))
//	})
//	// {"time":"...","level":"INFO","msg":"http request","method":"GET","route":"/notes/{id}",
//	//  "status":200,"bytes":4,"duration":181000,"client_ip":"203.0.113.7",
//	//  "request_id":"5f0c...","user":"alice"}
//
// Where the access log is a service's largest per-request cost, Writer takes the place of
// Logger: each record is encoded straight into one JSON line, byte for byte what
// slog.NewJSONHandler writes for it (tested against it, fuzzed included), for one half to two
// thirds of the stage's cost through slog. Records the encoder does not cover (attributes that
// are floats, groups, Any values or LogValuers, or have an empty key; times that are zero or
// outside the years 0–9999) go through
// slog's handler for that record, so nothing changes shape. It has no levels or ReplaceAttr;
// use Logger when you need them.
//
//	accessLog, err := observe.NewAccessLog(observe.AccessLogOptions{Writer: os.Stdout})
//
// On http.ServeMux, wrap the mux itself; when stages between the log and the mux copy the
// request, put observe.CaptureRoute right around the mux:
// accessLog.Handler(authn.Handler(observe.CaptureRoute(mux))).
package observe
