// Package serve runs an http.Handler in production: an http.Server with
// safe timeouts and limits, start-up and shutdown hooks, graceful shutdown
// on SIGINT/SIGTERM, and the /healthz and /readyz probes.
//
// The lifecycle of Run:
//
//  1. Start hooks run in the order they were added. A failure (or a panic)
//     stops start-up: the stop hooks of the hooks already started run in
//     reverse order and Run returns a *HookError naming the hook.
//  2. The server listens; /readyz starts answering 200 when its checks pass.
//  3. On SIGINT, SIGTERM or the cancellation of Run's context, /readyz
//     fails at once (503), the listener closes after Options.DrainDelay,
//     and in-flight requests get Options.ShutdownTimeout to finish. The
//     drains added with Drain (connections http.Server does not track,
//     such as WebSockets) run at the same time, within the same timeout,
//     and Run waits for them. A second signal cuts the drain short.
//  4. Stop hooks run in reverse order, each with Options.HookTimeout, so
//     resources close after the requests that use them have finished.
//
// # Start, drain, stop
//
// serve.New builds the http.Server with safe defaults (5 s to read headers, 30 s to read the
// request, 60 s to write, 120 s idle, 64 KiB of headers; the header timeout cannot be turned
// off) and refuses unsafe settings. Run runs the start hooks in order (a failure stops
// start-up, names the hook and undoes the hooks already started), listens, and on SIGINT,
// SIGTERM or context cancellation: /readyz fails at once, the listener closes (after
// DrainDelay, if your load balancer needs it), in-flight requests get ShutdownTimeout to
// finish (a second signal cuts that short), then the stop hooks run in reverse order.
// /healthz answers 200 while the process lives; /readyz runs the registered checks
// concurrently under CheckTimeout, shares one run between concurrent probes, and answers 200
// or a problem+json 503 listing each check and its state.
//
//	func main() {
//		db, err := sql.Open("pgx", os.Getenv("DATABASE_URL"))
//		if err != nil {
//			log.Fatal(err)
//		}
//		s, err := serve.New(serve.Options{
//			Addr:    ":8080",
//			Handler: router, // your chi router or ServeMux with its stages
//		})
//		if err != nil {
//			log.Fatal(err)
//		}
//		s.Hook(serve.Hook{
//			Name:    "postgres",
//			OnStart: db.PingContext,
//			OnStop:  func(context.Context) error { return db.Close() },
//		})
//		s.Check("postgres", db.PingContext)
//		if err := s.Run(context.Background()); err != nil {
//			log.Fatal(err)
//		}
//	}
package serve

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/covetgo/covet/errs"
)

// Defaults for the zero Options fields.
const (
	DefaultAddr              = ":8080"
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 60 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultMaxHeaderBytes    = 64 << 10
	DefaultShutdownTimeout   = 20 * time.Second
	DefaultHookTimeout       = 30 * time.Second
	DefaultCheckTimeout      = 2 * time.Second
	DefaultHealthPath        = "/healthz"
	DefaultReadyPath         = "/readyz"
)

// minMaxHeaderBytes is the smallest header limit accepted: less refuses
// ordinary browser requests.
const minMaxHeaderBytes = 4 << 10

