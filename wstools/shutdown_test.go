package wstools

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"
)

func TestShutdownClosesWithGoingAway(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	var h *Hub
	h, err := New(Options{Router: joinRouter(&h), DrainTimeout: 3 * time.Second, Logger: discardLogger})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: time.Second}
	h.RegisterOnShutdown(srv)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	url := "ws://" + ln.Addr().String()
	const n = 5
	codes := make(chan websocket.StatusCode, n)
	for i := 0; i < n; i++ {
		c := dial(t, url, nil)
		join(t, c, "lobby")
		go func() {
			for {
				if _, _, err := c.Read(context.Background()); err != nil {
					codes <- websocket.CloseStatus(err)
					return
				}
			}
		}()
	}
	if h.Len() != n {
		t.Fatalf("Len = %d", h.Len())
	}
	start := time.Now()
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		select {
		case code := <-codes:
			if code != websocket.StatusGoingAway {
				t.Fatalf("client %d closed with %v, want 1001", i, code)
			}
		case <-time.After(3 * time.Second):
			t.Fatalf("client %d not closed within the drain timeout", i)
		}
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("shutdown took %v", d)
	}
	eventually(t, "hub empty", func() bool { return h.Len() == 0 && h.Stats().Rooms == 0 })
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Fatal(err)
	}
	// Handshakes after shutdown are refused.
	w := httptest.NewRecorder()
	h.ServeHTTP(w, handshake(nil))
	checkProblem(t, w, http.StatusServiceUnavailable, "ws_shutting_down")
}

func TestShutdownDrainTimeout(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	h, err := New(Options{Logger: discardLogger})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	defer ts.Close()
	// This client never reads, so it never answers the close frame.
	c := dial(t, "ws"+ts.URL[len("http"):], nil)
	_ = c
	eventually(t, "registered", func() bool { return h.Len() == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = h.Shutdown(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Shutdown took %v after a 300ms deadline", d)
	}
	if h.Len() != 0 {
		t.Fatalf("Len = %d after Shutdown", h.Len())
	}
}
