package serve_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/covetgo/covet/serve"
)

// memListener is an in-memory net.Listener whose connections are net.Pipe
// pairs. A server on it and its clients block only on channels, so they run
// inside a testing/synctest bubble, where timeouts pass in fake time.
type memListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newMemListener() *memListener {
	return &memListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *memListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *memListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *memListener) Addr() net.Addr { return memAddr{} }

// Dial connects to the listener; it fails once the listener is closed.
func (l *memListener) Dial(ctx context.Context) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
	case <-ctx.Done():
	}
	client.Close()
	server.Close()
	return nil, net.ErrClosed
}

type memAddr struct{}

func (memAddr) Network() string { return "mem" }
func (memAddr) String() string  { return "mem" }

// startMem is start on an in-memory listener, for tests inside a synctest
// bubble. Call stop (or cancel and wait for done) before the bubble ends.
func startMem(t *testing.T, opts serve.Options, setup func(*serve.Server)) (*running, *memListener) {
	t.Helper()
	ln := newMemListener()
	opts.Listener = ln
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	if opts.Signals == nil {
		opts.Signals = noSignals
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
	transport := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return ln.Dial(ctx) }}
	r := &running{s: s, url: "http://mem", cancel: cancel, done: make(chan error, 1),
		client: &http.Client{Transport: transport, Timeout: 10 * time.Second}}
	go func() { r.done <- s.Run(ctx) }()
	select {
	case <-s.Started():
	case err := <-r.done:
		t.Fatalf("Run returned before listening: %v", err)
	}
	return r, ln
}
