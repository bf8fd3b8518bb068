package wstools

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/covetgo/covet/internal/testsvc"
)

// TestBroadcastDuringBrokerOutage: a chat message sent while the broker's
// Redis is paused or killed reaches this instance's room members, and the
// sender gets an error message (ws_broker_unavailable) within about a
// second; nobody's connection is closed.
func TestBroadcastDuringBrokerOutage(t *testing.T) {
	for _, mode := range []string{"paused", "killed"} {
		t.Run(mode, func(t *testing.T) {
			srv := testsvc.StartRedis(t)
			broker, _ := newRedisBroker(t, srv.Addr(), testPrefix())
			var h *Hub
			rt := joinRouter(&h)
			rt.Handle("say", func(ctx context.Context, c *Conn, m Message) error {
				var in struct {
					Room string `json:"room"`
					Text string `json:"text"`
				}
				if err := m.Decode(&in); err != nil {
					return err
				}
				return h.Broadcast(ctx, in.Room, "said", in.Text)
			})
			h, url := serve(t, Options{Router: rt, Broker: broker})
			sender, member := dial(t, url, nil), dial(t, url, nil)
			join(t, sender, "r")
			join(t, member, "r")
			if mode == "paused" {
				srv.Pause()
			} else {
				srv.Kill()
			}
			var lat []time.Duration
			for range 5 {
				lat = append(lat, sayDuringOutage(t, sender, member))
			}
			slices.Sort(lat)
			t.Logf("wstools broker, Redis %s: p50 %v, max %v over %d messages", mode, lat[len(lat)/2], lat[len(lat)-1], len(lat))
			if lat[len(lat)-1] > time.Second {
				t.Fatalf("a message with Redis %s took %v to be answered", mode, lat[len(lat)-1])
			}
			// Both connections are still open.
			for _, c := range []*websocket.Conn{sender, member} {
				send(t, c, `{"type":"echo","data":1}`)
				if f := readFrame(t, c); f.Type != "echo" {
					t.Fatalf("connection not usable after the outage: %+v", f)
				}
			}
			if h.Len() != 2 {
				t.Fatalf("%d connections open, want 2", h.Len())
			}
		})
	}
}

// sayDuringOutage sends a message for its room while the broker is down:
// both members get it locally and the sender an error saying the other
// instances did not. It returns how long the sender waited for the error.
func sayDuringOutage(t *testing.T, sender, member *websocket.Conn) time.Duration {
	t.Helper()
	began := time.Now()
	send(t, sender, `{"type":"say","id":"m1","room":"r","text":"hello"}`)
	if f := readFrame(t, sender); f.Type != "said" || string(f.Data) != `"hello"` {
		t.Fatalf("sender: local delivery missing: %+v", f)
	}
	f := readFrame(t, sender)
	took := time.Since(began)
	if f.Type != "error" || f.ID != "m1" || f.Error == nil || f.Error.Code != "ws_broker_unavailable" || f.Error.Status != 503 {
		t.Fatalf("sender: want an ws_broker_unavailable error message, got %+v", f)
	}
	if f := readFrame(t, member); f.Type != "said" {
		t.Fatalf("member: local delivery missing: %+v", f)
	}
	return took
}

func TestCloseUserLocal(t *testing.T) {
	h, url := serve(t, Options{Authenticate: func(r *http.Request) (string, error) { return r.URL.Query().Get("u"), nil }})
	a1, a2 := dial(t, url+"?u=alice", nil), dial(t, url+"?u=alice", nil)
	b := dial(t, url+"?u=bob", nil)
	eventually(t, "connections registered", func() bool { return h.Len() == 3 })
	if _, err := h.CloseUser(context.Background(), "alice", 999, ""); err == nil {
		t.Fatal("close code 999 accepted")
	}
	if _, err := h.CloseUser(context.Background(), "", 4000, ""); err == nil {
		t.Fatal("empty user accepted")
	}
	n, err := h.CloseUser(context.Background(), "alice", 4001, "logged out")
	if err != nil || n != 2 {
		t.Fatalf("CloseUser = %d, %v; want 2", n, err)
	}
	expectClose(t, a1, 4001)
	expectClose(t, a2, 4001)
	send(t, b, `{"type":"echo","data":1}`)
	if f := readFrame(t, b); f.Type != "error" && f.Type != "echo" {
		t.Fatalf("bob's connection: %+v", f)
	}
	eventually(t, "alice's connections gone", func() bool { return h.Len() == 1 })
}
