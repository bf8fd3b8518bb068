package wstools

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/covetgo/covet/internal/testsvc"
)

// testPrefix returns a channel prefix unique to this package and test run.
func testPrefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "covet_wstools_test:" + hex.EncodeToString(b[:]) + ":"
}

func newRedisBroker(t testing.TB, addr, prefix string) (*RedisBroker, *redis.Client) {
	t.Helper()
	client := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second, ContextTimeoutEnabled: true})
	b, err := NewRedisBroker(client, RedisOptions{Prefix: prefix, Logger: discardLogger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = b.Close()
		_ = client.Close()
	})
	return b, client
}

func redisSubscribers(client *redis.Client, prefix string) func(room string) int {
	return func(room string) int {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		n, err := client.PubSubNumSub(ctx, prefix+room).Result()
		if err != nil {
			return -1
		}
		return int(n[prefix+room])
	}
}

func TestNewRedisBrokerValidates(t *testing.T) {
	if _, err := NewRedisBroker(nil, RedisOptions{}); err == nil {
		t.Fatal("nil client accepted")
	}
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	defer client.Close()
	if _, err := NewRedisBroker(client, RedisOptions{Prefix: "app:*"}); err == nil {
		t.Fatal("glob prefix accepted")
	}
	if _, err := NewRedisBroker(client, RedisOptions{Timeout: -1}); err == nil {
		t.Fatal("negative timeout accepted")
	}
	plain := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer plain.Close()
	if _, err := NewRedisBroker(plain, RedisOptions{}); err == nil {
		t.Fatal("a client that ignores context deadlines was accepted")
	}
}

// TestCrossInstanceRedis runs two hubs, each with its own RedisBroker and
// client, on the shared Redis server.
func TestCrossInstanceRedis(t *testing.T) {
	addr := testsvc.RedisAddr(t)
	prefix := testPrefix()
	brokerA, client := newRedisBroker(t, addr, prefix)
	brokerB, _ := newRedisBroker(t, addr, prefix)
	testCrossInstance(t, brokerA, brokerB, redisSubscribers(client, prefix))
}

// TestRedisReconnect stops and restarts a private Redis server: local
// delivery goes on while it is down, and cross-instance delivery resumes
// after it returns, without resubscribing by hand.
func TestRedisReconnect(t *testing.T) {
	srv := testsvc.StartRedis(t)
	addr := srv.Addr()

	prefix := testPrefix()
	brokerA, client := newRedisBroker(t, addr, prefix)
	brokerB, _ := newRedisBroker(t, addr, prefix)
	var ha, hb *Hub
	ha, urlA := serve(t, Options{Router: joinRouter(&ha), Broker: brokerA})
	hb, urlB := serve(t, Options{Router: joinRouter(&hb), Broker: brokerB})
	a, b := dial(t, urlA, nil), dial(t, urlB, nil)
	join(t, a, "r")
	join(t, b, "r")
	subs := redisSubscribers(client, prefix)
	eventually(t, "both subscribed", func() bool { return subs("r") == 2 })
	ca, cb := collect(a), collect(b)
	ctx := context.Background()

	if err := ha.Broadcast(ctx, "r", "m", "before"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "delivery before the outage", func() bool { return cb.has(`"before"`) && ca.has(`"before"`) })

	srv.Kill()
	if err := ha.Broadcast(ctx, "r", "m", "during"); err == nil {
		t.Fatal("Broadcast reported no error with Redis down")
	}
	eventually(t, "local delivery during the outage", func() bool { return ca.has(`"during"`) })
	if ha.Stats().PublishErrors == 0 {
		t.Fatal("PublishErrors not counted")
	}

	srv.Restart()
	eventually(t, "resubscribed after the restart", func() bool { return subs("r") == 2 })
	if err := ha.Broadcast(ctx, "r", "m", "after"); err != nil {
		t.Fatal(err)
	}
	if err := hb.Broadcast(ctx, "r", "m", "after from B"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "delivery after the restart", func() bool { return cb.has(`"after"`) && ca.has(`"after from B"`) })
	if cb.has(`"during"`) {
		t.Fatal("B received a message published while Redis was down")
	}
	expectEachOnce(t, ha, hb, []*collector{ca, cb}, `"before"`, `"after"`, `"after from B"`)
}

// expectEachOnce waits until every collector has each of datas, then sends
// an end marker from each hub to room "r" and checks, once the markers are
// in, that no message came twice. A duplicate would come down the same
// path (hub, room) as its message, and each path delivers in order, so it
// would have arrived before the marker.
func expectEachOnce(t *testing.T, ha, hb *Hub, cols []*collector, datas ...string) {
	t.Helper()
	for _, c := range cols {
		for _, d := range datas {
			eventually(t, "each message", func() bool { return c.count(d) >= 1 })
		}
	}
	ctx := context.Background()
	if err := ha.Broadcast(ctx, "r", "m", "end from A"); err != nil {
		t.Fatal(err)
	}
	if err := hb.Broadcast(ctx, "r", "m", "end from B"); err != nil {
		t.Fatal(err)
	}
	for _, c := range cols {
		eventually(t, "end markers", func() bool { return c.has(`"end from A"`) && c.has(`"end from B"`) })
		for _, d := range datas {
			if n := c.count(d); n != 1 {
				t.Fatalf("%s delivered %d times", d, n)
			}
		}
	}
}

// collector reads a client connection in the background.
type collector struct {
	mu   sync.Mutex
	data []string
}

func collect(c *websocket.Conn) *collector {
	col := &collector{}
	go func() {
		for {
			_, msg, err := c.Read(context.Background())
			if err != nil {
				return
			}
			var f frame
			_ = json.Unmarshal(msg, &f)
			col.mu.Lock()
			col.data = append(col.data, string(f.Data))
			col.mu.Unlock()
		}
	}()
	return col
}

func (c *collector) count(data string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, d := range c.data {
		if d == data {
			n++
		}
	}
	return n
}

func (c *collector) has(data string) bool { return c.count(data) > 0 }
