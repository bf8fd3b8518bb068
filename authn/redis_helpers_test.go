package authn

import (
	"testing"

	"github.com/covetgo/covet/authn/internal/redistest"
	"github.com/covetgo/covet/internal/testsvc"
	"github.com/redis/go-redis/v9"
)

func redisTargets(t testing.TB) map[string]redis.UniversalClient { return redistest.Targets(t) }

func testPrefix(t testing.TB, rdb redis.UniversalClient) string { return redistest.Prefix(t, rdb) }

func childClient(t testing.TB, child *testsvc.Child, mod func(*redis.Options)) *redis.Client {
	return redistest.ChildClient(t, child, mod)
}

const testStoreTimeout = redistest.StoreTimeout