// Options configures the server. Zero fields take the Default values above.
type Options struct {
	// Handler serves every request except the probes. Required.
	Handler http.Handler
	// Addr is the TCP address to listen on. Empty: DefaultAddr.
	Addr string
	// Listener, when set, is used instead of listening on Addr (for socket
	// activation and tests). Run closes it.
	Listener net.Listener
	// TLSConfig, when set, serves HTTPS with it. It must carry a
	// certificate (Certificates, GetCertificate or GetConfigForClient) and
	// may not allow versions below TLS 1.2. The server works on a copy.
	// HTTP/2 is offered through ALPN: "h2" goes first in the copy's
	// NextProtos when it is missing, and "http/1.1" last, unless
	// HTTPServer().Protocols leaves HTTP/2 out or HTTPServer().TLSNextProto
	// is a non-nil map without "h2" (http.Server's own ways to opt out). A
	// config returned by GetConfigForClient is used as it is: give it
	// NextProtos {"h2", "http/1.1"} for HTTP/2.
	TLSConfig *tls.Config

	// ReadHeaderTimeout bounds reading the request headers (the slowloris
	// defence). It cannot be disabled.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading the whole request; WriteTimeout bounds
	// writing the response; IdleTimeout bounds a keep-alive connection's
	// wait for its next request. Negative disables one (for long streams;
	// a handler can also extend its own deadlines with
	// http.ResponseController). A negative IdleTimeout means no idle
	// timeout at all, not http.Server's fallback to ReadTimeout.
	ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// MaxHeaderBytes bounds the request line and headers. Zero:
	// DefaultMaxHeaderBytes (64 KiB); at least 4 KiB.
	MaxHeaderBytes int

	// ShutdownTimeout is how long in-flight requests get to finish once
	// shutdown begins; connections still open then are closed.
	ShutdownTimeout time.Duration
	// DrainDelay keeps accepting requests for this long after readiness
	// starts failing, so load balancers stop routing here before the
	// listener closes. Zero: close at once.
	DrainDelay time.Duration
	// HookTimeout bounds each start and stop hook.
	HookTimeout time.Duration
	// CheckTimeout bounds a readiness run: a check that has not answered
	// by then is reported as timed out.
	CheckTimeout time.Duration

	// HealthPath and ReadyPath are where the liveness and readiness probes
	// answer. They are served before Handler, without its middleware.
	HealthPath, ReadyPath string
	// Signals start a graceful shutdown. Nil: SIGINT and SIGTERM. An empty
	// non-nil slice: none (only the context stops Run).
	Signals []os.Signal
	// Logger receives lifecycle events and http.Server errors. Nil:
	// slog.Default().
	Logger *slog.Logger
	// Errors, when set, is the errs Renderer of this server: every request
	// context carries it (so errs.Write in Handler and its stages renders
	// with it), the probes render with it, and its sanitizer cleans the
	// errors Run logs. Nil: errs.Default().
	Errors *errs.Renderer
}

// Server is a configured server; Run starts it. Add hooks with Hook and
// readiness checks with Check before calling Run.
type Server struct {
	handler     http.Handler
	addr        string
	listener    net.Listener
	tls         *tls.Config
	srv         *http.Server
	logger      *slog.Logger
	signals     []os.Signal
	shutdown    time.Duration
	drainDelay  time.Duration
	hookTimeout time.Duration
	healthPath  string
	readyPath   string
	errors      *errs.Renderer

	mu      sync.Mutex
	hooks   []Hook
	drains  []drain
	running bool

	state     atomic.Int32
	started   chan struct{}
	boundAddr atomic.Pointer[net.Addr]
	readiness readiness
}

// Server states, as seen by the readiness probe.
const (
	stateStarting int32 = iota
	stateServing
	stateDraining
	stateStopped
)

// New validates opts and returns the server. Invalid or unsafe settings
// give an errs Configuration error naming the field.
func New(opts Options) (*Server, error) {
	if opts.Handler == nil {
		return nil, errs.Configf("serve: Options.Handler is required")
	}
	s := &Server{
		handler:    opts.Handler,
		listener:   opts.Listener,
		tls:        opts.TLSConfig,
		drainDelay: opts.DrainDelay,
		errors:     opts.Errors,
		started:    make(chan struct{}),
	}
	if err := s.applyDefaults(opts); err != nil {
		return nil, err
	}
	if err := checkTLS(opts.TLSConfig); err != nil {
		return nil, err
	}
	if opts.DrainDelay < 0 {
		return nil, errs.Configf("serve: Options.DrainDelay must not be negative")
	}
	if err := s.lifecycleTimeouts(opts); err != nil {
		return nil, err
	}
	srv, err := httpServer(opts)
	if err != nil {
		return nil, err
	}
	srv.Handler = http.HandlerFunc(s.route)
	srv.ErrorLog = slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn)
	s.srv = srv
	return s, nil
}

