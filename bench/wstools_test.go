package bench

// wstools against plain github.com/coder/websocket, over real loopback
// sockets:
//
//   - Broadcast1000: one 128-byte message to 1,000 connected clients, timed
//     until every client has read it. Hub: Hub.BroadcastJSON to a room (one
//     encode, 1,000 queue pushes, 1,000 writer goroutines). Direct: the
//     server loops over its 1,000 *websocket.Conn and calls Write on each
//     with the same pre-encoded frame. ns/delivery = ns/op / 1,000.
//   - Echo: round trips of a ~120-byte JSON message through one connection.
//     Hub: router dispatch by "type" and Message.ReplyJSON. Plain: a
//     Read/Write loop.
//
// The 10,000-connection case is measured inside the wstools package with an
// in-process sink instead of sockets (BenchmarkBroadcastSink), since 20,000
// loopback sockets and their goroutines do not fit a 2-core machine.

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/covetgo/covet/wstools"
)

const wsClients = 1000

var wsPayload = json.RawMessage(`"` + strings.Repeat("x", 126) + `"`)

// wsFleet is a set of client connections that each read messages in the
// background and count them down.
type wsFleet struct {
	conns     []*websocket.Conn
	remaining atomic.Int64
	done      chan struct{}
	wg        sync.WaitGroup
}

func dialFleet(b *testing.B, url string, n int) *wsFleet {
	b.Helper()
	f := &wsFleet{done: make(chan struct{}, 1)}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: -1}}
	for i := 0; i < n; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: client})
		cancel()
		if err != nil {
			b.Fatalf("dial %d: %v", i, err)
		}
		f.conns = append(f.conns, c)
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			for {
				_, r, err := c.Reader(context.Background())
				if err != nil {
					return
				}
				if _, err := io.Copy(io.Discard, r); err != nil {
					return
				}
				if f.remaining.Add(-1) == 0 {
					f.done <- struct{}{}
				}
			}
		}()
	}
	return f
}

func (f *wsFleet) close() {
	for _, c := range f.conns {
		_ = c.CloseNow()
	}
	f.wg.Wait()
}

func BenchmarkWSTools_Broadcast1000_Hub(b *testing.B) {
	var hub *wstools.Hub
	hub, err := wstools.New(wstools.Options{
		MaxConnsPerIP: wstools.Unlimited,
		OnConnect:     func(c *wstools.Conn) error { return hub.Join(c, "room") },
	})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(hub)
	defer srv.Close()
	fleet := dialFleet(b, "ws"+strings.TrimPrefix(srv.URL, "http"), wsClients)
	for hub.Presence("room") < wsClients {
		time.Sleep(time.Millisecond)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		fleet.remaining.Store(wsClients)
		if err := hub.BroadcastJSON(ctx, "room", "m", wsPayload); err != nil {
			b.Fatal(err)
		}
		<-fleet.done
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/wsClients, "ns/delivery")
	b.StopTimer()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	fleet.close()
	_ = hub.Shutdown(sctx)
}

func BenchmarkWSTools_Broadcast1000_Direct(b *testing.B) {
	var mu sync.Mutex
	var conns []*websocket.Conn
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
		for {
			if _, _, err := c.Read(context.Background()); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	fleet := dialFleet(b, "ws"+strings.TrimPrefix(srv.URL, "http"), wsClients)
	for {
		mu.Lock()
		n := len(conns)
		mu.Unlock()
		if n == wsClients {
			break
		}
		time.Sleep(time.Millisecond)
	}
	frame := []byte(`{"type":"m","room":"room","seq":1,"data":` + string(wsPayload) + `}`)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		fleet.remaining.Store(wsClients)
		for _, c := range conns {
			if err := c.Write(ctx, websocket.MessageText, frame); err != nil {
				b.Fatal(err)
			}
		}
		<-fleet.done
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/wsClients, "ns/delivery")
	b.StopTimer()
	fleet.close()
}

func benchEcho(b *testing.B, h http.Handler) {
	srv := httptest.NewServer(h)
	defer srv.Close()
	ctx := context.Background()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.CloseNow()
	msg := []byte(`{"type":"echo","data":"` + strings.Repeat("x", 100) + `"}`)
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Write(ctx, websocket.MessageText, msg); err != nil {
			b.Fatal(err)
		}
		if _, _, err := c.Read(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

func BenchmarkWSTools_Echo_Hub(b *testing.B) {
	router := wstools.NewRouter()
	router.Handle("echo", func(_ context.Context, _ *wstools.Conn, m wstools.Message) error {
		return m.ReplyJSON("echo", m.Raw)
	})
	hub, err := wstools.New(wstools.Options{Router: router, MessagesPerSecond: wstools.Unlimited})
	if err != nil {
		b.Fatal(err)
	}
	benchEcho(b, hub)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = hub.Shutdown(ctx)
}

func BenchmarkWSTools_Echo_Plain(b *testing.B) {
	benchEcho(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := context.Background()
		for {
			typ, msg, err := c.Read(ctx)
			if err != nil {
				return
			}
			if err := c.Write(ctx, typ, msg); err != nil {
				return
			}
		}
	}))
}
