package wstools_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/covetgo/covet/internal/testsvc"
	"github.com/covetgo/covet/wstools"
	"github.com/covetgo/covet/wstools/brokertest"
)

func TestMemoryBrokerConformance(t *testing.T) {
	shared := wstools.NewMemoryBroker()
	brokertest.Run(t, brokertest.Server{
		NewBroker: func(*testing.T) wstools.Broker { return shared },
	})
}

func channelPrefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "covet_wstools_test:" + hex.EncodeToString(b[:]) + ":"
}

func redisBroker(t *testing.T, c redis.UniversalClient, prefix string) wstools.Broker {
	t.Helper()
	b, err := wstools.NewRedisBroker(c, wstools.RedisOptions{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// TestRedisBrokerConformance runs the broker conformance tests on a
// private Redis (which they pause, kill and restart) and on the three-master
// Redis Cluster.
func TestRedisBrokerConformance(t *testing.T) {
	t.Run("single", func(t *testing.T) {
		srv := testsvc.StartRedis(t)
		prefix := channelPrefix()
		brokertest.Run(t, brokertest.Server{
			NewBroker: func(t *testing.T) wstools.Broker {
				// go-redis's default timeouts and retries: only the
				// broker's own deadline bounds a publish.
				c := redis.NewClient(&redis.Options{Addr: srv.Addr(), ContextTimeoutEnabled: true})
				t.Cleanup(func() { _ = c.Close() })
				return redisBroker(t, c, prefix)
			},
			Kill:    func(*testing.T) { srv.Kill() },
			Restart: func(*testing.T) { srv.Restart() },
			Pause:   func(*testing.T) { srv.Pause() },
			Resume:  func(*testing.T) { srv.Resume() },
		})
	})
	t.Run("cluster", func(t *testing.T) {
		addrs := testsvc.RedisClusterAddrs(t)
		prefix := channelPrefix()
		brokertest.Run(t, brokertest.Server{
			NewBroker: func(t *testing.T) wstools.Broker {
				c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, ContextTimeoutEnabled: true})
				t.Cleanup(func() { _ = c.Close() })
				if err := c.Ping(context.Background()).Err(); err != nil {
					t.Fatal(err)
				}
				return redisBroker(t, c, prefix)
			},
		})
	})
}
