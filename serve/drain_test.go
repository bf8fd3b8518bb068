package serve_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/covetgo/covet/serve"
	"github.com/covetgo/covet/wstools"
)

// TestRunWaitsForDrains holds a drain open past the moment the HTTP drain
// is over: Run must not return, nor run the stop hooks, before it ends.
func TestRunWaitsForDrains(t *testing.T) {
	t.Parallel()
	synctest.Test(t, testRunWaitsForDrains)
}

func testRunWaitsForDrains(t *testing.T) {
	rec := &recorder{}
	release := make(chan struct{})
	var drainCtxOK atomic.Bool
	srv, _ := startMem(t, serve.Options{}, func(s *serve.Server) {
		s.Hook(rec.hook("resources", nil, nil))
		s.Drain("slow", func(ctx context.Context) error {
			_, hasDeadline := ctx.Deadline()
			drainCtxOK.Store(hasDeadline)
			rec.add("drain slow started")
			<-release
			rec.add("drain slow done")
			return nil
		})
		s.Drain("failing", func(context.Context) error { return errors.New("broker gone") })
		s.Drain("panicking", func(context.Context) error { panic("boom") })
	})
	srv.cancel()
	synctest.Wait() // everything else has drained; the slow drain holds Run
	select {
	case err := <-srv.done:
		t.Fatalf("Run returned before its drain finished: %v", err)
	default:
	}
	close(release)
	var err error
	select {
	case err = <-srv.done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	srv.client.CloseIdleConnections()
	var he *serve.HookError
	if !errors.As(err, &he) || he.Phase != "drain" || !strings.Contains(err.Error(), "broker gone") || !strings.Contains(err.Error(), "panic: boom") {
		t.Fatalf("Run = %v, want the failing and panicking drains' errors", err)
	}
	got := strings.Join(rec.list(), ", ")
	if got != "start resources, drain slow started, drain slow done, stop resources" {
		t.Fatalf("events: %s", got)
	}
	if !drainCtxOK.Load() {
		t.Error("the drain's context has no deadline")
	}
}

func TestDrainPanicsAfterRun(t *testing.T) {
	t.Parallel()
	srv := start(t, serve.Options{}, nil)
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Drain after Run did not panic")
			}
		}()
		srv.s.Drain("late", func(context.Context) error { return nil })
	}()
	_ = srv.stop(t)
}

// TestRunWaitsForWebSocketHub runs a hub behind serve with a client that
// never answers the close frame: Run returns only once the hub has let the
// connection go, so stop hooks cannot close what the hub still uses.
func TestRunWaitsForWebSocketHub(t *testing.T) {
	t.Parallel()
	synctest.Test(t, testRunWaitsForWebSocketHub)
}

func testRunWaitsForWebSocketHub(t *testing.T) {
	hub, err := wstools.New(wstools.Options{Router: wstools.NewRouter(), DrainTimeout: 700 * time.Millisecond, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	var lenAtStop atomic.Int64
	lenAtStop.Store(-1)
	srv, ln := startMem(t, serve.Options{Handler: hub}, func(s *serve.Server) {
		s.Drain("websockets", hub.Drain)
		s.Hook(serve.Hook{Name: "resources", OnStop: func(context.Context) error {
			lenAtStop.Store(int64(hub.Len()))
			return nil
		}})
	})
	// A raw handshake, then silence: the client neither reads nor answers
	// the close frame, so the hub waits for it until DrainTimeout.
	conn, err := ln.Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	// A pipe has no buffer: read the whole response head, as a kernel's
	// socket buffer would have taken it.
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	synctest.Wait() // the hub has registered the connection
	if hub.Len() != 1 {
		t.Fatalf("hub has %d connections", hub.Len())
	}
	start := time.Now()
	if err := srv.stop(t); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run = %v", err)
	}
	if n := lenAtStop.Load(); n != 0 {
		t.Fatalf("stop hooks ran with %d WebSocket connections still open", n)
	}
	if hub.Len() != 0 {
		t.Fatalf("Run returned with %d WebSocket connections open", hub.Len())
	}
	if time.Since(start) < 700*time.Millisecond {
		t.Fatalf("Run returned after %v, before the hub's drain timeout", time.Since(start))
	}
}

func TestTLSOffersHTTP2(t *testing.T) {
	t.Parallel()
	cert := selfSigned(t)
	for _, tc := range []struct {
		name      string
		next      []string
		optOut    func(*http.Server)
		wantMajor int
	}{
		{name: "no NextProtos", wantMajor: 2},
		{name: "NextProtos without h2", next: []string{"http/1.1"}, wantMajor: 2},
		{name: "opted out through Protocols", optOut: func(hs *http.Server) {
			var p http.Protocols
			p.SetHTTP1(true)
			hs.Protocols = &p
		}, wantMajor: 1},
		{name: "opted out through TLSNextProto", optOut: func(hs *http.Server) {
			hs.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
		}, wantMajor: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, NextProtos: tc.next}
			srv := start(t, serve.Options{TLSConfig: cfg}, func(s *serve.Server) {
				if tc.optOut != nil {
					tc.optOut(s.HTTPServer())
				}
			})
			tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true} //nolint:gosec // self-signed test certificate
			defer tr.CloseIdleConnections()
			resp, err := (&http.Client{Transport: tr}).Get(strings.Replace(srv.url, "http://", "https://", 1) + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.ProtoMajor != tc.wantMajor {
				t.Errorf("served %s, want HTTP/%d", resp.Proto, tc.wantMajor)
			}
			if strings.Join(cfg.NextProtos, ",") != strings.Join(tc.next, ",") {
				t.Errorf("the caller's NextProtos changed to %q", cfg.NextProtos)
			}
			_ = srv.stop(t)
		})
	}
}

// TestIdleTimeoutDisabled keeps a connection idle for longer than
// ReadTimeout with IdleTimeout -1: the next request must reuse it.
func TestIdleTimeoutDisabled(t *testing.T) {
	t.Parallel()
	s, err := serve.New(serve.Options{Handler: http.NotFoundHandler(), IdleTimeout: -1})
	if err != nil {
		t.Fatal(err)
	}
	if hs := s.HTTPServer(); hs.IdleTimeout >= 0 || hs.ReadTimeout != serve.DefaultReadTimeout {
		t.Fatalf("IdleTimeout %v ReadTimeout %v: http.Server falls back to ReadTimeout for a zero IdleTimeout", hs.IdleTimeout, hs.ReadTimeout)
	}

	synctest.Test(t, testIdleConnectionKept)
}

func testIdleConnectionKept(t *testing.T) {
	srv, ln := startMem(t, serve.Options{ReadTimeout: 100 * time.Millisecond, IdleTimeout: -1}, nil)
	conn, err := ln.Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ask := func() error {
		if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			return err
		}
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 12)
		_, err := io.ReadFull(conn, buf)
		if err == nil && string(buf) != "HTTP/1.1 200" {
			err = errors.New("status line " + string(buf))
		}
		// Drain the rest of the small response.
		_ = conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		_, _ = io.Copy(io.Discard, conn)
		return err
	}
	if err := ask(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond) // fake time: idle for 4×ReadTimeout
	if err := ask(); err != nil {
		t.Fatalf("the idle connection was closed: %v", err)
	}
	_ = srv.stop(t)
}
