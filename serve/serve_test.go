package serve_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/covetgo/covet/errs"
	"github.com/covetgo/covet/serve"
)

var (
	quiet     = slog.New(slog.DiscardHandler)
	noSignals = []os.Signal{}
)

func TestMain(m *testing.M) {
	// Failing probes are 5xx problems, which errs logs; keep test output clean.
	errs.Configure(errs.Config{Logger: quiet})
	goleak.VerifyTestMain(m)
}

// running is a server started by start, with what its test needs.
type running struct {
	s      *serve.Server
	url    string
	cancel context.CancelFunc
	done   chan error
	client *http.Client
}

func (r *running) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := r.client.Get(r.url + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// getAsync sends a GET in the background; the channel yields the body, or
// the error's text.
func (r *running) getAsync(path string) <-chan string {
	out := make(chan string, 1)
	go func() {
		resp, err := r.client.Get(r.url + path)
		if err != nil {
			out <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		out <- string(b)
	}()
	return out
}

// stop cancels the server's context and returns what Run returned.
func (r *running) stop(t *testing.T) error {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		r.client.CloseIdleConnections()
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
		return nil
	}
}

func start(t *testing.T, opts serve.Options, setup func(*serve.Server)) *running {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opts.Listener = ln
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	if opts.Signals == nil {
		opts.Signals = []os.Signal{}
	}
	if opts.Handler == nil {
		opts.Handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "app") })
	}
	s, err := serve.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{s: s, url: "http://" + ln.Addr().String(), cancel: cancel, done: make(chan error, 1),
		client: &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}}
	go func() { r.done <- s.Run(ctx) }()
	select {
	case <-s.Started():
	case err := <-r.done:
		t.Fatalf("Run returned before listening: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		r.client.CloseIdleConnections()
	})
	return r
}

// recorder notes lifecycle events in order.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (rc *recorder) add(e string) {
	rc.mu.Lock()
	rc.events = append(rc.events, e)
	rc.mu.Unlock()
}

func (rc *recorder) list() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.events)
}

func (rc *recorder) hook(name string, startErr, stopErr error) serve.Hook {
	return serve.Hook{
		Name:    name,
		OnStart: func(context.Context) error { rc.add("start " + name); return startErr },
		OnStop:  func(context.Context) error { rc.add("stop " + name); return stopErr },
	}
}

func TestShutdownDrainsSlowRequestWhileReadinessFails(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		entered := make(chan struct{})
		release := make(chan struct{})
		handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/slow" {
				close(entered)
				<-release
				rec.add("slow request finished")
				_, _ = io.WriteString(w, "slow done")
				return
			}
			_, _ = io.WriteString(w, "fast")
		})
		// DrainDelay keeps the listener open after readiness flips, so the
		// probe can be asked over the network while the slow request runs.
		srv, ln := startMem(t, serve.Options{Handler: handler, DrainDelay: 300 * time.Millisecond, ShutdownTimeout: 5 * time.Second},
			func(s *serve.Server) {
				s.Hook(rec.hook("db", nil, nil))
				s.CloseOnStop("cache", closerFunc(func() error { rec.add("close cache"); return nil }))
			})
		if code, _ := srv.get(t, "/readyz"); code != http.StatusOK {
			t.Fatalf("readyz before shutdown = %d", code)
		}

		slow := srv.getAsync("/slow")
		<-entered
		srv.cancel()
		synctest.Wait() // Run is in its drain delay

		checkDraining(t, srv)
		time.Sleep(time.Second) // fake time: past the drain delay, the listener closes
		synctest.Wait()
		select {
		case err := <-srv.done:
			t.Fatalf("Run returned before the slow request finished: %v", err)
		default:
		}

		close(release)
		if got := <-slow; got != "slow done" {
			t.Errorf("slow request = %q, want it to complete", got)
		}
		if err := srv.stop(t); err != nil {
			t.Errorf("Run = %v, want nil after an orderly shutdown", err)
		}
		want := []string{"start db", "slow request finished", "close cache", "stop db"}
		if got := rec.list(); !slices.Equal(got, want) {
			t.Errorf("events = %q, want %q", got, want)
		}
		if c, err := ln.Dial(context.Background()); err == nil {
			c.Close()
			t.Error("still accepting connections after Run returned")
		}
	})
}

