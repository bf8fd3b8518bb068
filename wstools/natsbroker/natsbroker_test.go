package natsbroker_test

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
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

// startNATS starts a private nats-server child process.
func startNATS(t *testing.T) *testsvc.Child {
	t.Helper()
	return testsvc.StartChild(t, "nats-server", func(port int) []string {
		return []string{"-a", "127.0.0.1", "-p", strconv.Itoa(port)}
	})
}

func natsURL(c *testsvc.Child) string { return "nats://" + c.Addr() }

// TestConformance runs the broker conformance tests on a private
// nats-server (which they kill, restart, pause and resume) and on the
// shared one.
func TestConformance(t *testing.T) {
	t.Run("private", func(t *testing.T) {
		srv := startNATS(t)
		p := prefix()
		brokertest.Run(t, brokertest.Server{
			NewBroker: func(t *testing.T) wstools.Broker { return newBroker(t, natsURL(srv), p) },
			Kill:      func(*testing.T) { srv.Kill() },
			Restart:   func(*testing.T) { srv.Restart() },
			Pause:     func(*testing.T) { srv.Pause() },
			Resume:    func(*testing.T) { srv.Resume() },
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
	giveUp, err := nats.Connect(natsURL(srv))
	if err != nil {
		t.Fatal(err)
	}
	defer giveUp.Close()
	if _, err := natsbroker.New(natsbroker.Options{Conn: giveUp}); err == nil {
		t.Fatal("a connection that stops reconnecting was accepted")
	}
	nc := connect(t, natsURL(srv))
	for _, p := range []string{"app", "a..b.", "app.*.", "app.>.", "a b."} {
		if _, err := natsbroker.New(natsbroker.Options{Conn: nc, Prefix: p}); err == nil {
			t.Errorf("prefix %q accepted", p)
		}
	}
	if _, err := natsbroker.New(natsbroker.Options{Conn: nc, Prefix: "my-app.ws."}); err != nil {
		t.Fatal(err)
	}
}
