package natsbroker_test

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/covetgo/covet/internal/testsvc"
	"github.com/covetgo/covet/wstools"
	"github.com/covetgo/covet/wstools/brokertest"
	"github.com/covetgo/covet/wstools/natsbroker"
)

func prefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "covet_test." + hex.EncodeToString(b[:]) + "."
}

func connect(t *testing.T, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond),
		nats.PingInterval(500*time.Millisecond), nats.MaxPingsOutstanding(2))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func newBroker(t *testing.T, url, p string) wstools.Broker {
	t.Helper()
	b, err := natsbroker.New(natsbroker.Options{Conn: connect(t, url), Prefix: p})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// natsServer is a private nats-server child process.
type natsServer struct {
	t    *testing.T
	port int
	mu   sync.Mutex
	cmd  *exec.Cmd
}

func startNATS(t *testing.T) *natsServer {
	t.Helper()
	if _, err := exec.LookPath("nats-server"); err != nil {
		if testsvc.Required() {
			t.Fatal("nats-server binary not found")
		}
		t.Skip("nats-server binary not found")
	}
	s := &natsServer{t: t, port: testsvc.FreePort(t)}
	s.start()
	t.Cleanup(s.kill)
	return s
}

func (s *natsServer) url() string { return "nats://127.0.0.1:" + strconv.Itoa(s.port) }

func (s *natsServer) start() {
	s.t.Helper()
	cmd := exec.Command("nats-server", "-a", "127.0.0.1", "-p", strconv.Itoa(s.port))
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.mu.Lock()
	s.cmd = cmd
	s.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(s.port), 200*time.Millisecond)
		if err == nil {
			_ = c.Close()
			return
		}
		if time.Now().After(deadline) {
			s.kill()
			s.t.Fatalf("nats-server did not start: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *natsServer) kill() {
	s.mu.Lock()
	cmd := s.cmd
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGCONT)
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
}

func (s *natsServer) signal(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		_ = s.cmd.Process.Signal(sig)
	}
}

// TestConformance runs the broker conformance tests on a private
// nats-server (which they kill, restart, pause and resume) and on the
// shared one.
func TestConformance(t *testing.T) {
	t.Run("private", func(t *testing.T) {
		srv := startNATS(t)
		p := prefix()
		brokertest.Run(t, brokertest.Server{
			NewBroker: func(t *testing.T) wstools.Broker { return newBroker(t, srv.url(), p) },
			Kill:      func(*testing.T) { srv.kill() },
			Restart:   func(*testing.T) { srv.start() },
			Pause:     func(*testing.T) { srv.signal(syscall.SIGSTOP) },
			Resume:    func(*testing.T) { srv.signal(syscall.SIGCONT) },
		})
	})
	t.Run("shared", func(t *testing.T) {
		url := testsvc.NATSURL(t)
		p := prefix()
		brokertest.Run(t, brokertest.Server{
			NewBroker: func(t *testing.T) wstools.Broker { return newBroker(t, url, p) },
		})
	})
}

func TestNewValidates(t *testing.T) {
	srv := startNATS(t)
	if _, err := natsbroker.New(natsbroker.Options{}); err == nil {
		t.Fatal("nil connection accepted")
	}
	giveUp, err := nats.Connect(srv.url())
	if err != nil {
		t.Fatal(err)
	}
	defer giveUp.Close()
	if _, err := natsbroker.New(natsbroker.Options{Conn: giveUp}); err == nil {
		t.Fatal("a connection that stops reconnecting was accepted")
	}
	nc := connect(t, srv.url())
	for _, p := range []string{"app", "a..b.", "app.*.", "app.>.", "a b."} {
		if _, err := natsbroker.New(natsbroker.Options{Conn: nc, Prefix: p}); err == nil {
			t.Errorf("prefix %q accepted", p)
		}
	}
	if _, err := natsbroker.New(natsbroker.Options{Conn: nc, Prefix: "my-app.ws."}); err != nil {
		t.Fatal(err)
	}
}
