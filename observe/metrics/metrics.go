// Package metrics is the Prometheus stage: RED metrics (rate, errors,
// duration) for every request, and the /metrics endpoint that exposes them.
//
// The stage records three metrics:
//
//	http_requests_total{method,route,status}          counter
//	http_request_duration_seconds{method,route}       histogram
//	http_requests_in_flight                           gauge
//
// Every label is bounded: the route is the pattern the router matched (see
// observe.Route), never the raw path, with observe.UnmatchedRoute for
// requests no route matched; methods outside the standard ones are counted
// as "OTHER"; and past Options.MaxRoutes distinct patterns, new ones are
// counted as OverflowRoute. A scan of random URLs or methods therefore
// cannot grow the number of series.
//
// When a tracing stage is mounted outside this one and the request's span
// is sampled, each duration observation carries the trace ID as an
// exemplar (label ExemplarLabel), which Endpoint exposes to scrapers that
// ask for the OpenMetrics format.
//
// # Prometheus RED metrics with bounded labels
//
// metrics.New registers http_requests_total{method,route,status},
// http_request_duration_seconds{method,route} and http_requests_in_flight on the
// prometheus.Registerer you pass (the default one otherwise), and Endpoint() serves them.
// Labels cannot grow with traffic: route is the matched pattern (observe.Route, shared with
// the access log) or unmatched, methods outside the standard nine count as OTHER, and past
// MaxRoutes distinct patterns (1000 by default) new ones count as overflow.
//
//	reg := prometheus.NewRegistry()
//	m, err := metrics.New(metrics.Options{
//		Registerer: reg,
//		Namespace:  "notes",
//		SkipPaths:  []string{"/metrics", "/healthz", "/readyz"},
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	r := chi.NewRouter()
//	r.Use(m.Handler)
//	r.Get("/notes/{id}", getNote)
//	r.Handle("/metrics", m.Endpoint()) // or on an internal listener
package metrics

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/covetgo/covet/observe"
)

// OverflowRoute is the route label of requests whose pattern arrived after
// Options.MaxRoutes distinct patterns had been seen.
const OverflowRoute = "overflow"

// OtherMethod is the method label of requests with a non-standard method.
const OtherMethod = "OTHER"

// DefaultMaxRoutes is the default bound on distinct route labels.
const DefaultMaxRoutes = 1000

// Options configures the stage. The zero value registers on
// prometheus.DefaultRegisterer with the default buckets.
type Options struct {
	// Registerer receives the collectors. Nil: prometheus.DefaultRegisterer.
	// When the same collectors are already registered there (a second New
	// with the same Namespace), they are shared, not an error.
	Registerer prometheus.Registerer
	// Gatherer is what Endpoint exposes. Nil: Registerer when it is also a
	// Gatherer (a *prometheus.Registry is), else prometheus.DefaultGatherer.
	Gatherer prometheus.Gatherer
	// Namespace prefixes every metric name ("shop" gives
	// shop_http_requests_total). Empty: no prefix.
	Namespace string
	// Buckets are the duration histogram's upper bounds in seconds,
	// strictly increasing. Nil: prometheus.DefBuckets (5ms to 10s).
	Buckets []float64
	// MaxRoutes bounds the distinct route labels; requests with a new
	// pattern past the bound are counted under OverflowRoute. Zero:
	// DefaultMaxRoutes.
	MaxRoutes int
	// SkipPaths lists exact URL paths (such as "/metrics" and "/healthz")
	// that are not measured. Each must start with "/".
	SkipPaths []string
}

// Metrics measures requests and exposes the result.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
	gatherer prometheus.Gatherer
	skip     map[string]struct{}

	maxRoutes int
	mu        sync.RWMutex
	series    map[seriesKey]*series
	routes    map[string]struct{}
}

type seriesKey struct {
	method, route string
	status        int
}

type series struct {
	count    prometheus.Counter
	duration prometheus.Observer
	// exemplar is duration's exemplar side (nil if the observer has none).
	exemplar prometheus.ExemplarObserver
}

var metricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)

// New validates opts, registers the collectors and returns the stage.
func New(opts Options) (*Metrics, error) {
	buckets, err := opts.validate()
	if err != nil {
		return nil, err
	}
	m := &Metrics{
		maxRoutes: opts.MaxRoutes,
		series:    make(map[seriesKey]*series),
		routes:    make(map[string]struct{}),
	}
	if m.maxRoutes == 0 {
		m.maxRoutes = DefaultMaxRoutes
	}
	for _, p := range opts.SkipPaths {
		if m.skip == nil {
			m.skip = make(map[string]struct{}, len(opts.SkipPaths))
		}
		m.skip[p] = struct{}{}
	}
	reg := opts.Registerer
	if reg == nil {
		reg = prometheus.DefaultRegisterer
	}
	m.gatherer = opts.Gatherer
	if m.gatherer == nil {
		if g, ok := reg.(prometheus.Gatherer); ok {
			m.gatherer = g
		} else {
			m.gatherer = prometheus.DefaultGatherer
		}
	}
	if err := m.register(reg, opts.Namespace, buckets); err != nil {
		return nil, err
	}
	return m, nil
}