// checkDraining: once shutdown begins, readiness fails at once and
// liveness stays up.
func checkDraining(t *testing.T, srv *running) {
	t.Helper()
	if srv.s.Ready() {
		t.Error("still ready after the shutdown began")
	}
	code, body := srv.get(t, "/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, `"code":"shutting_down"`) {
		t.Errorf("readyz while draining = %d %s", code, body)
	}
	if code, _ := srv.get(t, "/healthz"); code != http.StatusOK {
		t.Errorf("healthz while draining = %d, want 200", code)
	}
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

func TestShutdownTimeoutClosesStragglers(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		entered := make(chan struct{})
		release := make(chan struct{})
		defer close(release)
		handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(entered)
			select {
			case <-release:
			case <-r.Context().Done(): // cancelled when the drain gives up
			}
		})
		srv, _ := startMem(t, serve.Options{Handler: handler, ShutdownTimeout: 150 * time.Millisecond},
			func(s *serve.Server) { s.Hook(rec.hook("db", nil, nil)) })
		failed := make(chan error, 1)
		go func() {
			resp, err := srv.client.Get(srv.url + "/stuck")
			if err == nil {
				resp.Body.Close()
			}
			failed <- err
		}()
		<-entered
		began := time.Now()
		err := srv.stop(t)
		if err == nil || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "did not finish") {
			t.Errorf("Run = %v, want the drain timeout", err)
		}
		if took := time.Since(began); took != 150*time.Millisecond {
			t.Errorf("shutdown took %v of fake time with a 150ms timeout", took)
		}
		if !slices.Contains(rec.list(), "stop db") {
			t.Errorf("stop hooks did not run after a failed drain: %q", rec.list())
		}
		if err := <-failed; err == nil {
			t.Error("the straggling request got a response; its connection should have been closed")
		}
	})
}

func TestHookOrder(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	srv := start(t, serve.Options{}, func(s *serve.Server) {
		s.Hook(rec.hook("config", nil, nil))
		s.Hook(rec.hook("db", nil, nil))
		s.Hook(serve.Hook{Name: "only-stop", OnStop: func(context.Context) error { rec.add("stop only-stop"); return nil }})
		s.Hook(rec.hook("cache", nil, nil))
	})
	if got, want := rec.list(), []string{"start config", "start db", "start cache"}; !slices.Equal(got, want) {
		t.Errorf("before serving: %q, want %q", got, want)
	}
	if err := srv.stop(t); err != nil {
		t.Fatal(err)
	}
	want := []string{"start config", "start db", "start cache", "stop cache", "stop only-stop", "stop db", "stop config"}
	if got := rec.list(); !slices.Equal(got, want) {
		t.Errorf("events = %q, want %q", got, want)
	}
}

var errDown = errors.New("connection refused")

func TestStartHookFailure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		failing    serve.Hook
		wantEvents []string
		wantErr    string
	}{
		{"error", serve.Hook{Name: "db", OnStart: func(context.Context) error { return errDown }},
			[]string{"start config", "stop config"}, `serve: start hook "db" failed: connection refused`},
		{"panic", serve.Hook{Name: "db", OnStart: func(context.Context) error { panic("nil map") }},
			[]string{"start config", "stop config"}, `serve: start hook "db" failed: panic: nil map`},
		{"deadline", serve.Hook{Name: "db", OnStart: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }},
			[]string{"start config", "stop config"}, `serve: start hook "db" failed: context deadline exceeded`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{}
			s, err := serve.New(serve.Options{Handler: http.NotFoundHandler(), Addr: "127.0.0.1:0", Logger: quiet,
				Signals: []os.Signal{}, HookTimeout: 100 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			s.Hook(rec.hook("config", nil, nil))
			s.Hook(tc.failing)
			s.Hook(rec.hook("never", nil, nil))
			err = s.Run(context.Background())
			var he *serve.HookError
			if !errors.As(err, &he) || he.Hook != "db" || he.Phase != "start" {
				t.Fatalf("Run = %v, want a start HookError for db", err)
			}
			if err.Error() != tc.wantErr {
				t.Errorf("error = %q, want %q", err.Error(), tc.wantErr)
			}
			if tc.name == "error" && !errors.Is(err, errDown) {
				t.Error("the hook's error is not in the chain")
			}
			if got := rec.list(); !slices.Equal(got, tc.wantEvents) {
				t.Errorf("events = %q, want %q", got, tc.wantEvents)
			}
			select {
			case <-s.Started():
				t.Error("the server started listening after a failed hook")
			default:
			}
			if s.Addr() != nil {
				t.Errorf("Addr = %v, want nil", s.Addr())
			}
		})
	}
}

