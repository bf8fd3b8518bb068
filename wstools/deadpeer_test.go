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
// synctest bubble, and checks that it is removed and counted exactly once,
// under the path that removed it, whether its socket still takes bytes or
// is full: a full socket must not let the reader see the torn-down socket
// first and close the connection as an abnormal closure, uncounted.
func TestDeadPeerCounted(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		pong         time.Duration
		writeTimeout time.Duration
		overflow     Overflow
		queue        int
		drain        bool // the peer's network stack takes bytes (a kernel buffer with room)
		fill         bool // a broadcast is stuck in a write when the ping is due
		overfill     bool // a second broadcast does not fit in the send queue
		want         websocket.StatusCode
		dead, slow   uint64
	}{
		{name: "socket takes bytes", pong: time.Second, drain: true, want: websocket.StatusPolicyViolation, dead: 1},
		{name: "socket full", pong: time.Second, want: websocket.StatusPolicyViolation, dead: 1},
		{name: "socket full behind a stuck write", pong: time.Second, fill: true, want: websocket.StatusPolicyViolation, dead: 1},
		// The ping's own write gives up before the pong timeout.
		{name: "socket full with the default pong timeout", pong: DefaultPongTimeout, want: websocket.StatusPolicyViolation, dead: 1},
		// The write timeout acts before the pong timeout: a write failure,
		// not a dead peer.
		{name: "write timeout first", pong: time.Second, writeTimeout: 200 * time.Millisecond, fill: true, want: websocket.StatusPolicyViolation},
		// The send queue overflows before the pong timeout: a slow
		// disconnect, not a dead peer as well.
		{name: "queue overflow first", pong: time.Second, overflow: Disconnect, queue: 20 << 10, fill: true, overfill: true, want: websocket.StatusTryAgainLater, slow: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				closed := make(chan websocket.StatusCode, 1)
				wt := tt.writeTimeout
				if wt == 0 {
					wt = time.Hour // only the heartbeat can act
				}
				var h *Hub
				h, dial := servePipe(t, Options{
					Router:         joinRouter(&h),
					PingInterval:   30 * time.Millisecond,
					PongTimeout:    tt.pong,
					WriteTimeout:   wt,
					Overflow:       tt.overflow,
					SendQueueBytes: tt.queue,
					OnDisconnect:   func(c *Conn) { closed <- c.CloseStatus() },
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
					synctest.Wait()
				}
				if tt.overfill {
					if err := h.Broadcast(context.Background(), "feed", "chunk", strings.Repeat("w", 16<<10)); err != nil {
						t.Fatal(err)
					}
				}
				time.Sleep(30*time.Millisecond + tt.pong) // the first ping and its pong timeout
				synctest.Wait()
				if tt.overflow == Disconnect {
					time.Sleep(wt) // a socket that stays full is dropped after WriteTimeout
					synctest.Wait()
				}
				select {
				case code := <-closed:
					if code != tt.want {
						t.Errorf("closed with %v, want %v", code, tt.want)
					}
				default:
					t.Fatal("dead peer not closed")
				}
				st := h.Stats()
				if st.DeadPeers != tt.dead || st.SlowDisconnects != tt.slow {
					t.Errorf("DeadPeers, SlowDisconnects = %d, %d, want %d, %d", st.DeadPeers, st.SlowDisconnects, tt.dead, tt.slow)
				}
				// The hub forgets a connection only after its writer and
				// heartbeat goroutines have returned.
				if st.Connections != 0 {
					t.Errorf("Connections = %d, want 0", st.Connections)
				}
			})
		})
	}
}
