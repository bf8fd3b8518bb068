package wstools

import (
	"context"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// pipeListener hands out the server ends of net.Pipe connections, so a hub
// can be served inside a synctest bubble, where every wait runs on the
// bubble's clock.
type pipeListener struct {
	conns     chan net.Conn
	closed    chan struct{}
	closeOnce sync.Once

	mu   sync.Mutex
	last net.Conn // the client end dial returned last
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

// dial returns the client end of a new pipe whose server end Accept returns.
func (l *pipeListener) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		l.mu.Lock()
		l.last = client
		l.mu.Unlock()
		return client, nil
	case <-l.closed:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// servePipe serves a hub built from opts over in-memory pipes; call it
// inside a synctest bubble. It returns the hub and a dial function for
// clients, which also returns the client's end of the pipe. The hub, the server and the clients are shut down at the end of
// the test.
func servePipe(t *testing.T, opts Options) (*Hub, func() (*websocket.Conn, net.Conn)) {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = discardLogger
	}
	h, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ln := newPipeListener()
	srv := &http.Server{Handler: h}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(ln)
	}()
	tr := &http.Transport{DialContext: ln.dial}
	client := &http.Client{Transport: tr}
	var conns []*websocket.Conn
	t.Cleanup(func() {
		for _, c := range conns {
			_ = c.CloseNow()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = h.Shutdown(ctx)
		_ = srv.Shutdown(ctx)
		<-served
		tr.CloseIdleConnections()
	})
	dial := func() (*websocket.Conn, net.Conn) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, _, err := websocket.Dial(ctx, "ws://pipe/", &websocket.DialOptions{HTTPClient: client})
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		conns = append(conns, c)
		ln.mu.Lock()
		defer ln.mu.Unlock()
		return c, ln.last
	}
	return h, dial
}
