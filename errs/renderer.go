package errs

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"sync/atomic"
)

// Options configure a Renderer.
type Options struct {
	// Mode decides what responses reveal. Zero: Production.
	Mode Mode
	// Logger receives 5xx errors and recovered panics. Nil: slog.Default()
	// at the time of logging.
	Logger *slog.Logger
	// AuditLogger, when set, receives every authentication, authorization
	// and security error written, and the events passed to Audit.
	AuditLogger *slog.Logger
	// Sanitizer cleans context, causes and stacks. Nil: the default sanitizer.
	Sanitizer *Sanitizer
	// TypeBase, when set, makes the problem "type" TypeBase + code (for
	// example "https://docs.example.com/problems/" + "rate_limited"). It must
	// be an absolute URI. Empty: "about:blank", as RFC 9457 suggests for
	// plain HTTP errors.
	TypeBase string
}

// Config is the former name of Options, kept so existing callers compile.
type Config = Options

// Renderer renders, logs and audits errors under one set of Options, the way
// a *slog.Logger writes records through one handler. Two Renderers with
// different modes and loggers can serve side by side in one process.
//
// A stage or handler finds its Renderer in the request context (put there by
// Renderer.Handler) and falls back to the package default (Default), so the
// package functions Write, Recover, Handle and Audit follow whichever
// Renderer the request carries. A Renderer is safe for concurrent use and
// immutable once built.
type Renderer struct {
	opts Options
	san  *Sanitizer
}

// NewRenderer returns a Renderer for o. It refuses a mode that is not one of
// the three and a TypeBase that is not an absolute URI.
func NewRenderer(o Options) (*Renderer, error) {
	if o.Mode > Development {
		return nil, Configf("errs: Options.Mode %d is not Production, Staging or Development", o.Mode)
	}
	if o.TypeBase != "" {
		u, err := url.Parse(o.TypeBase)
		if err != nil || !u.IsAbs() {
			return nil, Configf("errs: Options.TypeBase %q is not an absolute URI", o.TypeBase)
		}
	}
	return newRenderer(o), nil
}

// newRenderer builds without validating, for the lenient Configure.
func newRenderer(o Options) *Renderer {
	s := o.Sanitizer
	if s == nil {
		s = defaultSanitizer
	}
	if o.AuditLogger != nil {
		auditSomewhere.Store(true)
	}
	return &Renderer{opts: o, san: s}
}

// Mode returns the renderer's mode.
func (rd *Renderer) Mode() Mode { return rd.opts.Mode }

// Sanitizer returns the sanitizer the renderer cleans with.
func (rd *Renderer) Sanitizer() *Sanitizer { return rd.san }

// Logger returns the logger 5xx errors and panics go to.
func (rd *Renderer) Logger() *slog.Logger {
	if rd.opts.Logger != nil {
		return rd.opts.Logger
	}
	return slog.Default()
}

// AuditEnabled reports whether the renderer has an audit logger, so callers
// can skip building attributes nobody will read.
func (rd *Renderer) AuditEnabled() bool { return rd.opts.AuditLogger != nil }

// Handler is a stage that makes rd the request's Renderer: every errs.Write,
// Recover, Handle and Audit further down the chain renders with rd. Mount
// it outermost (before Recover) so a panic is rendered by rd too.
func (rd *Renderer) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cur, _ := r.Context().Value(rendererKey{}).(*Renderer); cur != rd {
			r = r.WithContext(WithRenderer(r.Context(), rd))
		}
		next.ServeHTTP(w, r)
	})
}

// Recover is the panic-recovery stage (see the package function Recover)
// rendering with rd, which it also puts in the request context.
func (rd *Renderer) Recover(next http.Handler) http.Handler {
	return rd.Handler(Recover(next))
}

// Handle adapts a handler that returns an error (see the package function
// Handle), rendering with rd, which it also puts in the request context.
func (rd *Renderer) Handle(fn func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return rd.Handler(Handle(fn)).ServeHTTP
}

type rendererKey struct{}

// WithRenderer returns a copy of ctx that carries rd; Write and the other
// package functions use it for requests with that context.
func WithRenderer(ctx context.Context, rd *Renderer) context.Context {
	return context.WithValue(ctx, rendererKey{}, rd)
}

// RendererFrom returns the Renderer ctx carries, or Default() when it carries
// none.
func RendererFrom(ctx context.Context) *Renderer {
	if ctx != nil {
		if rd, ok := ctx.Value(rendererKey{}).(*Renderer); ok && rd != nil {
			return rd
		}
	}
	return Default()
}

// rendererFor returns the request's Renderer; a nil request gets Default().
func rendererFor(r *http.Request) *Renderer {
	if r == nil {
		return Default()
	}
	return RendererFrom(r.Context())
}

var (
	defaultRenderer atomic.Pointer[Renderer]
	// auditSomewhere: some Renderer of the process has an audit logger.
	auditSomewhere atomic.Bool
)

func init() { defaultRenderer.Store(newRenderer(Options{})) }

// Default returns the package default Renderer: what requests whose context
// carries no Renderer render with. It starts as Production with
// slog.Default() and no audit logger.
func Default() *Renderer { return defaultRenderer.Load() }

// SetDefault makes rd the package default Renderer. A nil rd restores the
// initial default. Like slog.SetDefault it is meant for start-up.
func SetDefault(rd *Renderer) {
	if rd == nil {
		rd = newRenderer(Options{})
	}
	defaultRenderer.Store(rd)
}

// Configure makes a Renderer for c the package default, without validating
// c. New code builds one with NewRenderer and calls SetDefault, or mounts it
// with Renderer.Handler.
func Configure(c Config) { SetDefault(newRenderer(c)) }

// SetMode replaces the package default by a copy in mode m. New code builds
// a Renderer per application instead.
func SetMode(m Mode) {
	o := Default().opts
	o.Mode = m
	SetDefault(newRenderer(o))
}

// CurrentMode returns the mode of the package default Renderer. A stage
// serving a request asks RendererFrom(r.Context()).Mode() instead, which
// honours a per-application Renderer.
func CurrentMode() Mode { return Default().Mode() }

// DefaultSanitizer returns the sanitizer of the package default Renderer.
func DefaultSanitizer() *Sanitizer { return Default().Sanitizer() }

// AuditEnabled reports whether any Renderer of the process (the default or
// one built since start-up) has an audit logger, so callers can skip building
// attributes nobody will read; it never answers false when the request's
// Renderer would record. With a request at hand,
// RendererFrom(ctx).AuditEnabled() is exact.
func AuditEnabled() bool { return auditSomewhere.Load() }
