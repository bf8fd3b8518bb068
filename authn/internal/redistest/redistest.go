// Package redistest holds the Redis helpers of the tests of authn and its
// subpackages: the deployments to run against, per-test key prefixes, and
// clients of a private redis-server child.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/covetgo/covet/internal/testsvc"
	"github.com/redis/go-redis/v9"
)

// Targets returns the Redis deployments the store tests run against:
// the shared single node and the local three-master Cluster.
func Targets(t testing.TB) map[string]redis.UniversalClient {
	t.Helper()
	single := redis.NewClient(&redis.Options{Addr: testsvc.RedisAddr(t), PoolSize: 128, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = single.Close() })
	cluster := redis.NewClusterClient(&redis.ClusterOptions{Addrs: testsvc.RedisClusterAddrs(t), PoolSize: 128, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = cluster.Close() })
	return map[string]redis.UniversalClient{"redis": single, "cluster": cluster}
}

// Prefix returns a key prefix unique to this test and deletes its keys
// (on every Cluster master) when the test ends.
func Prefix(t testing.TB, rdb redis.UniversalClient) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "covet_authn_test:" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		del := func(ctx context.Context, c *redis.Client) error {
			iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
			for iter.Next(ctx) {
				_ = c.Del(ctx, iter.Val()).Err()
			}
			return nil
		}
		switch c := rdb.(type) {
		case *redis.ClusterClient:
			_ = c.ForEachMaster(ctx, del)
		case *redis.Client:
			_ = del(ctx, c)
		}
	})
	return prefix
}

// ChildClient returns a client of a private redis-server child, with the
// short timeouts an application sets.
func ChildClient(t testing.TB, child *testsvc.Child, mod func(*redis.Options)) *redis.Client {
	t.Helper()
	o := &redis.Options{Addr: child.Addr(), ContextTimeoutEnabled: true, DialTimeout: 200 * time.Millisecond}
	if mod != nil {
		mod(o)
	}
	c := redis.NewClient(o)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// StoreTimeout bounds store calls in conformance tests, which run many
// calls at once on a shared, loaded machine; the outage tests set their own
// short timeouts.
const StoreTimeout = 3 * time.Second
