package wstools

import (
	"context"
	"net/http"

	"github.com/coder/websocket"
)

// RegisterOnShutdown makes srv.Shutdown shut the hub down too:
// http.Server.Shutdown does not wait for hijacked connections, so without it
// WebSocket clients would just see the process go away. The hub's
// Shutdown runs with Options.DrainTimeout. srv.Shutdown starts it but does
// not wait for it: with serve, register Drain with serve.Server.Drain
// instead, so that Run returns (and its stop hooks close what the hub
// uses) only once the clients are gone.
func (h *Hub) RegisterOnShutdown(srv *http.Server) {
	srv.RegisterOnShutdown(func() { _ = h.Drain(context.Background()) })
}

// Drain is Shutdown bounded by Options.DrainTimeout as well as by ctx: the
// function to give serve.Server.Drain ("websockets", hub.Drain).
func (h *Hub) Drain(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, h.s.drainTimeout)
	defer cancel()
	return h.Shutdown(ctx)
}

// Shutdown refuses new handshakes (503), closes every connection with 1001
// (going away) and waits for them to finish their close handshakes. When
// ctx ends first, the remaining connections are dropped without a handshake
// and ctx's error is returned once they are gone. The hub then drops its
// broker subscriptions; it cannot be reused. Calling Shutdown again waits
// again.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	h.closing = true
	conns := make([]*Conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	allSub := h.allSub
	h.allSub = nil
	h.mu.Unlock()

	for _, c := range conns {
		c.closeWith(websocket.StatusGoingAway, "server shutting down")
	}
	done := make(chan struct{})
	go func() {
		h.wg.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		h.mu.RLock()
		for c := range h.conns {
			c.abort(websocket.StatusGoingAway, "server shutting down")
		}
		h.mu.RUnlock()
		<-done
	}
	if allSub != nil {
		allSub()
	}
	return err
}