// applyDefaults fills in the address, logger, signals and probe paths, and
// checks the address and paths.
func (s *Server) applyDefaults(opts Options) error {
	s.addr = cmp.Or(opts.Addr, DefaultAddr)
	s.logger = cmp.Or(opts.Logger, slog.Default())
	s.signals = opts.Signals
	if s.signals == nil {
		s.signals = []os.Signal{os.Interrupt, syscall.SIGTERM}
	}
	s.healthPath = cmp.Or(opts.HealthPath, DefaultHealthPath)
	s.readyPath = cmp.Or(opts.ReadyPath, DefaultReadyPath)
	if s.listener == nil {
		if _, _, err := net.SplitHostPort(s.addr); err != nil {
			return errs.Configf("serve: Options.Addr %q is not host:port: %v", s.addr, err)
		}
	}
	if s.healthPath[0] != '/' || s.readyPath[0] != '/' || s.healthPath == s.readyPath {
		return errs.Configf("serve: Options.HealthPath and ReadyPath must be distinct paths starting with /")
	}
	return nil
}

// lifecycleTimeouts sets the shutdown, hook and readiness timeouts.
func (s *Server) lifecycleTimeouts(opts Options) error {
	var err error
	if s.shutdown, err = timeout("ShutdownTimeout", opts.ShutdownTimeout, DefaultShutdownTimeout, false); err != nil {
		return err
	}
	if s.hookTimeout, err = timeout("HookTimeout", opts.HookTimeout, DefaultHookTimeout, false); err != nil {
		return err
	}
	s.readiness.timeout, err = timeout("CheckTimeout", opts.CheckTimeout, DefaultCheckTimeout, false)
	return err
}

// httpServer returns the http.Server with the connection timeouts and
// limits of opts.
func httpServer(opts Options) (*http.Server, error) {
	readHeader := opts.ReadHeaderTimeout
	if readHeader < 0 {
		return nil, errs.Configf("serve: Options.ReadHeaderTimeout cannot be disabled: it is the defence against slow-header attacks")
	}
	var read, write, idle time.Duration
	var err error
	if read, err = timeout("ReadTimeout", opts.ReadTimeout, DefaultReadTimeout, true); err != nil {
		return nil, err
	}
	if write, err = timeout("WriteTimeout", opts.WriteTimeout, DefaultWriteTimeout, true); err != nil {
		return nil, err
	}
	if idle, err = timeout("IdleTimeout", opts.IdleTimeout, DefaultIdleTimeout, true); err != nil {
		return nil, err
	}
	if opts.IdleTimeout < 0 {
		idle = -1 // zero would mean "ReadTimeout" to http.Server
	}
	maxHeader := cmp.Or(opts.MaxHeaderBytes, DefaultMaxHeaderBytes)
	if maxHeader < minMaxHeaderBytes {
		return nil, errs.Configf("serve: Options.MaxHeaderBytes %d is below %d bytes", opts.MaxHeaderBytes, minMaxHeaderBytes)
	}
	return &http.Server{
		TLSConfig:         tlsConfig(opts.TLSConfig),
		ReadHeaderTimeout: cmp.Or(readHeader, DefaultReadHeaderTimeout),
		ReadTimeout:       read,
		WriteTimeout:      write,
		IdleTimeout:       idle,
		MaxHeaderBytes:    maxHeader,
	}, nil
}

// timeout applies the default to a zero duration; a negative one disables
// the timeout when that is allowed.
func timeout(name string, d, def time.Duration, canDisable bool) (time.Duration, error) {
	switch {
	case d == 0:
		return def, nil
	case d < 0 && canDisable:
		return 0, nil
	case d < 0:
		return 0, errs.Configf("serve: Options.%s must not be negative", name)
	}
	return d, nil
}

// tlsConfig returns a copy of c that offers HTTP/2 first. http.Server
// removes "h2" again when its Protocols or TLSNextProto opt out, and adds
// "http/1.1".
func tlsConfig(c *tls.Config) *tls.Config {
	if c == nil {
		return nil
	}
	c = c.Clone()
	if !slices.Contains(c.NextProtos, "h2") {
		c.NextProtos = append([]string{"h2"}, c.NextProtos...)
	}
	return c
}

func checkTLS(c *tls.Config) error {
	if c == nil {
		return nil
	}
	if len(c.Certificates) == 0 && c.GetCertificate == nil && c.GetConfigForClient == nil {
		return errs.Configf("serve: Options.TLSConfig has no certificate")
	}
	if c.MinVersion != 0 && c.MinVersion < tls.VersionTLS12 {
		return errs.Configf("serve: Options.TLSConfig.MinVersion allows versions below TLS 1.2")
	}
	return nil
}