func TestStopHookFailuresAreJoined(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	errA, errB := errors.New("a failed"), errors.New("b failed")
	srv := start(t, serve.Options{}, func(s *serve.Server) {
		s.Hook(rec.hook("a", nil, errA))
		s.Hook(serve.Hook{Name: "b", OnStop: func(context.Context) error { rec.add("stop b"); panic("boom") }})
		s.Hook(rec.hook("c", nil, errB))
	})
	err := srv.stop(t)
	if !errors.Is(err, errA) || !errors.Is(err, errB) || !strings.Contains(err.Error(), `stop hook "b" failed: panic: boom`) {
		t.Errorf("Run = %v, want all three stop failures", err)
	}
	if got, want := rec.list(), []string{"start a", "start c", "stop c", "stop b", "stop a"}; !slices.Equal(got, want) {
		t.Errorf("events = %q, want %q", got, want)
	}
}

func TestSignalStartsShutdown(t *testing.T) {
	rec := &recorder{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := serve.New(serve.Options{Handler: http.NotFoundHandler(), Listener: ln, Logger: quiet,
		Signals: []os.Signal{syscall.SIGUSR1}})
	if err != nil {
		t.Fatal(err)
	}
	s.Hook(rec.hook("db", nil, nil))
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	<-s.Started()
	if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the signal did not stop the server")
	}
	if got := rec.list(); !slices.Equal(got, []string{"start db", "stop db"}) {
		t.Errorf("events = %q", got)
	}
}

// TestSIGTERMByDefault: with Signals left nil, SIGTERM (what Kubernetes and
// systemd send) starts an orderly shutdown.
func TestSIGTERMByDefault(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := serve.New(serve.Options{Handler: http.NotFoundHandler(), Listener: ln, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	<-s.Started() // the handler is installed before the listener opens
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("SIGTERM did not stop the server")
	}
}

func TestSecondSignalCutsTheDrainShort(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	defer close(release)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := serve.New(serve.Options{Listener: ln, Logger: quiet, Signals: []os.Signal{syscall.SIGUSR2},
		ShutdownTimeout: time.Minute,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(entered)
			select {
			case <-release:
			case <-r.Context().Done():
			}
		})})
	if err != nil {
		t.Fatal(err)
	}
	// The drains start once the relay has taken the first signal.
	draining := make(chan struct{})
	s.Drain("witness", func(context.Context) error { close(draining); return nil })
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	<-s.Started()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	go func() {
		if resp, err := client.Get("http://" + ln.Addr().String() + "/"); err == nil {
			resp.Body.Close()
		}
	}()
	<-entered
	_ = syscall.Kill(os.Getpid(), syscall.SIGUSR2)
	select {
	case <-draining:
	case <-time.After(5 * time.Second):
		t.Fatal("the first signal did not start the drain")
	}
	// The relay has taken the first signal; the second is buffered if it
	// arrives before the relay waits for it.
	_ = syscall.Kill(os.Getpid(), syscall.SIGUSR2)
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "did not finish") {
			t.Errorf("Run = %v, want the cut-short drain reported", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the second signal did not cut the one-minute drain short")
	}
}

func TestFailedStartClosesTheGivenListener(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := serve.New(serve.Options{Handler: http.NotFoundHandler(), Listener: ln, Logger: quiet, Signals: noSignals})
	if err != nil {
		t.Fatal(err)
	}
	s.Hook(serve.Hook{Name: "db", OnStart: func(context.Context) error { return errDown }})
	if err := s.Run(context.Background()); !errors.Is(err, errDown) {
		t.Fatalf("Run = %v", err)
	}
	if c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		c.Close()
		t.Error("the listener is still open after a failed start")
	}
}

func TestListenFailureRunsStopHooks(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	rec := &recorder{}
	s, err := serve.New(serve.Options{Handler: http.NotFoundHandler(), Addr: taken.Addr().String(), Logger: quiet, Signals: []os.Signal{}})
	if err != nil {
		t.Fatal(err)
	}
	s.Hook(rec.hook("db", nil, nil))
	err = s.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "serve: listen on "+taken.Addr().String()) {
		t.Errorf("Run = %v, want a listen error naming the address", err)
	}
	if got := rec.list(); !slices.Equal(got, []string{"start db", "stop db"}) {
		t.Errorf("events = %q", got)
	}
}

func TestRunOnceAndHookAfterRun(t *testing.T) {
	t.Parallel()
	srv := start(t, serve.Options{}, nil)
	if err := srv.s.Run(context.Background()); err == nil {
		t.Error("second Run succeeded")
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Hook after Run did not panic")
			}
		}()
		srv.s.Hook(serve.Hook{Name: "late"})
	}()
	if err := srv.stop(t); err != nil {
		t.Fatal(err)
	}
}

