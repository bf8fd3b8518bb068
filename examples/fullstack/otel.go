package main

import (
	"context"
	"errors"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/extra/redisotel/v9"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/covetgo/covet/observe/tracing"
)

// Where the app's spans go, from COVET_OTEL.
const (
	tracesOff    = "off"
	tracesStdout = "stdout"
	tracesOTLP   = "otlp"
)

// tracingConfig says whether and where the app exports spans.
type tracingConfig struct {
	// Exporter is tracesOff, tracesStdout or tracesOTLP.
	Exporter string
	// OTLPURL is the OTLP/HTTP traces URL (tracesOTLP only).
	OTLPURL string
	// Stdout receives the stdout exporter's spans. Nil: os.Stdout.
	Stdout io.Writer
	// exporter, when set, receives the spans whatever Exporter says (tests
	// pass the SDK's in-memory exporter).
	exporter sdktrace.SpanExporter
}

// loadTracing reads COVET_OTEL (stdout, otlp or off) and the standard
// OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_EXPORTER_OTLP_TRACES_ENDPOINT. With
// COVET_OTEL unset, an OTLP endpoint turns OTLP export on; with neither,
// and whenever OTEL_SDK_DISABLED=true, tracing is off.
func loadTracing(getenv func(string) string) (tracingConfig, error) {
	tc := tracingConfig{Exporter: strings.ToLower(strings.TrimSpace(getenv("COVET_OTEL")))}
	generic := strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_ENDPOINT"))
	traces := strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
	switch tc.Exporter {
	case tracesOff, tracesStdout, tracesOTLP:
	case "":
		tc.Exporter = tracesOff
		if generic != "" || traces != "" {
			tc.Exporter = tracesOTLP
		}
	default:
		return tc, &configError{"COVET_OTEL", "want stdout, otlp or off"}
	}
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		tc.Exporter = tracesOff
	}
	if tc.Exporter == tracesOTLP {
		var err error
		if tc.OTLPURL, err = otlpTracesURL(generic, traces); err != nil {
			return tc, err
		}
	}
	return tc, nil
}

// otlpTracesURL returns the OTLP/HTTP URL that spans are posted to. The
// per-signal variable (traces) is the whole URL; the generic one is a base
// that /v1/traces is added to (the OTLP exporter specification); with
// neither, the collector on localhost.
func otlpTracesURL(generic, traces string) (string, error) {
	name, raw := "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", traces
	if raw == "" {
		name, raw = "OTEL_EXPORTER_OTLP_ENDPOINT", generic
	}
	if raw == "" {
		name, raw = "OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4318"
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return "", &configError{name, "want an http:// or https:// URL without credentials"}
	}
	if name == "OTEL_EXPORTER_OTLP_ENDPOINT" {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/traces"
	}
	return u.String(), nil
}

// newExporter returns the span exporter tc asks for, or nil when tracing
// is off.
func (tc tracingConfig) newExporter(ctx context.Context) (sdktrace.SpanExporter, error) {
	switch {
	case tc.exporter != nil:
		return tc.exporter, nil
	case tc.Exporter == tracesStdout:
		var opts []stdouttrace.Option
		if tc.Stdout != nil {
			opts = append(opts, stdouttrace.WithWriter(tc.Stdout))
		}
		return stdouttrace.New(opts...)
	case tc.Exporter == tracesOTLP:
		// Headers, compression, timeouts and TLS files still come from the
		// standard OTEL_EXPORTER_OTLP_* variables.
		exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(tc.OTLPURL))
		if err != nil {
			return nil, &configError{"OTEL_EXPORTER_OTLP_ENDPOINT", err.Error()}
		}
		return exp, nil
	}
	return nil, nil
}

// buildTracing sets up the SDK when tracing is on: a tracer provider that
// batches spans to the exporter, the tracing stage, and a closer that
// flushes what is still buffered. It is the first closer, so it runs last
// when the app stops (serve's "resources" stop hook), after every stage
// and store has ended its spans. With tracing off it does nothing: no
// provider, no stage, and the data layer installs no hooks.
func (a *app) buildTracing(ctx context.Context) error {
	exp, err := a.cfg.Tracing.newExporter(ctx)
	if err != nil || exp == nil {
		return err
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", "covet-fullstack")),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES
		resource.WithTelemetrySDK())
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return &configError{"OTEL_RESOURCE_ATTRIBUTES", err.Error()}
	}
	// The sampler comes from OTEL_TRACES_SAMPLER (parent-based, always on,
	// by default).
	a.tp = sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	a.traces = a.tp
	tp := a.tp
	a.closers = append(a.closers, closerFunc(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return tp.Shutdown(ctx)
	}))
	a.tracing, err = tracing.New(tracing.Options{
		TracerProvider: a.tp,
		Propagators:    propagation.TraceContext{},
		// A caller's trace is continued only behind the trusted proxies;
		// anyone else's traceparent is linked, not adopted.
		TrustedProxies: a.cfg.TrustedProxies,
		SkipPaths:      []string{"/healthz", "/readyz", "/metrics"},
	})
	return err
}

// traceRedis gives every Redis command a client span. Command arguments
// stay out of the spans: they hold session data and token digests.
func (a *app) traceRedis() error {
	if a.traces == nil || a.rdb == nil {
		return nil
	}
	return redisotel.InstrumentTracing(a.rdb,
		redisotel.WithTracerProvider(a.traces),
		redisotel.WithDBStatement(false),
		redisotel.WithCallerEnabled(false))
}
