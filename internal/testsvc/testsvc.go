// Package testsvc finds the PostgreSQL, MariaDB/MySQL and Redis servers that
// integration tests run against.
//
// Each accessor reads its environment variable (COVET_TEST_POSTGRES_DSN,
// COVET_TEST_MYSQL_DSN, COVET_TEST_REDIS_ADDR), defaulting to the standard
// local port, and checks that the server answers. When it does not, the test
// is skipped, unless COVET_REQUIRE_SERVICES=1, which turns the skip into a
// failure so CI cannot pass by skipping.
package testsvc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Default addresses of the local services.
const (
	DefaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	DefaultMySQLDSN    = "root:@tcp(127.0.0.1:3306)/test?parseTime=true&multiStatements=true"
	DefaultRedisAddr   = "127.0.0.1:6379"
)

// Required reports whether COVET_REQUIRE_SERVICES=1 is set.
func Required() bool { return os.Getenv("COVET_REQUIRE_SERVICES") == "1" }

// PostgresDSN returns the PostgreSQL DSN, or skips (fails when required) t
// when the server does not accept connections.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	dsn := env("COVET_TEST_POSTGRES_DSN", DefaultPostgresDSN)
	host := "127.0.0.1:5432"
	if u, err := url.Parse(dsn); err == nil && u.Host != "" {
		host = u.Host
		if u.Port() == "" {
			host += ":5432"
		}
	}
	reachable(t, "PostgreSQL", host)
	return dsn
}

// MySQLDSN returns the MariaDB/MySQL DSN (go-sql-driver format), or skips
// (fails when required) t when the server does not accept connections.
func MySQLDSN(t testing.TB) string {
	t.Helper()
	dsn := env("COVET_TEST_MYSQL_DSN", DefaultMySQLDSN)
	host := "127.0.0.1:3306"
	if i := strings.Index(dsn, "tcp("); i >= 0 {
		if j := strings.IndexByte(dsn[i:], ')'); j > 0 {
			host = dsn[i+4 : i+j]
		}
	}
	reachable(t, "MariaDB", host)
	return dsn
}

// RedisAddr returns the Redis address, or skips (fails when required) t when
// the server does not accept connections.
func RedisAddr(t testing.TB) string {
	t.Helper()
	addr := env("COVET_TEST_REDIS_ADDR", DefaultRedisAddr)
	reachable(t, "Redis", addr)
	return addr
}

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func reachable(t testing.TB, name, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err == nil {
		_ = c.Close()
		return
	}
	if Required() {
		t.Fatalf("%s at %s is required (COVET_REQUIRE_SERVICES=1) but unreachable: %v", name, addr, err)
	}
	t.Skipf("%s at %s unreachable, skipping: %v", name, addr, err)
}

// RedisKeyPrefix returns a key prefix unique to one test ("name:<random>:"),
// so tests of several packages can share the server, and deletes every key
// under it through c when the test ends (before c is closed by a cleanup
// registered earlier).
func RedisKeyPrefix(t testing.TB, c *redis.Client, name string) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := name + ":" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			_ = c.Del(ctx, iter.Val()).Err()
		}
	})
	return prefix
}

// Default addresses of the local Redis Cluster (three masters, started by
// .ci/run) and of NATS.
const (
	DefaultRedisClusterAddrs = "127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003"
	DefaultNATSURL           = "nats://127.0.0.1:4222"
)

// RedisClusterAddrs returns the seed nodes of the test Redis Cluster from
// COVET_TEST_REDIS_CLUSTER_ADDRS (comma-separated), or skips (fails when
// required) t when the first node does not accept connections.
func RedisClusterAddrs(t testing.TB) []string {
	t.Helper()
	addrs := strings.Split(env("COVET_TEST_REDIS_CLUSTER_ADDRS", DefaultRedisClusterAddrs), ",")
	for i := range addrs {
		addrs[i] = strings.TrimSpace(addrs[i])
	}
	reachable(t, "Redis Cluster", addrs[0])
	return addrs
}

// NATSURL returns the NATS server URL from COVET_TEST_NATS_URL, or skips
// (fails when required) t when the server does not accept connections.
func NATSURL(t testing.TB) string {
	t.Helper()
	u := env("COVET_TEST_NATS_URL", DefaultNATSURL)
	host := "127.0.0.1:4222"
	if p, err := url.Parse(u); err == nil && p.Host != "" {
		host = p.Host
	}
	reachable(t, "NATS", host)
	return u
}
