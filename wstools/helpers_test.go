package wstools

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// serve starts an httptest server with a hub built from opts and returns
// the hub and the ws:// URL. Everything is shut down at the end of the test.
func serve(t testing.TB, opts Options) (*Hub, string) {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = discardLogger
	}
	h, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ts := httptest.NewUnstartedServer(h)
	ts.Listener = smallBufferListener{ts.Listener}
	ts.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = h.Shutdown(ctx)
		ts.Close()
	})
	return h, "ws" + strings.TrimPrefix(ts.URL, "http")
}

// dial opens a client connection; it is closed at the end of the test.
func dial(t testing.TB, url string, opts *websocket.DialOptions) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, url, opts)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (status %d)", url, err, status)
	}
	c.SetReadLimit(-1)
	t.Cleanup(func() { _ = c.CloseNow() })
	return c
}

// frame is a decoded server message.
type frame struct {
	Type  string          `json:"type"`
	Room  string          `json:"room"`
	Seq   uint64          `json:"seq"`
	ID    string          `json:"id"`
	Data  json.RawMessage `json:"data"`
	Error *struct {
		Status int            `json:"status"`
		Code   string         `json:"code"`
		Ctx    map[string]any `json:"context"`
	} `json:"error"`
}

func readFrame(t testing.TB, c *websocket.Conn) frame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	typ, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if typ != websocket.MessageText {
		t.Fatalf("read: got a %v message", typ)
	}
	var f frame
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("read: invalid JSON %q: %v", b, err)
	}
	return f
}

func send(t testing.TB, c *websocket.Conn, msg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// expectClose reads until the connection fails and checks the close code.
func expectClose(t testing.TB, c *websocket.Conn, want websocket.StatusCode) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		_, _, err := c.Read(ctx)
		if err == nil {
			continue
		}
		if got := websocket.CloseStatus(err); got != want {
			t.Fatalf("close status = %v (%v), want %v", got, err, want)
		}
		return
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// joinRouter returns a router with "join" ({"type":"join","room":..}) and
// "leave" handlers, and an "echo" handler that answers with its data.
func joinRouter(h **Hub) *Router {
	rt := NewRouter()
	rt.Handle("join", func(_ context.Context, c *Conn, m Message) error {
		var in struct {
			Room string `json:"room"`
		}
		if err := m.Decode(&in); err != nil {
			return err
		}
		if err := (*h).Join(c, in.Room); err != nil {
			return err
		}
		return c.Send("joined", in.Room)
	})
	rt.Handle("leave", func(_ context.Context, c *Conn, m Message) error {
		var in struct {
			Room string `json:"room"`
		}
		if err := m.Decode(&in); err != nil {
			return err
		}
		(*h).Leave(c, in.Room)
		return c.Send("left", in.Room)
	})
	rt.Handle("echo", func(_ context.Context, c *Conn, m Message) error {
		var in struct {
			Data json.RawMessage `json:"data"`
		}
		if err := m.Decode(&in); err != nil {
			return err
		}
		return m.Reply("echo", in.Data)
	})
	rt.Handle("fail", func(context.Context, *Conn, Message) error {
		return errors.New("database on fire")
	})
	rt.Handle("deny", func(context.Context, *Conn, Message) error {
		return ErrInvalidRoom
	})
	rt.Handle("panic", func(context.Context, *Conn, Message) error {
		panic("boom")
	})
	return rt
}

// join makes c join room through the router and waits for the reply.
func join(t testing.TB, c *websocket.Conn, room string) {
	t.Helper()
	send(t, c, `{"type":"join","room":"`+room+`"}`)
	if f := readFrame(t, c); f.Type != "joined" {
		t.Fatalf("join: got %+v", f)
	}
}

// smallBufferListener shrinks the kernel send buffer of accepted
// connections, so a client that stops reading fills it quickly and the
// hub's send queue policies come into play without megabytes of traffic.
type smallBufferListener struct{ net.Listener }

func (l smallBufferListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(8 << 10)
	}
	return c, err
}

// slowDialOptions gives a client a small kernel receive buffer.
func slowDialOptions() *websocket.DialOptions {
	d := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		_ = rc.Control(func(fd uintptr) {
			err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 8<<10)
		})
		return err
	}}
	return &websocket.DialOptions{HTTPClient: &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}}
}

var discardLogger = slog.New(slog.DiscardHandler)
