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

func TestMessages(t *testing.T) {
	var h *Hub
	var url string
	h, url = serve(t, Options{Router: joinRouter(&h), MaxMalformed: 2, MessagesPerSecond: Unlimited})
	_ = url

	tests := []struct {
		name      string
		send      []string
		wantType  string // type of the last reply
		wantCode  string // error code of the last reply
		wantID    string
		wantClose websocket.StatusCode // 0: stays open
	}{
		{name: "echo", send: []string{`{"type":"echo","data":{"a":1}}`}, wantType: "echo"},
		{name: "unknown type answered", send: []string{`{"type":"nope","id":"q1"}`}, wantType: "error", wantCode: "ws_unknown_type", wantID: "q1"},
		{name: "malformed answered", send: []string{`{"type":`}, wantType: "error", wantCode: "ws_malformed_message"},
		{name: "not an object", send: []string{`["type","echo"]`}, wantType: "error", wantCode: "ws_malformed_message"},
		{name: "type not a string", send: []string{`{"type":5}`}, wantType: "error", wantCode: "ws_malformed_message"},
		{name: "missing type", send: []string{`{"data":1}`}, wantType: "error", wantCode: "ws_malformed_message"},
		{name: "duplicate type", send: []string{`{"type":"echo","type":"fail"}`}, wantType: "error", wantCode: "ws_malformed_message"},
		{name: "case-folded type key ignored", send: []string{`{"TYPE":"fail","type":"echo"}`}, wantType: "echo"},
		{name: "type with bad characters", send: []string{`{"type":"<script>"}`}, wantType: "error", wantCode: "ws_malformed_message"},
		{name: "payload of the wrong shape", send: []string{`{"type":"join","room":42,"id":"j"}`}, wantType: "error", wantCode: "ws_invalid_message", wantID: "j"},
		{name: "4xx handler error answered", send: []string{`{"type":"deny","id":"d"}`}, wantType: "error", wantCode: "ws_invalid_room", wantID: "d"},
		{name: "malformed limit closes with 1007", send: []string{`x`, `y`, `z`}, wantClose: websocket.StatusInvalidFramePayloadData},
		{name: "invalid UTF-8 closes with 1007", send: []string{"{\"type\":\"echo\",\"data\":\"\xff\"}"}, wantClose: websocket.StatusInvalidFramePayloadData},
		{name: "5xx handler error closes with 1011", send: []string{`{"type":"fail"}`}, wantClose: websocket.StatusInternalError},
		{name: "handler panic closes with 1011", send: []string{`{"type":"panic"}`}, wantClose: websocket.StatusInternalError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dial(t, url, nil)
			for _, m := range tt.send {
				send(t, c, m)
			}
			if tt.wantClose != 0 {
				expectClose(t, c, tt.wantClose)
				return
			}
			var f frame
			for range tt.send {
				f = readFrame(t, c)
			}
			if f.Type != tt.wantType {
				t.Fatalf("reply type = %q, want %q (%+v)", f.Type, tt.wantType, f)
			}
			if tt.wantCode != "" {
				if f.Error == nil || f.Error.Code != tt.wantCode {
					t.Fatalf("reply error = %+v, want code %q", f.Error, tt.wantCode)
				}
				if f.Error.Status < 400 || f.Error.Status > 499 {
					t.Fatalf("reply error status = %d, want 4xx", f.Error.Status)
				}
			}
			if f.ID != tt.wantID {
				t.Fatalf("reply id = %q, want %q", f.ID, tt.wantID)
			}
			// The connection is still usable.
			send(t, c, `{"type":"echo","data":"again"}`)
			if f := readFrame(t, c); f.Type != "echo" || string(f.Data) != `"again"` {
				t.Fatalf("after: %+v", f)
			}
		})
	}
	if h.Stats().Malformed == 0 {
		t.Fatal("Stats.Malformed not counted")
	}
}

func TestBinaryMessageRefused(t *testing.T) {
	var h *Hub
	_, url := serve(t, Options{Router: joinRouter(&h)})
	c := dial(t, url, nil)
	if err := c.Write(context.Background(), websocket.MessageBinary, []byte(`{"type":"echo"}`)); err != nil {
		t.Fatal(err)
	}
	expectClose(t, c, websocket.StatusUnsupportedData)
}

func TestOversizedMessage(t *testing.T) {
	var h *Hub
	h, url := serve(t, Options{Router: joinRouter(&h), MaxMessageBytes: 1024})
	c := dial(t, url, nil)
	// Exactly the limit is fine.
	msg := `{"type":"echo","data":"` + strings.Repeat("a", 1024-len(`{"type":"echo","data":""}`)) + `"}`
	send(t, c, msg)
	if f := readFrame(t, c); f.Type != "echo" {
		t.Fatalf("at the limit: %+v", f)
	}
	send(t, c, `{"type":"echo","data":"`+strings.Repeat("a", 4096)+`"}`)
	expectClose(t, c, websocket.StatusMessageTooBig)
	eventually(t, "TooBig counted", func() bool { return h.Stats().TooBig == 1 })
}