// validate checks opts and returns the histogram buckets to use.
func (opts Options) validate() ([]float64, error) {
	if opts.Namespace != "" && !metricName.MatchString(opts.Namespace) {
		return nil, fmt.Errorf("metrics: Options.Namespace %q is not a valid Prometheus name", opts.Namespace)
	}
	if opts.MaxRoutes < 0 {
		return nil, errors.New("metrics: Options.MaxRoutes must not be negative")
	}
	buckets := opts.Buckets
	if buckets == nil {
		buckets = prometheus.DefBuckets
	}
	if len(buckets) == 0 {
		return nil, errors.New("metrics: Options.Buckets must not be empty")
	}
	for i, b := range buckets {
		if b != b || (i > 0 && b <= buckets[i-1]) { // NaN, or not increasing
			return nil, errors.New("metrics: Options.Buckets must be strictly increasing numbers")
		}
	}
	for _, p := range opts.SkipPaths {
		if len(p) == 0 || p[0] != '/' {
			return nil, errors.New("metrics: Options.SkipPaths entries must be URL paths starting with /")
		}
	}
	return buckets, nil
}

// register creates the three collectors and registers them on reg (or
// takes the ones already registered there under the same names).
func (m *Metrics) register(reg prometheus.Registerer, namespace string, buckets []float64) error {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace,
		Subsystem: "http",
		Name:      "requests_total",
		Help:      "HTTP requests completed, by method, route pattern and status.",
	}, []string{"method", "route", "status"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace,
		Subsystem: "http",
		Name:      "request_duration_seconds",
		Help:      "Time to serve HTTP requests, by method and route pattern.",
		Buckets:   slices.Clone(buckets),
	}, []string{"method", "route"})
	inFlight := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace,
		Subsystem: "http",
		Name:      "requests_in_flight",
		Help:      "HTTP requests being served.",
	})
	var err error
	if m.requests, err = register(reg, requests); err != nil {
		return err
	}
	if m.duration, err = register(reg, duration); err != nil {
		return err
	}
	m.inFlight, err = register(reg, inFlight)
	return err
}

// register registers c, or returns the collector of the same description
// already registered.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	var zero C
	return zero, fmt.Errorf("metrics: registering collectors: %w", err)
}

// Handler returns the stage wrapped around next. It counts the request in
// flight while next runs, then records its count and duration under the
// method, the route pattern (observe.Route) and the status (200 when next
// wrote nothing, 500 when it panicked before writing, 0 when it hijacked
// the connection without writing a status). Requests whose path
// is in SkipPaths are passed on untouched.
//
// Mount it where observe.Route can see the pattern: with Use on a chi
// router, directly around an http.ServeMux, or anywhere outside them with
// observe.CaptureRoute mounted next to the router.
func (m *Metrics) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m.skip != nil {
			if _, ok := m.skip[r.URL.Path]; ok {
				next.ServeHTTP(w, r)
				return
			}
		}
		r = observe.Track(r)
		sw := observe.NewStatusWriter(w)
		m.inFlight.Inc()
		start := time.Now()
		done := false
		defer func() {
			elapsed := time.Since(start)
			m.inFlight.Dec()
			status := sw.Status()
			if status == 0 && !sw.Hijacked() {
				if done {
					status = http.StatusOK
				} else {
					status = http.StatusInternalServerError
				}
			}
			sw.Release()
			s := m.seriesFor(methodLabel(r.Method), observe.Route(r), status)
			s.count.Inc()
			s.observe(r, elapsed.Seconds())
		}()
		next.ServeHTTP(sw, r)
		done = true
	})
}

// seriesFor returns the cached series of the labels, creating it on first
// use. A route past the MaxRoutes bound becomes OverflowRoute; such routes
// are not cached under their own name, so the cache stays bounded too (they
// take the slow path every time, which only a misconfigured app pays).
func (m *Metrics) seriesFor(method, route string, status int) *series {
	key := seriesKey{method, route, status}
	m.mu.RLock()
	s := m.series[key]
	m.mu.RUnlock()
	if s != nil {
		return s
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, known := m.routes[route]; !known {
		if len(m.routes) >= m.maxRoutes {
			key.route = OverflowRoute
		} else {
			m.routes[route] = struct{}{}
		}
	}
	if s = m.series[key]; s == nil {
		s = &series{
			count:    m.requests.WithLabelValues(key.method, key.route, statusLabel(status)),
			duration: m.duration.WithLabelValues(key.method, key.route),
		}
		s.exemplar, _ = s.duration.(prometheus.ExemplarObserver)
		m.series[key] = s
	}
	return s
}

// Endpoint returns the handler that serves the metrics in the Prometheus
// exposition format; mount it at /metrics (on an internal listener when the
// service is public). A scraper that asks for OpenMetrics
// (Accept: application/openmetrics-text, as Prometheus does) gets that
// format, which carries the duration exemplars; others get the classic
// text format. At most four scrapes are gathered at once; more get a
// 503.
func (m *Metrics) Endpoint() http.Handler {
	return promhttp.HandlerFor(m.gatherer, promhttp.HandlerOpts{MaxRequestsInFlight: 4, EnableOpenMetrics: true})
}

// methodLabel bounds the method label to the standard methods.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return OtherMethod
}

// statusLabels holds "100" to "999", the codes net/http lets a handler
// write; 0 (a hijacked connection that wrote no status) is "0".
var statusLabels = func() []string {
	s := make([]string, 1000)
	for i := range s {
		s[i] = strconv.Itoa(i)
	}
	return s
}()

func statusLabel(code int) string {
	if code >= 0 && code < len(statusLabels) {
		return statusLabels[code]
	}
	return strconv.Itoa(code)
}
