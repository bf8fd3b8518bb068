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
// The package imports no other Covet package, so any stage can use it.
package observe
