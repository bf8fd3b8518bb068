package observe

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/go-chi/chi/v5"
)

// UnmatchedRoute is what Route reports for a request no route pattern
// matched (a 404, or a handler mounted without a router). Logs and metrics
// use it instead of the raw path, so a scan of random URLs cannot create
// new label values.
const UnmatchedRoute = "unmatched"

// requestRecord is the mutable per-request record AccessLog (and any other
// stage that reads the route after the handler, such as metrics) puts in the
// context. Inner stages see a copied *http.Request but the same record, so
// what they set reaches the outer stage. It lives in the same allocation as
// its context node.
type requestRecord struct {
	context.Context
	mu     sync.Mutex
	route  string
	attrs  []slog.Attr
	inline [2]slog.Attr
}

type recordKey struct{}

func (c *requestRecord) Value(key any) any {
	if key == (recordKey{}) {
		return c
	}
	return c.Context.Value(key)
}

func recordFrom(ctx context.Context) *requestRecord {
	c, _ := ctx.Value(recordKey{}).(*requestRecord)
	return c
}

// Track returns r with a per-request record in its context, or r itself
// when an outer stage already added one. The record is what SetRoute,
// AddAttrs and CaptureRoute write to and what Route reads, so a stage that
// calls Route after its handler returns (AccessLog, the metrics stage)
// learns the pattern even when an inner stage or router matched it on a
// copy of the request. AccessLog calls Track itself.
func Track(r *http.Request) *http.Request {
	if recordFrom(r.Context()) != nil {
		return r
	}
	return r.WithContext(newRecord(r.Context()))
}

func newRecord(parent context.Context) *requestRecord {
	c := &requestRecord{Context: parent}
	c.attrs = c.inline[:0]
	return c
}

// SetRoute records pattern as the request's route, overriding what the
// router reports. Use it from a handler that does its own dispatch; pass a
// pattern ("/files/{name}"), never the raw path, or log and metric labels
// lose their bound. It does nothing when no stage tracks the request.
func SetRoute(ctx context.Context, pattern string) {
	if c := recordFrom(ctx); c != nil {
		c.mu.Lock()
		c.route = pattern
		c.mu.Unlock()
	}
}

// AddAttrs adds attributes to the request's access-log line (for example
// the authenticated user). Inner stages and handlers call it with the
// request's context; without an AccessLog stage the attributes go nowhere.
// It is safe to call from several goroutines.
func AddAttrs(ctx context.Context, attrs ...slog.Attr) {
	if c := recordFrom(ctx); c != nil {
		c.mu.Lock()
		c.attrs = append(c.attrs, attrs...)
		c.mu.Unlock()
	}
}

// CaptureRoute is a stage that copies the pattern a router matched into
// the request's record once the router returns. Mount it directly around
// an http.ServeMux, or with Use on a chi router, when stages between
// AccessLog (or metrics) and the router copy the request: the router then
// sets the pattern on a copy the outer stage never sees.
func CaptureRoute(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r)
		c := recordFrom(r.Context())
		if c == nil {
			return
		}
		p := routerPattern(r)
		if p == "" {
			return
		}
		c.mu.Lock()
		if c.route == "" {
			c.route = p
		}
		c.mu.Unlock()
	})
}

// Route returns the route pattern of r, for logs and metric labels, or
// UnmatchedRoute. It never returns the raw path. In order it takes: a
// pattern set with SetRoute or captured by CaptureRoute, chi's route
// pattern ("/users/{id}"), and r.Pattern as set by http.ServeMux, without
// its method ("GET /users/{id}" gives "/users/{id}"). Call it after the
// handler has returned: routers fill in the pattern while they route.
func Route(r *http.Request) string {
	if c := recordFrom(r.Context()); c != nil {
		c.mu.Lock()
		p := c.route
		c.mu.Unlock()
		if p != "" {
			return p
		}
	}
	if p := routerPattern(r); p != "" {
		return p
	}
	return UnmatchedRoute
}

// routerPattern reads the pattern chi or http.ServeMux matched, "" when
// neither did.
func routerPattern(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil && len(rc.RoutePatterns) > 0 {
		if p := rc.RoutePattern(); p != "" {
			return p
		}
	}
	return stripMethod(r.Pattern)
}

// stripMethod removes the "METHOD " prefix of a ServeMux pattern: the
// method is logged and labelled on its own.
func stripMethod(p string) string {
	if i := strings.IndexAny(p, " \t"); i >= 0 {
		return strings.TrimLeft(p[i+1:], " \t")
	}
	return p
}

// addedAttrs returns the attributes added so far. AddAttrs only appends,
// so the elements of the returned slice never change afterwards.
func (c *requestRecord) addedAttrs() []slog.Attr {
	c.mu.Lock()
	a := c.attrs
	c.mu.Unlock()
	return a
}