// HTTPServer returns the underlying http.Server, for settings Options does
// not cover (ConnState, HTTP/2 options). Change it only before Run.
// Shutdown does not track hijacked connections such as WebSockets: close
// them with Drain, which Run waits for (http.Server.RegisterOnShutdown
// starts a function but nothing waits for it). Run sets BaseContext: request
// contexts carry the values of Run's context, are not cancelled when it
// is (so requests can drain), and are cancelled when the drain gives up.
func (s *Server) HTTPServer() *http.Server { return s.srv }

// Started returns a channel closed once the server accepts connections.
func (s *Server) Started() <-chan struct{} { return s.started }

// Addr returns the address the server listens on, or nil before it does.
func (s *Server) Addr() net.Addr {
	if a := s.boundAddr.Load(); a != nil {
		return *a
	}
	return nil
}

// route serves the probes and passes everything else to the handler.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case s.healthPath:
		s.serveHealth(w, r)
	case s.readyPath:
		s.serveReady(w, r)
	default:
		s.handler.ServeHTTP(w, r)
	}
}

// Run starts the server and blocks until it has shut down: it runs the
// start hooks, listens, serves until a signal in Options.Signals arrives or
// ctx is cancelled, drains, and runs the stop hooks (see the package
// documentation). It returns nil after an orderly shutdown; otherwise the
// start-up error, or the drain and stop-hook errors joined. Run may be
// called once.
func (s *Server) Run(ctx context.Context) error {
	hooks, drains, err := s.claim()
	if err != nil {
		return err
	}
	sig := s.watchSignals(ctx)
	defer sig.release()

	// 1. Start hooks, in order.
	if started, err := s.startHooks(sig.stop, hooks); err != nil {
		s.abortStart()
		return errors.Join(err, s.stopHooks(ctx, started))
	}
	// 2. Listen and serve.
	ln, err := s.listen(sig.stop)
	if err != nil {
		s.state.Store(stateStopped)
		return errors.Join(err, s.stopHooks(ctx, hooks))
	}
	base, cancelBase := context.WithCancel(s.baseContext(ctx))
	defer cancelBase()
	served := s.serve(ln, base)
	// 3. Readiness fails at once; drain.
	serveErr := s.awaitStop(sig.stop, served)
	drainErr := s.drain(ctx, sig.force, drains, served, serveErr)
	cancelBase()
	s.state.Store(stateStopped)
	// 4. Stop hooks, in reverse order.
	err = errors.Join(drainErr, s.stopHooks(ctx, hooks))
	s.logStopped(err)
	return err
}

// claim marks the server as running and takes the hooks and drains added
// so far; a second call fails.
func (s *Server) claim() ([]Hook, []drain, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		return nil, nil, errors.New("serve: Run called more than once")
	}
	s.running = true
	return slices.Clone(s.hooks), slices.Clone(s.drains), nil
}

// stopSignals is how Run learns it must stop: stop is cancelled by the
// first signal (its cause a *SignalError) or by Run's context; force is
// closed by a second signal, which cuts the drain short.
type stopSignals struct {
	stop    context.Context
	force   chan struct{}
	release func()
}

func (s *Server) watchSignals(ctx context.Context) *stopSignals {
	stop, cancelStop := context.WithCancelCause(ctx)
	sig := &stopSignals{stop: stop, force: make(chan struct{}), release: func() { cancelStop(nil) }}
	if len(s.signals) == 0 {
		return sig
	}
	runDone := make(chan struct{})
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, s.signals...)
	go s.relaySignals(sigs, runDone, cancelStop, sig.force)
	sig.release = func() {
		signal.Stop(sigs)
		close(runDone)
		cancelStop(nil)
	}
	return sig
}

// relaySignals turns the first signal into a stop and the second into a
// forced one, until Run returns.
func (s *Server) relaySignals(sigs <-chan os.Signal, runDone <-chan struct{}, stop context.CancelCauseFunc, force chan<- struct{}) {
	select {
	case sig := <-sigs:
		stop(&SignalError{Signal: sig})
	case <-runDone:
		return
	}
	select {
	case sig := <-sigs:
		s.logger.Warn("second signal: closing connections now", slog.String("signal", sig.String()))
		close(force)
	case <-runDone:
	}
}