func TestNewDefaults(t *testing.T) {
	t.Parallel()
	s, err := serve.New(serve.Options{Handler: http.NotFoundHandler()})
	if err != nil {
		t.Fatal(err)
	}
	hs := s.HTTPServer()
	if hs.ReadHeaderTimeout != serve.DefaultReadHeaderTimeout || hs.ReadTimeout != serve.DefaultReadTimeout ||
		hs.WriteTimeout != serve.DefaultWriteTimeout || hs.IdleTimeout != serve.DefaultIdleTimeout ||
		hs.MaxHeaderBytes != serve.DefaultMaxHeaderBytes || hs.ErrorLog == nil {
		t.Errorf("defaults not applied: %+v", hs)
	}
	s, err = serve.New(serve.Options{Handler: http.NotFoundHandler(), ReadTimeout: -1, WriteTimeout: -1, IdleTimeout: -1})
	if err != nil {
		t.Fatal(err)
	}
	if hs := s.HTTPServer(); hs.ReadTimeout != 0 || hs.WriteTimeout != 0 || hs.IdleTimeout >= 0 || hs.ReadHeaderTimeout == 0 {
		t.Errorf("negative timeouts not disabled (or header timeout lost): %+v", hs)
	}
}

func TestNewValidation(t *testing.T) {
	t.Parallel()
	cert := selfSigned(t)
	h := http.NotFoundHandler()
	tests := []struct {
		name string
		opts serve.Options
	}{
		{"no handler", serve.Options{}},
		{"bad addr", serve.Options{Handler: h, Addr: "8080"}},
		{"header timeout disabled", serve.Options{Handler: h, ReadHeaderTimeout: -1}},
		{"negative shutdown timeout", serve.Options{Handler: h, ShutdownTimeout: -1}},
		{"negative hook timeout", serve.Options{Handler: h, HookTimeout: -time.Second}},
		{"negative check timeout", serve.Options{Handler: h, CheckTimeout: -time.Second}},
		{"negative drain delay", serve.Options{Handler: h, DrainDelay: -time.Second}},
		{"tiny header limit", serve.Options{Handler: h, MaxHeaderBytes: 512}},
		{"negative header limit", serve.Options{Handler: h, MaxHeaderBytes: -1}},
		{"relative probe path", serve.Options{Handler: h, HealthPath: "healthz"}},
		{"same probe paths", serve.Options{Handler: h, HealthPath: "/probe", ReadyPath: "/probe"}},
		{"tls without certificate", serve.Options{Handler: h, TLSConfig: &tls.Config{}}},
		{"tls 1.0 allowed", serve.Options{Handler: h, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS10}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := serve.New(tc.opts)
			if err == nil || s != nil {
				t.Fatalf("New = %v, %v; want an error", s, err)
			}
			if !errors.Is(err, errs.KindConfiguration) {
				t.Errorf("error %v is not a configuration error", err)
			}
		})
	}
}

// TestSlowHeadersAreCut sends a request line and then nothing: the
// connection must be closed after ReadHeaderTimeout.
func TestSlowHeadersAreCut(t *testing.T) {
	t.Parallel()
	srv := start(t, serve.Options{ReadHeaderTimeout: 200 * time.Millisecond}, nil)
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	began := time.Now()
	_, err = io.ReadAll(conn)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the server kept a header-less connection open")
	}
	if took := time.Since(began); took > 3*time.Second {
		t.Errorf("connection closed after %v", took)
	}
	_ = srv.stop(t)
}

func TestOversizedHeadersRefused(t *testing.T) {
	t.Parallel()
	srv := start(t, serve.Options{MaxHeaderBytes: 8 << 10}, nil)
	req, _ := http.NewRequest(http.MethodGet, srv.url+"/", nil)
	req.Header.Set("X-Big", strings.Repeat("a", 64<<10))
	resp, err := srv.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("status = %d, want 431", resp.StatusCode)
	}
	_ = srv.stop(t)
}

func TestTLS(t *testing.T) {
	t.Parallel()
	cert := selfSigned(t)
	srv := start(t, serve.Options{TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}, nil)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // self-signed test certificate
	defer client.CloseIdleConnections()
	resp, err := client.Get(strings.Replace(srv.url, "http://", "https://", 1) + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil {
		t.Errorf("status %d, tls %v", resp.StatusCode, resp.TLS != nil)
	}
	_ = srv.stop(t)
}

func TestServerLogsLifecycle(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var buf strings.Builder
	logger := slog.New(slog.NewJSONHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	}), nil))
	srv := start(t, serve.Options{Logger: logger}, nil)
	_ = srv.stop(t)
	mu.Lock()
	defer mu.Unlock()
	var msgs []string
	sc := bufio.NewScanner(strings.NewReader(buf.String()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m["msg"].(string))
	}
	if want := []string{"server started", "shutting down", "server stopped"}; !slices.Equal(msgs, want) {
		t.Errorf("log messages = %q, want %q", msgs, want)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// selfSigned makes a certificate for 127.0.0.1, for the TLS tests only.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
