package wstools

import (
	"context"
	"io"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coder/websocket"
)

// TestDeadPeerCounted serves a peer that never answers a ping, in a
// synctest bubble, and checks that it is counted as a dead peer exactly
// once, whether its socket still takes bytes or is full: a full socket
// must not let the reader see the torn-down socket first and close the
// connection as an abnormal closure, uncounted.
func TestDeadPeerCounted(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		pong  time.Duration
		drain bool // the peer's network stack takes bytes (a kernel buffer with room)
		fill  bool // a broadcast is stuck in a write when the ping is due
	}{
		{name: "socket takes bytes", pong: time.Second, drain: true},
		{name: "socket full", pong: time.Second},
		{name: "socket full behind a stuck write", pong: time.Second, fill: true},
		// The ping's own write gives up before the pong timeout.
		{name: "socket full with the default pong timeout", pong: DefaultPongTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				closed := make(chan websocket.StatusCode, 1)
				var h *Hub
				h, dial := servePipe(t, Options{
					Router:       joinRouter(&h),
					PingInterval: 30 * time.Millisecond,
					PongTimeout:  tt.pong,
					WriteTimeout: time.Hour, // only the heartbeat can act
					OnDisconnect: func(c *Conn) { closed <- c.CloseStatus() },
				})
				c, raw := dial()
				if tt.fill {
					join(t, c, "feed") // and read no more
				}
				if tt.drain {
					go func() { _, _ = io.Copy(io.Discard, raw) }()
				}
				synctest.Wait()
				if tt.fill {
					if err := h.Broadcast(context.Background(), "feed", "chunk", strings.Repeat("w", 16<<10)); err != nil {
						t.Fatal(err)
					}
				}
				time.Sleep(30*time.Millisecond + tt.pong) // the first ping and its pong timeout
				synctest.Wait()
				select {
				case code := <-closed:
					if code != websocket.StatusPolicyViolation {
						t.Errorf("closed with %v, want 1008", code)
					}
				default:
					t.Fatal("dead peer not closed at the pong timeout")
				}
				st := h.Stats()
				if st.DeadPeers != 1 {
					t.Errorf("DeadPeers = %d, want 1", st.DeadPeers)
				}
				// The hub forgets a connection only after its writer and
				// heartbeat goroutines have returned.
				if st.Connections != 0 {
					t.Errorf("Connections = %d, want 0", st.Connections)
				}
				if st.SlowDisconnects != 0 {
					t.Errorf("SlowDisconnects = %d, want 0", st.SlowDisconnects)
				}
			})
		})
	}
}
