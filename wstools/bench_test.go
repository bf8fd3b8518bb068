package wstools

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// fakeConn registers a connection with no socket behind it: its writer
// goroutine hands each frame to sink. It measures the hub alone (encode,
// fan-out, queueing, writer wake-up) without the kernel's cost of a write,
// which is what lets the 10,000-connection case run on a small machine.
func fakeConn(h *Hub, sink func([]byte)) *Conn {
	ctx, cancel := context.WithCancel(context.Background())
	c := &Conn{
		hub:    h,
		ctx:    ctx,
		cancel: cancel,
		id:     h.nextID.Add(1),
		q:      newSendQueue(h.s.queueBytes),
		done:   make(chan struct{}),
		write: func(_ context.Context, f []byte) error {
			sink(f)
			return nil
		},
	}
	c.deadline = time.AfterFunc(time.Hour, c.writeTimedOut)
	c.deadline.Stop()
	h.mu.Lock()
	h.conns[c] = struct{}{}
	h.mu.Unlock()
	c.wg.Add(1)
	go c.writeLoop()
	return c
}

func closeFake(c *Conn) {
	c.closeWith(websocket.StatusNormalClosure, "")
	c.wg.Wait()
	c.hub.remove(c)
	c.cancel()
}

// payload128 is a 128-byte JSON value.
var payload128 = json.RawMessage(`"` + strings.Repeat("x", 126) + `"`)

// BenchmarkBroadcastSink measures one broadcast of a 128-byte message to a
// room of n connections, until every connection's writer has handed it to
// its (in-process) sink. ns/delivery is the time per receiving connection.
func BenchmarkBroadcastSink(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			h, err := New(Options{Logger: discardLogger})
			if err != nil {
				b.Fatal(err)
			}
			var remaining atomic.Int64
			done := make(chan struct{}, 1)
			sink := func([]byte) {
				if remaining.Add(-1) == 0 {
					done <- struct{}{}
				}
			}
			conns := make([]*Conn, n)
			for i := range conns {
				conns[i] = fakeConn(h, sink)
				if err := h.Join(conns[i], "room"); err != nil {
					b.Fatal(err)
				}
			}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				remaining.Store(int64(n))
				if err := h.BroadcastJSON(ctx, "room", "m", payload128); err != nil {
					b.Fatal(err)
				}
				<-done
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/delivery")
			b.StopTimer()
			for _, c := range conns {
				closeFake(c)
			}
		})
	}
}

// BenchmarkFanOutOnly measures the broadcaster's side alone: encoding once
// and queueing to n connections (the writers are not running).
func BenchmarkFanOutOnly(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			h, err := New(Options{Logger: discardLogger})
			if err != nil {
				b.Fatal(err)
			}
			rm := &room{name: "room", index: map[*Conn]int{}}
			h.rooms["room"] = rm
			for i := 0; i < n; i++ {
				c := &Conn{hub: h, q: newSendQueue(1 << 30), done: make(chan struct{})}
				rm.index[c] = i
				rm.members = append(rm.members, c)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				h.deliverRoom("room", "m", payload128)
				b.StopTimer()
				for _, c := range rm.members {
					f := c.q.popAll(nil)
					c.q.written(len(f[0]))
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/delivery")
		})
	}
}

func BenchmarkDecodeEnvelope(b *testing.B) {
	msg := []byte(`{"type":"chat.send","id":"42","room":"lobby","text":"hello there, how is it going today?"}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, _, err := decodeEnvelope(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSendQueue(b *testing.B) {
	q := newSendQueue(1 << 20)
	frame := make([]byte, 180)
	var batch [][]byte
	b.ReportAllocs()
	for b.Loop() {
		q.push(frame, DropOldest)
		<-q.wake
		batch = q.popAll(batch[:0])
		q.written(len(frame))
	}
}

// BenchmarkEcho measures round trips of a small message through one real
// connection: client write, router dispatch, Conn.Send, client read.
func BenchmarkEcho(b *testing.B) {
	var h *Hub
	_, url := serve(b, Options{Router: joinRouter(&h), MessagesPerSecond: Unlimited})
	c := dial(b, url, nil)
	msg := []byte(`{"type":"echo","data":"` + strings.Repeat("x", 100) + `"}`)
	ctx := context.Background()
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