// startHooks runs the start hooks in order and returns those that started.
// A failing hook, or a stop that arrives during start-up, is an error.
func (s *Server) startHooks(stop context.Context, hooks []Hook) ([]Hook, error) {
	for i, h := range hooks {
		if err := s.callHook(stop, h.OnStart); err != nil {
			s.logger.Error("start-up hook failed", slog.String("hook", h.Name), slog.String("error", s.sanitizer().String(err.Error())))
			return hooks[:i], &HookError{Hook: h.Name, Phase: "start", Err: err}
		}
	}
	if err := context.Cause(stop); err != nil {
		return hooks, fmt.Errorf("serve: start-up interrupted: %w", err)
	}
	return hooks, nil
}

// listen returns the listener Options gave or listens on the address.
func (s *Server) listen(stop context.Context) (net.Listener, error) {
	ln := s.listener
	if ln == nil {
		var err error
		var lc net.ListenConfig
		if ln, err = lc.Listen(stop, "tcp", s.addr); err != nil {
			return nil, fmt.Errorf("serve: listen on %s: %w", s.addr, err)
		}
	}
	addr := ln.Addr()
	s.boundAddr.Store(&addr)
	return ln, nil
}

// baseContext is the parent of every request context: the values of Run's
// context, without its cancellation, and the Renderer of Options.Errors.
func (s *Server) baseContext(ctx context.Context) context.Context {
	base := context.WithoutCancel(ctx)
	if s.errors != nil {
		base = errs.WithRenderer(base, s.errors)
	}
	return base
}

// serve starts serving on ln and returns the channel Serve's result
// arrives on.
func (s *Server) serve(ln net.Listener, base context.Context) <-chan error {
	s.srv.BaseContext = func(net.Listener) context.Context { return base }
	served := make(chan error, 1)
	s.state.Store(stateServing)
	if s.tls != nil {
		// ServeTLS adds "h2" and "http/1.1" to a copy of NextProtos
		// unless the server's Protocols or TLSNextProto opt out.
		go func() { served <- s.srv.ServeTLS(ln, "", "") }()
	} else {
		go func() { served <- s.srv.Serve(ln) }()
	}
	close(s.started)
	s.logger.Info("server started", slog.String("addr", ln.Addr().String()), slog.Bool("tls", s.tls != nil))
	return served
}

// awaitStop blocks until a stop or a failure of Serve, then makes readiness
// fail. It returns Serve's error, if that is what ended the wait.
func (s *Server) awaitStop(stop context.Context, served <-chan error) error {
	var serveErr error
	select {
	case <-stop.Done():
	case serveErr = <-served:
	}
	s.state.Store(stateDraining)
	reason := "context cancelled"
	var se *SignalError
	switch {
	case serveErr != nil:
		reason = "serve failed"
	case errors.As(context.Cause(stop), &se):
		reason = se.Signal.String()
	}
	s.logger.Info("shutting down", slog.String("reason", reason), slog.Duration("drain_delay", s.drainDelay), slog.Duration("timeout", s.shutdown))
	return serveErr
}

// drain waits out the drain delay, then gives in-flight requests and the
// drains ShutdownTimeout (or until force) to finish, and closes what is
// left. It returns once Serve and every drain have returned.
func (s *Server) drain(ctx context.Context, force <-chan struct{}, drains []drain, served <-chan error, serveErr error) error {
	if serveErr != nil {
		_ = s.srv.Close()
		return errors.Join(fmt.Errorf("serve: %w", serveErr), <-s.runDrains(ctx, drains, force))
	}
	if s.drainDelay > 0 {
		t := time.NewTimer(s.drainDelay)
		select {
		case <-t.C:
		case <-force:
			t.Stop()
		}
	}
	drained := s.runDrains(ctx, drains, force)
	err := s.shutdownServer(ctx, force)
	<-served
	return errors.Join(err, <-drained)
}

// shutdownContext ends at ShutdownTimeout or when force is closed.
func (s *Server) shutdownContext(ctx context.Context, force <-chan struct{}) (context.Context, context.CancelFunc) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.shutdown)
	go func() {
		select {
		case <-force:
			cancel()
		case <-sctx.Done():
		}
	}()
	return sctx, cancel
}