func TestFloodBeyondRate(t *testing.T) {
	var h *Hub
	h, url := serve(t, Options{Router: joinRouter(&h), MessagesPerSecond: 5, Burst: 5})
	c := dial(t, url, nil)
	for i := 0; i < 5; i++ {
		send(t, c, `{"type":"echo","data":1}`)
		if f := readFrame(t, c); f.Type != "echo" {
			t.Fatalf("within burst: %+v", f)
		}
	}
	// Far more than the rate refills while the test runs, even on a loaded
	// machine.
	for i := 0; i < 200; i++ {
		if err := c.Write(context.Background(), websocket.MessageText, []byte(`{"type":"echo","data":1}`)); err != nil {
			break
		}
	}
	expectClose(t, c, websocket.StatusPolicyViolation)
	eventually(t, "RateLimited counted", func() bool { return h.Stats().RateLimited == 1 })
}

// TestRateRefills sends one message per refill period with a burst of one:
// every message is allowed. In a synctest bubble the periods are exact.
func TestRateRefills(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var h *Hub
		h, dial := servePipe(t, Options{Router: joinRouter(&h), MessagesPerSecond: 50, Burst: 1})
		c, _ := dial()
		for i := 0; i < 5; i++ {
			send(t, c, `{"type":"echo","data":1}`)
			if f := readFrame(t, c); f.Type != "echo" {
				t.Fatalf("message %d: %+v", i, f)
			}
			time.Sleep(20 * time.Millisecond) // one token at 50 per second
		}
		if n := h.Stats().RateLimited; n != 0 {
			t.Fatalf("RateLimited = %d", n)
		}
	})
}

// TestHeartbeat serves the hub in a synctest bubble: the ping ticker and
// the pong timeout run on the bubble's clock.
func TestHeartbeat(t *testing.T) {
	t.Parallel()
	t.Run("healthy peer stays", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			var h *Hub
			h, dial := servePipe(t, Options{Router: joinRouter(&h), PingInterval: 30 * time.Millisecond, PongTimeout: time.Second})
			c, _ := dial()
			got := make(chan frame, 1)
			go func() {
				// Reading answers pings.
				_, b, err := c.Read(context.Background())
				if err == nil {
					got <- frame{Type: string(b)}
				}
				close(got)
			}()
			time.Sleep(10 * time.Second) // hundreds of ping intervals, ten pong timeouts
			send(t, c, `{"type":"echo","data":1}`)
			if f, ok := <-got; !ok || !strings.Contains(f.Type, `"echo"`) {
				t.Fatalf("healthy connection lost: %+v %v", f, ok)
			}
			if n := h.Stats().DeadPeers; n != 0 {
				t.Fatalf("DeadPeers = %d", n)
			}
		})
	})
	t.Run("dead peer closed", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			var h *Hub
			h, dial := servePipe(t, Options{Router: joinRouter(&h), PingInterval: 30 * time.Millisecond, PongTimeout: time.Second})
			// The peer's network stack takes every byte, as a kernel buffer
			// would, but the peer never reads a frame, so never answers a ping.
			_, raw := dial()
			go func() { _, _ = io.Copy(io.Discard, raw) }()
			synctest.Wait()
			if h.Len() != 1 {
				t.Fatalf("Len = %d, want 1", h.Len())
			}
			time.Sleep(30*time.Millisecond + time.Second) // the first ping and its pong timeout
			synctest.Wait()
			if n := h.Stats().DeadPeers; n != 1 {
				t.Fatalf("DeadPeers = %d, want 1", n)
			}
			if n := h.Len(); n != 0 {
				t.Fatalf("Len = %d after the dead peer, want 0", n)
			}
		})
	})
}

func TestOnConnect(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want websocket.StatusCode
	}{
		{name: "4xx refuses with 1008", err: ErrInvalidRoom, want: websocket.StatusPolicyViolation},
		{name: "other error closes with 1011", err: context.DeadlineExceeded, want: websocket.StatusInternalError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, url := serve(t, Options{OnConnect: func(*Conn) error { return tt.err }})
			expectClose(t, dial(t, url, nil), tt.want)
		})
	}
}

func TestClientCloseCode(t *testing.T) {
	gone := make(chan websocket.StatusCode, 1)
	_, url := serve(t, Options{OnDisconnect: func(c *Conn) { gone <- c.CloseStatus() }})
	c := dial(t, url, nil)
	if err := c.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-gone:
		if got != websocket.StatusNormalClosure {
			t.Fatalf("server saw close %v", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("OnDisconnect not called")
	}
}

// TestWriteTimeout serves the hub over a pipe in a synctest bubble: the
// client stops reading, so the hub's first write blocks, and WriteTimeout
// later (on the bubble's clock) the connection is closed with 1008.
func TestWriteTimeout(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		closed := make(chan websocket.StatusCode, 1)
		var h *Hub
		h, dial := servePipe(t, Options{
			Router:         joinRouter(&h),
			WriteTimeout:   200 * time.Millisecond,
			SendQueueBytes: 64 << 20, // the queue never overflows: only the timeout can act
			OnDisconnect:   func(c *Conn) { closed <- c.CloseStatus() },
		})
		c, _ := dial()
		join(t, c, "feed") // and read no more
		if err := h.Broadcast(context.Background(), "feed", "chunk", strings.Repeat("w", 16<<10)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(199 * time.Millisecond)
		synctest.Wait()
		if n := h.Stats().WriteFailures; n != 0 {
			t.Fatalf("WriteFailures = %d before the write timeout", n)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if n := h.Stats().WriteFailures; n != 1 {
			t.Fatalf("WriteFailures = %d at the write timeout, want 1", n)
		}
		select {
		case code := <-closed:
			if code != websocket.StatusPolicyViolation {
				t.Fatalf("closed with %v, want 1008", code)
			}
		default:
			t.Fatal("connection not closed at the write timeout")
		}
	})
}