// shutdownServer shuts the http.Server down gracefully, closing the
// connections that do not finish in time.
func (s *Server) shutdownServer(ctx context.Context, force <-chan struct{}) error {
	sctx, cancel := s.shutdownContext(ctx, force)
	defer cancel()
	err := s.srv.Shutdown(sctx)
	if err == nil {
		return nil
	}
	s.logger.Warn("closing connections that did not drain", slog.String("error", err.Error()))
	_ = s.srv.Close()
	select {
	case <-force:
		err = fmt.Errorf("serve: in-flight requests did not finish: a second signal cut the drain short: %w", err)
	default:
		err = fmt.Errorf("serve: in-flight requests did not finish within the shutdown timeout (%v): %w", s.shutdown, err)
	}
	return err
}

func (s *Server) logStopped(err error) {
	if err != nil {
		s.logger.Error("server stopped with errors", slog.String("error", s.sanitizer().String(err.Error())))
		return
	}
	s.logger.Info("server stopped")
}

// sanitizer cleans the errors Run logs: the one of Options.Errors, else
// the errs default.
func (s *Server) sanitizer() *errs.Sanitizer {
	if s.errors != nil {
		return s.errors.Sanitizer()
	}
	return errs.DefaultSanitizer()
}

// abortStart marks a start-up that will not serve, closing the listener
// Options gave (Run owns it).
func (s *Server) abortStart() {
	s.state.Store(stateStopped)
	if s.listener != nil {
		_ = s.listener.Close()
	}
}

// SignalError is the cause of a shutdown started by a signal.
type SignalError struct {
	Signal os.Signal
}

func (e *SignalError) Error() string { return "received " + e.Signal.String() }

// CloseOnStop adds a hook that closes c when the server stops, after the
// requests that may use it have drained.
func (s *Server) CloseOnStop(name string, c io.Closer) {
	s.Hook(Hook{Name: name, OnStop: func(context.Context) error { return c.Close() }})
}

// drain is a shutdown step added with Drain.
type drain struct {
	name string
	fn   func(context.Context) error
}

// Drain adds fn to the shutdown: when it begins (after Options.DrainDelay),
// every drain runs in its own goroutine, alongside the drain of in-flight
// requests, with a context that ends at Options.ShutdownTimeout or at a
// second signal. Run waits for every drain to return before the stop hooks
// run, and joins their errors (each a *HookError of phase "drain") to its
// own. Use it for connections http.Server does not track: a WebSocket hub's
// Shutdown (or wstools' Hub.Drain) registered here makes Run wait until its
// clients have received their close frames, where
// HTTPServer().RegisterOnShutdown would let Run return first. It panics when
// called after Run has started, with an empty name or a nil fn.
func (s *Server) Drain(name string, fn func(ctx context.Context) error) {
	if name == "" || fn == nil {
		panic("serve: Drain needs a name and a function")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		panic("serve: Drain called after Run")
	}
	s.drains = append(s.drains, drain{name: name, fn: fn})
}

// runDrains starts every drain with a context that ends at ShutdownTimeout
// or at force, and returns a channel that yields their joined errors once
// all have returned.
func (s *Server) runDrains(parent context.Context, drains []drain, force <-chan struct{}) <-chan error {
	out := make(chan error, 1)
	if len(drains) == 0 {
		out <- nil
		return out
	}
	ctx, cancel := s.shutdownContext(parent, force)
	errc := make(chan error, len(drains))
	for _, d := range drains {
		go func() {
			err := func() (err error) {
				defer func() {
					if v := recover(); v != nil {
						err = fmt.Errorf("panic: %v", v)
					}
				}()
				return d.fn(ctx)
			}()
			if err != nil {
				s.logger.Error("drain failed", slog.String("drain", d.name), slog.String("error", s.sanitizer().String(err.Error())))
				err = &HookError{Hook: d.name, Phase: "drain", Err: err}
			}
			errc <- err
		}()
	}
	go func() {
		defer cancel()
		var all []error
		for range drains {
			all = append(all, <-errc)
		}
		out <- errors.Join(all...)
	}()
	return out
}
